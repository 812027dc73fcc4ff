import type { z } from 'zod';
import type { Clock } from './clock.js';

/**
 * The contract between the outbox executor and the adapters that act on the world (mail notices,
 * provisioning hooks, block lists, fees). An adapter implements `ActionHandler` for one `kind`; the
 * executor claims a due outbox row of that kind, calls `perform`, and records the outcome.
 *
 * Delivery is AT LEAST ONCE: `perform` may run again for the same row when a worker crashed (or lost its
 * lease) after the effect happened but before the outcome was recorded. A handler therefore MUST make the
 * effect idempotent at the far end, keyed by `action.idempotencyKey`, which is stable for the life of the
 * row: the mail adapter uses it as the Message-ID (and the relay/recipient threads duplicates as one), the
 * provisioning webhook sends it as the `Idempotency-Key` header (and the receiver answers a repeat with
 * the first result), a block-list or fee adapter upserts by it. At-least-once delivery plus idempotent
 * receivers is what makes an action take effect exactly once.
 *
 * Failures: throw an `AupError` with code `AUP_ERR_ACTION_REJECTED` when retrying cannot help (the far end
 * refused the request as invalid, the payload is malformed): the row goes `dead` at once. Anything else
 * thrown (`AUP_ERR_ACTION_FAILED`, network errors, timeouts) is retried with exponential backoff until
 * the row's `maxAttempts` is used up, then the row goes `dead`.
 */
export interface ActionHandler<P = unknown> {
  /** The outbox kind this handler performs, e.g. `mail.notice`, `provision.suspend`. */
  readonly kind: string;
  /**
   * Checked by the executor before `perform`; a payload that fails it makes the row `dead` (no retry:
   * the bytes will not change). Strongly recommended: the row is data read back from the database.
   */
  readonly payloadSchema?: z.ZodType<P>;
  /**
   * Do the thing. Resolve with a JSON-serialisable result (recorded on the row and in the audit entry:
   * say what the far end answered, e.g. the SMTP queue id or the webhook's response), reject to fail.
   * Honour `ctx.signal`: it aborts when the executor's lease on the row is about to run out or the
   * executor stops, after which another worker may perform the action again.
   */
  perform(action: OutboxAction<P>, ctx: ActionContext): Promise<JsonValue>;
  /**
   * Optional: told the round's claimed actions of this kind before any is performed, so it can do for all
   * of them at once what `perform` would do one by one (the acknowledgement's rate limit: one transaction
   * for the round instead of one each). The payloads are as stored, not yet checked. A failure is logged
   * and the round goes on: `perform` must still work without it.
   */
  prepare?(actions: readonly OutboxAction[], ctx: PrepareContext): Promise<void>;
}

/** What `prepare` is told beside the actions. */
export interface PrepareContext {
  readonly clock: Clock;
  readonly workerId: string;
}

/** One outbox row as a handler sees it. */
export interface OutboxAction<P = unknown> {
  readonly id: number;
  readonly kind: string;
  /** Stable for the row's life: the key the far end dedupes by. */
  readonly idempotencyKey: string;
  readonly payload: P;
  /** The case the action was taken for, if any. */
  readonly caseId: number | null;
  /** 1 on the first attempt; counts every claim, including ones a crashed worker never finished. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly createdAt: Date;
}

export interface ActionContext {
  readonly idempotencyKey: string;
  readonly attempt: number;
  readonly clock: Clock;
  /** Aborted when the lease is about to expire or the executor is stopping. */
  readonly signal: AbortSignal;
  /** Identifies the executor process (for logs and for the far end's records). */
  readonly workerId: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Builds a handler whose payload type is inferred from its schema:
 * `defineActionHandler({ kind: 'fee.record', payloadSchema: feeSchema, perform: async (a) => ... })`.
 */
export function defineActionHandler<P>(handler: {
  kind: string;
  payloadSchema: z.ZodType<P>;
  perform(action: OutboxAction<P>, ctx: ActionContext): Promise<JsonValue>;
}): ActionHandler<P> {
  return handler;
}
