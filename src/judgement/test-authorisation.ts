import type { IntakeEvent } from '../intake/event.js';
import type { PolicyDocument } from '../policy/policy-schema.js';

/**
 * Prior written consent for vulnerability tests (Secure Packet §5), as judgement sees it: a scan or attack
 * event from a service against targets the provider authorised in writing, inside the authorised window,
 * is authorised and opens no case. The consent records and their store live in compliance/ (level 8); the
 * desk's composition root hands the pipeline and the simulator a snapshot through this interface, so
 * judgement and enforcement never import compliance.
 */

/** The consent that authorised an event (what the event's row and the audit entry cite). */
export interface AuthorisingConsent {
  /** Store id; null for a consent read from a file (`aupdesk simulate --consents`). */
  readonly id: number | null;
  /** The written consent: a ticket, a letter, a signed statement of work. */
  readonly reference: string;
  readonly validFrom: Date;
  readonly validTo: Date;
}

/** A snapshot of the recorded consents, asked per event. */
export interface TestAuthorisations {
  /** The consent under which `service` (its ref) may test `target` (an address) at `at`, else undefined. */
  authorising(service: string, target: string, at: Date): AuthorisingConsent | undefined;
}

/**
 * The event classes a test consent covers when the policy does not list its own (obligation `covers`):
 * the scan and attack classes a penetration test produces.
 */
export const DEFAULT_TEST_EVENT_CLASSES: readonly string[] = [
  'information-gathering/scanner',
  'information-gathering/sniffing',
  'intrusion-attempts/ids-alert',
  'intrusion-attempts/brute-force',
  'intrusion-attempts/exploit',
  'availability/ddos',
  'availability/dos',
];

/** The event classes the policy's vulnerability-test obligation lets a written consent authorise. */
export function testEventClasses(policy: PolicyDocument): readonly string[] {
  const obligation = policy.obligations.find((o) => o.kind === 'vulnerability-test-authorisation');
  return obligation?.covers && obligation.covers.length > 0 ? obligation.covers : DEFAULT_TEST_EVENT_CLASSES;
}

/**
 * The consent authorising this event, if any: the event is of a class a test produces, it names its target
 * (`destination.ip`), and a consent for this service covers that target at the event's time. An event
 * without a target cannot be shown to stay inside the consent and is judged as usual.
 */
export function authorisationFor(
  authorisations: TestAuthorisations | undefined,
  policy: PolicyDocument,
  input: { readonly event: IntakeEvent; readonly service: string; readonly at: Date },
): AuthorisingConsent | undefined {
  if (!authorisations || !mayBeAuthorised(policy, input.event)) return undefined;
  return authorisations.authorising(input.service, input.event['destination.ip']!, input.at);
}

/** Whether a consent could authorise the event at all (a class a test produces, with a target). */
export function mayBeAuthorised(policy: PolicyDocument, event: IntakeEvent): boolean {
  const eventClass = `${event['classification.taxonomy']}/${event['classification.type']}`;
  return testEventClasses(policy).includes(eventClass) && Boolean(event['destination.ip']);
}
