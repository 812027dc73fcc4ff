import { isAupError } from '../errors.js';
import type { IntakeEvent } from '../intake/event.js';
import type { Channel } from '../intake/report.js';
import type { RegistrySnapshot } from '../registry/registry-snapshot.js';
import { type Attribution, attribute, attributeNetwork } from './attribute.js';

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
 * Events of the provider's own flow detectors (channel `detection`) that carry `extra.accountable_ip` are
 * attributed by that address alone (a spoofed source may be a neighbour's address).
 *
 * An event about a whole network (`source.network`, no `source.ip`: a blocklist naming a range) is about
 * every service holding part of it: `attributeNetworkEvent` gives one attribution per service, and the
 * pipeline judges the event once for each.
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

export type AttributedBy =
  | 'source.ip'
  | 'source.network'
  | 'source.fqdn'
  | 'source.url'
  | 'extra.spamvertised_host'
  | 'extra.accountable_ip';

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
  channel?: Channel,
): EventAttribution {
  const at = event['time.source'] ? new Date(event['time.source']) : receivedAt;
  const spam = event['classification.type'] === 'spam';
  const promoted = spam && event['classification.identifier']?.toLowerCase() === 'spamvertised';
  const spamvertisedHost = event.extra?.spamvertised_host;
  const candidates: { by: AttributedBy; query: Parameters<typeof attribute>[1]; promotes: boolean }[] = [];
  // The provider's own flow detectors name the accountable service's address when the source address is
  // not the customer's (a spoofed source: the address may be a neighbour's, who must not get the case).
  // Only trusted on the detection channel, which no outside reporter can use.
  const accountable = event.extra?.accountable_ip;
  if (channel === 'detection' && typeof accountable === 'string' && accountable !== '')
    candidates.push({ by: 'extra.accountable_ip', query: { ip: accountable, at }, promotes: false });
  else if (event['source.ip'])
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
  if (candidates.length === 0 && event['source.network']) {
    const held = attributeNetworkEvent(snapshot, event, receivedAt);
    if (held[0]) return held[0];
    return {
      attribution: {
        ours: false,
        reason: 'unassigned',
        detail: `no service held any part of ${event['source.network']} at ${at.toISOString()}`,
      },
      by: 'source.network',
      via: 'source',
      at,
    };
  }
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
 * A network event (`source.network` and no `source.ip`): one attribution per service that held any part of
 * the network at the event's time. Empty for other events, or when nobody held any of it (or the network
 * is malformed).
 */
export function attributeNetworkEvent(
  snapshot: RegistrySnapshot,
  event: IntakeEvent,
  receivedAt: Date,
): EventAttribution[] {
  const network = event['source.network'];
  if (!network || event['source.ip']) return [];
  const at = event['time.source'] ? new Date(event['time.source']) : receivedAt;
  try {
    return attributeNetwork(snapshot, { network, at }).map((attribution) => ({
      attribution,
      by: 'source.network' as const,
      via: 'source' as const,
      at,
    }));
  } catch (error) {
    if (isAupError(error) && error.code === 'AUP_ERR_ATTRIBUTION_BAD_QUERY') return [];
    throw error;
  }
}

/**
 * What a case about the event names as its subjects (the addresses a block rung filters, the URLs a notice
 * lists). An event reached through the promoted site is about the site: its sender's address belongs to
 * someone else's network and must never be blocked or put to the customer as theirs.
 */
export function caseSubjectsOf(
  event: IntakeEvent,
  via: EventVia,
  attribution?: Attribution,
): { readonly addresses: string[]; readonly urls: string[] } {
  const network = event['source.network'];
  // A network event names, for each service, the part of the network it holds (or the network, when the
  // service's assignment contains it): never a range of other customers' addresses.
  const networkSubject =
    network && attribution?.ours ? narrowerPrefix(network, attribution.assignment.resource) : network;
  const addresses =
    via !== 'source'
      ? []
      : event['source.ip']
        ? [event['source.ip']]
        : networkSubject
          ? [networkSubject]
          : [];
  const urls = event['source.url'] ? [event['source.url']] : [];
  return { addresses, urls };
}

function narrowerPrefix(a: string, b: string): string {
  const length = (p: string) => Number(p.split('/')[1] ?? (p.includes(':') ? 128 : 32));
  return length(b) > length(a) ? b : a;
}
