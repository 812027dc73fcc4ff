import { type Attribution, attribute } from '../../attribution/attribute.js';
import { isAupError } from '../../errors.js';
import type { IntakeEvent } from '../../intake/event.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';

/**
 * Which events the machine must not decide, as pure functions the pipeline asks before it judges
 * (process-report.ts). The intake side marks what it could not tell (the contract with the parsers):
 *
 * - `extra.request_kind = 'legal-request'`: a subpoena, court order or police request is not abuse to
 *   enforce; it goes to a person (and the legal workflow), never to a case;
 * - `extra.triage_reason = 'role-unknown'`: the parser could not tell the source of the abuse from its
 *   target (a pasted line without SRC=/DST= structure); acting on it could punish the victim;
 * - `classification.confidence` below the threshold (default 0.6) or `extra.triage_reason =
 *   'low-confidence'`: free text whose class is a guess; the guess is shown, a person decides.
 *
 * And after attribution: an event whose source is not ours but whose *target* (`destination.*`) is our
 * customer is a victim notice — the customer is attacked, not attacking — and is never a violation.
 */

export const DEFAULT_CONFIDENCE_THRESHOLD = 0.6;
/** How far past its report's receipt an event's own time may lie before it is not believed. */
export const DEFAULT_FUTURE_TOLERANCE_MS = 10 * 60_000;

export type TriageVerdict = Extract<EventVerdict, 'legal-request' | 'role-unknown' | 'low-confidence'>;

export interface TriageRouteOptions {
  /** Events classified with less confidence than this go to triage (0..1). */
  readonly confidenceThreshold?: number | undefined;
}

/** The verdict and reason that send an event to triage before judgement, or null to judge it. */
export function triageRouteOf(
  event: IntakeEvent,
  options: TriageRouteOptions = {},
): { verdict: TriageVerdict; reason: string } | null {
  const extra = event.extra ?? {};
  if (extra.request_kind === 'legal-request') {
    return {
      verdict: 'legal-request',
      reason: 'a legal request (subpoena, court order, police): for a person',
    };
  }
  if (extra.triage_reason === 'role-unknown') {
    return {
      verdict: 'role-unknown',
      reason: 'the evidence does not say whether the address is the source or the target of the abuse',
    };
  }
  const threshold = options.confidenceThreshold ?? DEFAULT_CONFIDENCE_THRESHOLD;
  const confidence = event['classification.confidence'];
  if ((confidence !== undefined && confidence < threshold) || extra.triage_reason === 'low-confidence') {
    return {
      verdict: 'low-confidence',
      reason: `classified as ${classOf(event)} with confidence ${confidence ?? 'low'} (below ${threshold}): best guess only`,
    };
  }
  return null;
}

export function classOf(event: IntakeEvent): string {
  return `${event['classification.taxonomy']}/${event['classification.type']}`;
}

/**
 * An event dated after its report was received by more than the tolerance cannot be right (a wrong time
 * zone, a forged header): it is judged at the receipt time instead, and the event carries the flag and its
 * original time (`extra.future_dated`). Returns the event unchanged when its time is believable.
 */
export function withBelievableTime(
  event: IntakeEvent,
  receivedAt: Date,
  toleranceMs: number = DEFAULT_FUTURE_TOLERANCE_MS,
): { event: IntakeEvent; futureDated: boolean } {
  const source = event['time.source'];
  if (!source || Date.parse(source) <= receivedAt.getTime() + toleranceMs)
    return { event, futureDated: false };
  return {
    event: {
      ...event,
      'time.source': receivedAt.toISOString(),
      extra: { ...(event.extra ?? {}), future_dated: source, judged_at: 'receipt' },
    },
    futureDated: true,
  };
}

/**
 * The customer named as the event's target (`destination.ip`, then `destination.fqdn`), when the target
 * is ours at the event's time: the affected service of a victim notice. Undefined otherwise.
 */
export function attributeDestination(
  snapshot: RegistrySnapshot,
  event: IntakeEvent,
  at: Date,
): Extract<Attribution, { ours: true }> | undefined {
  const queries: Parameters<typeof attribute>[1][] = [];
  if (event['destination.ip']) queries.push({ ip: event['destination.ip'], at });
  if (event['destination.fqdn']) queries.push({ domain: event['destination.fqdn'], at });
  for (const query of queries) {
    try {
      const answer = attribute(snapshot, query);
      if (answer.ours) return answer;
    } catch (error) {
      if (!isAupError(error, 'AUP_ERR_ATTRIBUTION_BAD_QUERY')) throw error;
    }
  }
  return undefined;
}
