import type { ActionContext, OutboxAction } from '../../src/enforcement/outbox/action-handler.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import type { PlannedAction } from '../../src/enforcement/planned-action.js';

/** An outbox row as the executor would hand it to an adapter. */
export function outboxActionOf<P>(
  kind: string,
  idempotencyKey: string,
  payload: P,
  attempt = 1,
): OutboxAction<P> {
  return {
    id: 1,
    kind,
    idempotencyKey,
    payload,
    caseId: null,
    attempt,
    maxAttempts: 8,
    createdAt: new Date('2026-03-02T09:00:00Z'),
  };
}

export function fromPlanned(action: PlannedAction): OutboxAction<PlannedAction['payload']> {
  return outboxActionOf(action.kind, action.idempotencyKey, action.payload);
}

export function contextOf(
  key: string,
  clock = new ManualClock('2026-03-02T09:00:00Z'),
  signal?: AbortSignal,
): ActionContext {
  return {
    idempotencyKey: key,
    attempt: 1,
    clock,
    signal: signal ?? new AbortController().signal,
    workerId: 'test-worker',
  };
}
