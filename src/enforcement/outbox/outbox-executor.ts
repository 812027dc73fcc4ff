import type { Kysely } from 'kysely';
import { type AuditEntryInput, appendAudit, appendAuditEntries } from '../../audit/audit-log.js';
import { AupError, isAupError } from '../../errors.js';
import { newWorkerId } from '../../process-identity.js';
import type { Database } from '../../store/schema.js';
import type { ActionContext, ActionHandler, OutboxAction } from './action-handler.js';
import { type Clock, systemClock } from './clock.js';
import {
  actionSubject,
  type ClaimFence,
  claimDueActions,
  expireExhaustedLeases,
  markActionFailed,
  markActionsDone,
  type OutboxRecord,
} from './outbox-repository.js';

/**
 * Works off the outbox: claims due rows of the kinds it has handlers for, performs each, and records the
 * outcome — the row's new status and its audit entry in one transaction.
 *
 * The guarantee, precisely:
 *  - An action row exists if and only if the state change that decided it committed (enqueueAction runs in
 *    that transaction). Nothing is lost: a row stays claimable until it is recorded `done` or `dead`.
 *  - A row is marked `done` only after its handler returned. If the worker dies between the effect and the
 *    record, its lease (`claimed_until`) runs out and another worker (or the restarted one) performs the
 *    action again, with the same idempotency key. Delivery is therefore at least once; handlers make the
 *    effect idempotent at the far end by that key (Message-ID, `Idempotency-Key`, upsert), so the effect
 *    happens once.
 *  - A worker that outlives its lease cannot overwrite a newer claim: its record is fenced by
 *    (worker id, attempt number) and is dropped if the row was reclaimed.
 *  - Failures are retried with exponential backoff (base · 2^(attempt-1), capped, with downward jitter)
 *    until `max_attempts` claims are used up; then the row is `dead`. An `AUP_ERR_ACTION_REJECTED` (or
 *    `AUP_ERR_INPUT_INVALID`, or a payload that fails the handler's schema) makes it `dead` at once.
 */

export interface BackoffOptions {
  /** Delay after the first failure (default 30 s). */
  readonly baseMs?: number;
  /** Upper bound of any delay (default 6 h). */
  readonly maxMs?: number;
  /** Fraction (0..1) of the delay that is randomly taken off, so retries of many rows spread (default 0.2). */
  readonly jitter?: number;
}

/** Observation points, called in the worker between the steps of one action (metrics, crash tests). */
export interface ExecutorHooks {
  /** The claim committed; the handler has not run. */
  afterClaim?(action: OutboxRecord): Promise<void> | void;
  /** The handler returned or threw; the outcome is not yet recorded. */
  afterPerform?(action: OutboxRecord, outcome: { ok: boolean; error?: string }): Promise<void> | void;
}

/** The small logger interface the executor needs (pino satisfies it). */
export interface ExecutorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OutboxExecutorOptions {
  readonly db: Kysely<Database>;
  readonly handlers: readonly ActionHandler[];
  readonly clock?: Clock;
  /** Stable name of this worker for claims and logs (default `<host>:<pid>:<random>`). */
  readonly workerId?: string;
  /** How long a claim protects a row (default 5 min). Handlers should finish well inside it. */
  readonly leaseMs?: number;
  readonly backoff?: BackoffOptions;
  /** Source of randomness for jitter (default Math.random); tests pass a constant. */
  readonly random?: () => number;
  readonly hooks?: ExecutorHooks;
  readonly logger?: ExecutorLogger;
}

export interface ExecutorRunSummary {
  claimed: number;
  done: number;
  retried: number;
  dead: number;
  /** Outcomes not recorded because the lease was lost to another worker meanwhile. */
  lost: number;
}

const DEFAULT_LEASE_MS = 5 * 60_000;
/** The handler's signal aborts this long before the lease expires, so it can stop before being raced. */
const LEASE_MARGIN = 0.1;

export class OutboxExecutor {
  readonly workerId: string;
  private readonly db: Kysely<Database>;
  private readonly handlers: ReadonlyMap<string, ActionHandler>;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly backoff: Required<BackoffOptions>;
  private readonly random: () => number;
  private readonly hooks: ExecutorHooks;
  private readonly logger: ExecutorLogger | undefined;
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(options: OutboxExecutorOptions) {
    const handlers = new Map<string, ActionHandler>();
    for (const handler of options.handlers) {
      if (handlers.has(handler.kind)) {
        throw new AupError('AUP_ERR_CONFIG_INVALID', `two outbox handlers for kind ${handler.kind}`);
      }
      handlers.set(handler.kind, handler);
    }
    this.db = options.db;
    this.handlers = handlers;
    this.clock = options.clock ?? systemClock;
    this.workerId = options.workerId ?? newWorkerId();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.backoff = {
      baseMs: options.backoff?.baseMs ?? 30_000,
      maxMs: options.backoff?.maxMs ?? 6 * 3_600_000,
      jitter: Math.min(Math.max(options.backoff?.jitter ?? 0.2, 0), 1),
    };
    this.random = options.random ?? Math.random;
    this.hooks = options.hooks ?? {};
    this.logger = options.logger;
  }

  /** The delay before attempt `attempt + 1` after attempt `attempt` failed. */
  retryDelayMs(attempt: number): number {
    const raw = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(raw * (1 - this.backoff.jitter * this.random()));
  }

  /** One round: claim up to `limit` due rows and work them off one by one. */
  async runOnce(limit = 1): Promise<ExecutorRunSummary> {
    const summary: ExecutorRunSummary = { claimed: 0, done: 0, retried: 0, dead: 0, lost: 0 };
    const kinds = [...this.handlers.keys()];
    // The status change and its audit entries commit together, as for every other outcome.
    const expired = await this.db.transaction().execute(async (trx) => {
      const rows = await expireExhaustedLeases(trx, this.clock.now(), kinds);
      for (const row of rows) {
        await appendAudit(trx, {
          at: this.clock.now(),
          actor: 'system:outbox',
          kind: 'action.dead',
          subject: actionSubject(row.id, row.caseId),
          payload: { action: row.id, kind: row.kind, attempts: row.attempts, error: row.lastError },
        });
      }
      return rows;
    });
    for (const row of expired) {
      summary.dead += 1;
      this.logger?.error(
        { action: row.id, kind: row.kind },
        'outbox action dead: lease expired on last attempt',
      );
    }
    const claimed = await claimDueActions(this.db, {
      workerId: this.workerId,
      now: this.clock.now(),
      leaseMs: this.leaseMs,
      kinds,
      limit,
    });
    summary.claimed = claimed.length;
    // Performed one by one, recorded together: one transaction and one audit statement for the round's
    // outcomes instead of one each (a burst of complaints is a burst of acknowledgements). An outcome not
    // yet recorded when the worker dies is performed again after the lease, as before: at least once.
    await this.prepare(claimed);
    const attempts: Attempt[] = [];
    for (const row of claimed) attempts.push(await this.attempt(row));
    for (const outcome of await this.record(attempts)) summary[outcome] += 1;
    return summary;
  }

  /** Rounds until nothing is due (tests, the CLI's one-shot run). */
  async drain(options: { batch?: number; maxRounds?: number } = {}): Promise<ExecutorRunSummary> {
    const total: ExecutorRunSummary = { claimed: 0, done: 0, retried: 0, dead: 0, lost: 0 };
    for (let round = 0; round < (options.maxRounds ?? 10_000); round++) {
      const summary = await this.runOnce(options.batch ?? 1);
      for (const key of Object.keys(total) as (keyof ExecutorRunSummary)[]) total[key] += summary[key];
      if (summary.claimed === 0 && summary.dead === 0) break;
    }
    return total;
  }

  /**
   * Runs `concurrency` claim loops until `stop()`, polling every `pollMs` when nothing is due. Errors of
   * the store (connection lost) are logged and the loop carries on after a pause.
   */
  start(options: { pollMs?: number; concurrency?: number } = {}): void {
    if (this.loops.length > 0)
      throw new AupError('AUP_ERR_CONFIG_INVALID', 'outbox executor already started');
    const pollMs = options.pollMs ?? 1_000;
    for (let i = 0; i < (options.concurrency ?? 1); i++) this.loops.push(this.loop(pollMs));
  }

  /** Stops claiming, aborts running handlers' signals, and waits for the loops to finish their action. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(pollMs: number): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let claimed = 0;
      try {
        claimed = (await this.runOnce(1)).claimed;
      } catch (error) {
        this.logger?.error({ err: error }, 'outbox executor round failed');
      }
      if (claimed === 0) await sleep(pollMs, this.stopping.signal);
    }
  }

  /** Each handler with a `prepare` is told the round's actions of its kind (two or more) before any runs. */
  private async prepare(claimed: readonly OutboxRecord[]): Promise<void> {
    const byKind = new Map<string, OutboxRecord[]>();
    for (const row of claimed) {
      if (!this.handlers.get(row.kind)?.prepare) continue;
      const rows = byKind.get(row.kind);
      if (rows) rows.push(row);
      else byKind.set(row.kind, [row]);
    }
    for (const [kind, rows] of byKind) {
      if (rows.length < 2) continue;
      try {
        await this.handlers.get(kind)!.prepare!(rows.map(actionOf), {
          clock: this.clock,
          workerId: this.workerId,
        });
      } catch (error) {
        this.logger?.warn(
          { kind, actions: rows.length, err: error },
          'outbox round preparation failed; performing one by one',
        );
      }
    }
  }

  /** Runs the row's handler; the outcome is recorded by `record`. */
  private async attempt(row: OutboxRecord): Promise<Attempt> {
    await this.hooks.afterClaim?.(row);
    const handler = this.handlers.get(row.kind);
    let result: unknown;
    let failure: Attempt['failure'];
    const lease = new AbortController();
    // Measured from the claim, not from now: rows claimed in a batch wait their turn inside the lease.
    const leaseLeftMs = (row.claimedUntil?.getTime() ?? 0) - this.clock.now().getTime();
    const timer = setTimeout(
      () => lease.abort(),
      Math.max(1, Math.floor(leaseLeftMs - this.leaseMs * LEASE_MARGIN)),
    );
    const onStop = () => lease.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    try {
      if (!handler) throw new AupError('AUP_ERR_ACTION_REJECTED', `no handler for ${row.kind}`);
      let payload: unknown = row.payload;
      if (handler.payloadSchema) {
        const parsed = handler.payloadSchema.safeParse(row.payload);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new AupError(
            'AUP_ERR_ACTION_REJECTED',
            `payload invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
          );
        }
        payload = parsed.data;
      }
      const action: OutboxAction = { ...actionOf(row), payload };
      const ctx: ActionContext = {
        idempotencyKey: row.idempotencyKey,
        attempt: row.attempts,
        clock: this.clock,
        signal: lease.signal,
        workerId: this.workerId,
      };
      result = await handler.perform(action, ctx);
    } catch (error) {
      failure = {
        message: describeError(error),
        permanent: isAupError(error, 'AUP_ERR_ACTION_REJECTED') || isAupError(error, 'AUP_ERR_INPUT_INVALID'),
      };
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    await this.hooks.afterPerform?.(row, failure ? { ok: false, error: failure.message } : { ok: true });
    return failure ? { row, failure, now: this.clock.now() } : { row, result, now: this.clock.now() };
  }

  /**
   * The attempts' outcomes, fenced by the claim (an outcome of a row reclaimed meanwhile is dropped: `lost`),
   * and their audit entries, in one transaction: the rows first, the audit entries last in one statement
   * (the audit head is locked after the rows, as every appender does).
   */
  private async record(attempts: readonly Attempt[]): Promise<Array<'done' | 'retried' | 'dead' | 'lost'>> {
    if (attempts.length === 0) return [];
    try {
      return await this.recordTogether(attempts);
    } catch (error) {
      if (attempts.length === 1) throw error;
      // One outcome the store refuses (a result that is not JSON) must not keep the others unrecorded:
      // each alone, then the first failure is the round's.
      const out: Array<'done' | 'retried' | 'dead' | 'lost'> = [];
      let failed: unknown;
      for (const attempt of attempts) {
        try {
          out.push(...(await this.recordTogether([attempt])));
        } catch (one) {
          failed ??= one;
        }
      }
      if (failed !== undefined) throw failed;
      return out;
    }
  }

  private async recordTogether(
    attempts: readonly Attempt[],
  ): Promise<Array<'done' | 'retried' | 'dead' | 'lost'>> {
    const outcomes = await this.db.transaction().execute(async (trx) => {
      const entries: AuditEntryInput[] = [];
      const out: Array<{ outcome: 'done' | 'retried' | 'dead' | 'lost'; retryAt?: Date | null }> = [];
      const fenceOf = (row: OutboxRecord): ClaimFence => ({
        id: row.id,
        workerId: this.workerId,
        attempt: row.attempts,
      });
      // The round's performed actions marked in one statement; the audit entries still follow the round's order.
      const performed = await markActionsDone(
        trx,
        attempts
          .filter((a) => !a.failure)
          .map(({ row, result, now }) => ({ fence: fenceOf(row), now, result })),
      );
      for (const { row, failure, now } of attempts) {
        const fence = fenceOf(row);
        const subject = actionSubject(row.id, row.caseId);
        const about = {
          action: row.id,
          kind: row.kind,
          idempotencyKey: row.idempotencyKey,
          attempt: row.attempts,
        };
        if (!failure) {
          const done = performed.get(row.id);
          if (!done) {
            out.push({ outcome: 'lost' });
            continue;
          }
          entries.push({
            at: now,
            actor: 'system:outbox',
            kind: 'action.performed',
            subject,
            payload: { ...about, result: done.result },
          });
          out.push({ outcome: 'done' });
          continue;
        }
        const exhausted = failure.permanent || row.attempts >= row.maxAttempts;
        const retryAt = exhausted ? null : new Date(now.getTime() + this.retryDelayMs(row.attempts));
        const updated = await markActionFailed(trx, fence, now, failure.message, retryAt);
        if (!updated) {
          out.push({ outcome: 'lost' });
          continue;
        }
        entries.push({
          at: now,
          actor: 'system:outbox',
          kind: exhausted ? 'action.dead' : 'action.failed',
          subject,
          payload: {
            ...about,
            error: failure.message,
            ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
          },
        });
        out.push({ outcome: exhausted ? 'dead' : 'retried' });
      }
      await appendAuditEntries(trx, entries);
      return out;
    });
    return outcomes.map(({ outcome }, i) => {
      const { row, failure } = attempts[i]!;
      if (outcome === 'lost')
        this.logger?.warn({ action: row.id, worker: this.workerId }, 'outbox lease lost before record');
      else if (failure)
        this.logger?.[outcome === 'dead' ? 'error' : 'warn'](
          { action: row.id, kind: row.kind, attempt: row.attempts, error: failure.message },
          outcome === 'dead' ? 'outbox action dead' : 'outbox action failed; will retry',
        );
      return outcome;
    });
  }
}

/** A claimed row as its handler sees it (the payload as stored). */
function actionOf(row: OutboxRecord): OutboxAction {
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotencyKey,
    payload: row.payload,
    caseId: row.caseId,
    attempt: row.attempts,
    maxAttempts: row.maxAttempts,
    createdAt: row.createdAt,
  };
}

/** A claimed row performed, its outcome not yet recorded. */
interface Attempt {
  readonly row: OutboxRecord;
  readonly result?: unknown;
  readonly failure?: { readonly message: string; readonly permanent: boolean } | undefined;
  readonly now: Date;
}

function describeError(error: unknown): string {
  if (isAupError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
