import type { CaseStatus } from './case-state.js';

/**
 * Correlation: which case an attributed, judged event belongs to. Pure (no store, no clock), so the case
 * store and `aupdesk simulate` decide the same way.
 *
 * Rules:
 *  - **Duplicate**: the same event of the same evidence (equal fingerprints) is recognised and not counted
 *    again, wherever it landed before.
 *  - **Join**: events of one service under one clause join the open case of that service and clause whose
 *    window covers the event: from `window` before the case's first event to `window` after its latest one
 *    (the window slides with each event, so an ongoing violation stays one case and the ladder escalates
 *    it, instead of starting over with a fresh notice every two weeks).
 *  - **Open**: otherwise a new case. A case that is closed (cured, reinstated, dismissed, terminated) or was
 *    merged into another is never joined: a new violation after a cure is a new case, a repeat offence.
 *  Among several candidates the most recently active case wins (ties: the older case).
 */

/** Statuses in which a case no longer takes new events. */
export const closedStatuses: ReadonlySet<CaseStatus> = new Set([
  'cured',
  'reinstated',
  'dismissed',
  'terminated',
]);

export interface CorrelationCandidate {
  readonly id: number;
  readonly serviceId: number;
  readonly clauseId: string;
  readonly status: CaseStatus;
  readonly firstEventAt: Date;
  readonly lastEventAt: Date;
  readonly mergedInto: number | null;
}

export interface CorrelationInput {
  readonly serviceId: number;
  readonly clauseId: string;
  readonly eventTime: Date;
  readonly fingerprint: string;
}

export interface CorrelationContext {
  /** Cases of this service (any clause, any status): the function filters. */
  readonly cases: readonly CorrelationCandidate[];
  /** Fingerprints already recorded, with the case each went to (null: recorded without a case). */
  readonly known: ReadonlyMap<string, number | null>;
  /** The policy's `case_window` in milliseconds. */
  readonly windowMs: number;
}

export type Correlation =
  | { readonly kind: 'duplicate'; readonly caseId: number | null }
  | { readonly kind: 'join'; readonly caseId: number }
  | { readonly kind: 'open' };

export function correlateEvent(input: CorrelationInput, context: CorrelationContext): Correlation {
  if (context.known.has(input.fingerprint)) {
    return { kind: 'duplicate', caseId: context.known.get(input.fingerprint) ?? null };
  }
  const t = input.eventTime.getTime();
  const candidates = context.cases.filter(
    (c) =>
      c.serviceId === input.serviceId &&
      c.clauseId === input.clauseId &&
      c.mergedInto === null &&
      !closedStatuses.has(c.status) &&
      t >= c.firstEventAt.getTime() - context.windowMs &&
      t <= c.lastEventAt.getTime() + context.windowMs,
  );
  if (candidates.length === 0) return { kind: 'open' };
  const best = [...candidates].sort(
    (a, b) => b.lastEventAt.getTime() - a.lastEventAt.getTime() || a.id - b.id,
  )[0]!;
  return { kind: 'join', caseId: best.id };
}

/** The window end recorded on a case row: the latest event plus the policy's window. */
export function windowEndsAt(lastEventAt: Date, windowMs: number): Date {
  return new Date(lastEventAt.getTime() + windowMs);
}
