import { isAupError } from '../errors.js';
import type { IntakeEvent } from '../intake/event.js';
import type { RegistrySnapshot } from '../registry/registry-snapshot.js';
import { type Attribution, attribute } from './attribute.js';

/**
 * One event → the customer it is about, at the event's time, and *how* it is about them. Most events are
 * about their source (the address that sent the spam, ran the scan, served the file). Spam is the exception
 * that AUPs name: a mail sent through someone else's network that advertises a site hosted here
 * ("spamvertising") is about the site's customer, and only clauses that extend to third-party networks
 * (`includes_third_party_networks`) judge it. So the event's fields are tried in order:
 *
 *   1. `source.ip`: the sender; for SpamCop's `spamvertised` events, the address the site resolved to;
 *   2. `source.fqdn`: the host name (for those events, the site's host);
 *   3. `source.url`: the URL's host — for spam, the promoted site;
 *   4. `extra.spamvertised_host`: the site an ARF report names beside a sender that is not ours.
 *
 * The first field that attributes to a customer wins. A spam event reached through the site (3, 4, or any
 * field of an event whose identifier is `spamvertised`) is `via: promoted-url`. When no field is ours, the
 * answer of the first field tried explains why (not ours, not held at that time).
 */

/**
 * How an event reaches the customer it is attributed to: through its own `source` (the usual case), or as
 * the `promoted-url` of spam sent from elsewhere (only clauses with `includes_third_party_networks` judge
 * that).
 */
export type EventVia = 'source' | 'promoted-url';

export type AttributedBy = 'source.ip' | 'source.fqdn' | 'source.url' | 'extra.spamvertised_host';

export interface EventAttribution {
  readonly attribution: Attribution;
  /** The field that attributed the event (the first one tried when none did); null if it names none. */
  readonly by: AttributedBy | null;
  readonly via: EventVia;
  /** The instant attributed: the event's source time, else when the report was received. */
  readonly at: Date;
}

export function attributeEvent(
  snapshot: RegistrySnapshot,
  event: IntakeEvent,
  receivedAt: Date,
): EventAttribution {
  const at = event['time.source'] ? new Date(event['time.source']) : receivedAt;
  const spam = event['classification.type'] === 'spam';
  const promoted = spam && event['classification.identifier']?.toLowerCase() === 'spamvertised';
  const spamvertisedHost = event.extra?.spamvertised_host;
  const candidates: { by: AttributedBy; query: Parameters<typeof attribute>[1]; promotes: boolean }[] = [];
  if (event['source.ip'])
    candidates.push({ by: 'source.ip', query: { ip: event['source.ip'], at }, promotes: promoted });
  if (event['source.fqdn'])
    candidates.push({ by: 'source.fqdn', query: { domain: event['source.fqdn'], at }, promotes: promoted });
  if (event['source.url'])
    candidates.push({ by: 'source.url', query: { url: event['source.url'], at }, promotes: spam });
  if (spam && typeof spamvertisedHost === 'string' && spamvertisedHost !== '')
    candidates.push({
      by: 'extra.spamvertised_host',
      query: { domain: spamvertisedHost, at },
      promotes: true,
    });

  let first: EventAttribution | undefined;
  for (const candidate of candidates) {
    let attribution: Attribution;
    try {
      attribution = attribute(snapshot, candidate.query);
    } catch (error) {
      // A malformed field (a URL without a host) is one field less to try, not a failed event.
      if (isAupError(error) && error.code === 'AUP_ERR_ATTRIBUTION_BAD_QUERY') continue;
      throw error;
    }
    const answer: EventAttribution = {
      attribution,
      by: candidate.by,
      via: candidate.promotes ? 'promoted-url' : 'source',
      at,
    };
    if (attribution.ours) return answer;
    first ??= answer;
  }
  return (
    first ?? {
      attribution: {
        ours: false,
        reason: 'unassigned',
        detail: 'the event names no address, host or URL we can look up',
      },
      by: null,
      via: 'source',
      at,
    }
  );
}

/**
 * What a case about the event names as its subjects (the addresses a block rung filters, the URLs a notice
 * lists). An event reached through the promoted site is about the site: its sender's address belongs to
 * someone else's network and must never be blocked or put to the customer as theirs.
 */
export function caseSubjectsOf(
  event: IntakeEvent,
  via: EventVia,
): { readonly addresses: string[]; readonly urls: string[] } {
  const addresses = via === 'source' && event['source.ip'] ? [event['source.ip']] : [];
  const urls = event['source.url'] ? [event['source.url']] : [];
  return { addresses, urls };
}
