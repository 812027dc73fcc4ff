import type { EventVia } from '../attribution/attribute-event.js';
import type { IntakeEvent } from '../intake/event.js';
import type { Channel, Reporter } from '../intake/report.js';
import { type Clause, durationMs, type PolicyDocument, type Severity } from '../policy/policy-schema.js';
import type { EventClass } from '../taxonomy/taxonomy.js';

/**
 * Judgement: one attributed event against the policy version that binds its customer at the event's time.
 * Pure: the caller picks the binding version (policy/policy-binding.ts) and supplies the clock.
 *
 * The order of the checks is the order an abuse analyst applies them: is the complaint admissible at all
 * (anonymous reporters, where the policy refuses them), is it recent enough to act on, and then which
 * clauses the observed behaviour falls under.
 */
export interface JudgementInput {
  readonly event: IntakeEvent;
  readonly reporter: Reporter;
  readonly channel: Channel;
  /** When the desk received the report: the event time when the source gave none. */
  readonly receivedAt: Date;
  /** The service the event was attributed to (its kind scopes some clauses). */
  readonly serviceKind: string;
  /** The policy version binding the customer at the event's time. */
  readonly policy: PolicyDocument;
  readonly now: Date;
  /**
   * How the event reached this customer (attribution/attribute-event.ts): `source`, the customer's own address
   * or name did it; `promoted-url`, the event happened elsewhere (spam sent through a third party's network)
   * and only the site it promotes is hosted here. A promoted-url event falls only under clauses with
   * `includes_third_party_networks`. Default `source`.
   */
  readonly via?: EventVia;
}

export type Judgement =
  | {
      readonly verdict: 'violation';
      /** Every clause the event falls under, most severe first. */
      readonly clauses: readonly Clause[];
      /** The clause the case is opened under. */
      readonly primary: Clause;
      readonly severity: Severity;
      /** Immediate-suspension terms apply (a matched clause endangers the infrastructure). */
      readonly endangering: boolean;
      readonly eventClass: EventClass;
      readonly eventTime: Date;
      readonly policyVersion: string;
      readonly via: EventVia;
    }
  | { readonly verdict: 'no-clause'; readonly eventClass: EventClass; readonly reason: string }
  | {
      readonly verdict: 'rejected-anonymous';
      readonly reason: string;
      /** The reporter left an address we can tell why. */
      readonly tellReporter: boolean;
    }
  | { readonly verdict: 'too-old'; readonly eventTime: Date; readonly reason: string };

const severityRank: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function eventClassOf(event: IntakeEvent): EventClass {
  return `${event['classification.taxonomy']}/${event['classification.type']}` as EventClass;
}

export function judgeEvent(input: JudgementInput): Judgement {
  const { event, reporter, policy } = input;
  const complaints = policy.terms.complaints;

  // The provider's own detections are never anonymous: the provider is the reporter.
  if (complaints.anonymous === 'reject' && input.channel !== 'detection' && reporter.anonymous) {
    return {
      verdict: 'rejected-anonymous',
      reason: `${policy.provider.name} does not act on anonymous complaints (AUP ${policy.version})`,
      tellReporter: Boolean(reporter.email),
    };
  }

  const eventTime = event['time.source'] ? new Date(event['time.source']) : input.receivedAt;
  const maxAge = durationMs(policy.terms.enforcement.max_event_age);
  if (input.now.getTime() - eventTime.getTime() > maxAge) {
    return {
      verdict: 'too-old',
      eventTime,
      reason: `the event (${eventTime.toISOString()}) is older than ${policy.terms.enforcement.max_event_age}, the most the policy acts on`,
    };
  }

  const eventClass = eventClassOf(event);
  const via = input.via ?? 'source';
  const identifier = canonicalIdentifier(event['classification.identifier']);
  const covering = policy.clauses.filter(
    (clause) => clause.executable && (clause.covers as readonly string[]).includes(eventClass),
  );
  const matched = covering
    .map((clause, order) => ({ clause, order }))
    .filter(
      ({ clause }) =>
        identifierMatches(clause, identifier) &&
        (via === 'source' || clause.includes_third_party_networks) &&
        (clause.service_kinds === undefined ||
          (clause.service_kinds as readonly string[]).includes(input.serviceKind)),
    )
    .sort((a, b) => severityRank[b.clause.severity] - severityRank[a.clause.severity] || a.order - b.order)
    .map(({ clause }) => clause);

  const primary = matched[0];
  if (!primary) {
    return {
      verdict: 'no-clause',
      eventClass,
      reason: noClauseReason(input, eventClass, covering, identifier, via),
    };
  }
  return {
    verdict: 'violation',
    clauses: matched,
    primary,
    severity: primary.severity,
    endangering: matched.some((c) => c.endangers_infrastructure),
    eventClass,
    eventTime,
    policyVersion: policy.version,
    via,
  };
}

/**
 * Feeds name the same finding differently (Shadowserver `openresolver`, IntelMQ `dns-open-resolver`, X-ARF
 * `open-resolver`); a clause lists one spelling, so both sides are compared by family. Unknown identifiers
 * compare as themselves, lower-cased.
 */
const identifierFamilies: Readonly<Record<string, string>> = {
  openresolver: 'dns-open-resolver',
  'open-resolver': 'dns-open-resolver',
  'dns-open-resolver': 'dns-open-resolver',
  'open-dns': 'dns-open-resolver',
  'open-dns-resolver': 'dns-open-resolver',
  'dns-openresolver': 'dns-open-resolver',
  'open-proxy': 'open-http-proxy',
  'open-http-proxy': 'open-http-proxy',
  'http-proxy': 'open-http-proxy',
  'open-socks': 'open-socks',
  'open-socks-proxy': 'open-socks',
  'socks-proxy': 'open-socks',
  'open-mail-relay': 'open-mail-relay',
  'open-relay': 'open-mail-relay',
  openrelay: 'open-mail-relay',
  'smtp-open-relay': 'open-mail-relay',
  'open-smtp-relay': 'open-mail-relay',
};

export function canonicalIdentifier(identifier: string | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  const lower = identifier.trim().toLowerCase().replace(/_/g, '-');
  return identifierFamilies[lower] ?? lower;
}

function identifierMatches(clause: Clause, identifier: string | undefined): boolean {
  if (clause.identifiers === undefined) return true;
  if (identifier === undefined) return false;
  return clause.identifiers.some((id) => canonicalIdentifier(id) === identifier);
}

function noClauseReason(
  input: JudgementInput,
  eventClass: EventClass,
  covering: readonly Clause[],
  identifier: string | undefined,
  via: EventVia,
): string {
  const { policy } = input;
  const base = `no executable clause of ${policy.provider.id} ${policy.version} covers ${eventClass}`;
  if (covering.length === 0) return base;
  const byIdentifier = covering.filter((c) => identifierMatches(c, identifier));
  if (byIdentifier.length === 0) {
    const listed = [...new Set(covering.flatMap((c) => c.identifiers ?? []))].join(', ');
    return `${base} with identifier ${identifier ?? '(none)'} (the clauses for ${eventClass} name ${listed})`;
  }
  const byNetwork =
    via === 'source' ? byIdentifier : byIdentifier.filter((c) => c.includes_third_party_networks);
  if (byNetwork.length === 0) {
    return `${base} sent through a third party's network: the site it promotes is hosted here, but no clause extends to third-party networks`;
  }
  return `${base} for a ${input.serviceKind} service`;
}
