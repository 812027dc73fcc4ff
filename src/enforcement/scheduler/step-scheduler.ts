import type { Kysely, Selectable, Transaction } from 'kysely';
import { z } from 'zod';
import { type AuditActor, type AuditEntryInput, appendAudit } from '../../audit/audit-log.js';
import { toJsonValue } from '../../audit/canonical-json.js';
import { AupError } from '../../errors.js';
import { insertJsonRows, type JsonRow, type JsonRowColumns } from '../../store/json-rows.js';
import { usedKeys } from '../../store/reserve-ids.js';
import type { Database } from '../../store/schema.js';
import type { ScheduledStepStatus, ScheduledStepTable } from '../../store/tables/outbox.table.js';
import type { JsonValue } from '../outbox/action-handler.js';
import type { Clock } from '../outbox/clock.js';

/**
 * Durable due steps: cure deadlines, escalations, reminders. A step is a row with a due time, written in
 * the transaction of the state change that set it, so it survives restarts and fires late rather than
 * never when the process was down at its due time.
 *
 * Firing is exactly once for the database: `runDueSteps` locks one due row (`FOR UPDATE SKIP LOCKED`),
 * calls the handler with that same transaction, marks the step `done` with an audit entry and commits —
 * all or nothing. A crash mid-handler rolls everything back and the step fires again after the restart.
 * Hence the handler's one rule: it works through `trx` only (state changes, `enqueueAction` for anything
 * that touches the world, `scheduleStep` for the next deadline) and performs no outside I/O itself. On
 * PGlite it must not use the outer `db` either: that would wait for the connection its own transaction
 * holds.
 *
 * Status: `pending` → `done` (fired), `cancelled` (cancelSteps: the case was cured, held or dismissed),
 * or `failed` (the handler threw on every one of `max_attempts` tries, backing off between them).
 */

export const DEFAULT_STEP_MAX_ATTEMPTS = 5;

export interface ScheduleStepInput {
  /** When it was decided, from the caller's clock. */
  readonly at: Date;
  /** `<type>:<id>`, e.g. `case:123`. */
  readonly subject: string;
  /** What to do when due, e.g. `cure.deadline`, `escalate`, `reminder`. */
  readonly kind: string;
  readonly dueAt: Date;
  /**
   * Scheduling twice with one key gives one step: derive it from what makes the step unique
   * (`case:123:cure-deadline:1`); a rescheduled deadline after a hold takes a new key.
   */
  readonly idempotencyKey: string;
  readonly payload?: unknown;
  readonly maxAttempts?: number;
  readonly actor?: AuditActor;
}

export interface ScheduledStep {
  readonly id: number;
  readonly subject: string;
  readonly kind: string;
  readonly dueAt: Date;
  readonly status: ScheduledStepStatus;
  readonly idempotencyKey: string;
  readonly payload: unknown;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
  readonly result: unknown;
  readonly createdAt: Date;
  readonly firedAt: Date | null;
  readonly cancelledAt: Date | null;
  readonly cancelReason: string | null;
}

/** Called for each due step inside the step's transaction. Its return value is stored as the result. */
export type StepHandler = (
  trx: Transaction<Database>,
  step: ScheduledStep,
  ctx: { readonly now: Date; readonly clock: Clock },
) => Promise<JsonValue | undefined>;

export interface RunDueStepsOptions {
  /** Stop after this many steps (default 1,000) so one call cannot run forever. */
  readonly limit?: number;
  /** Retry delay after a handler failure: base · 2^(attempt-1), capped (defaults 60 s and 1 h). */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Who fires steps, for the audit log (default `system:scheduler`). */
  readonly actor?: AuditActor;
}

export interface RunDueStepsSummary {
  fired: number;
  retried: number;
  failed: number;
}

const dateSchema = z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date');
const scheduleSchema = z.object({
  at: dateSchema,
  subject: z
    .string()
    .max(300)
    .regex(/^[a-z][a-z0-9_-]*:\S.*$/, 'must be <type>:<id>'),
  kind: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, 'must be dotted lower-case words'),
  dueAt: dateSchema,
  idempotencyKey: z.string().min(1).max(200),
  maxAttempts: z.number().int().min(1).max(100).optional(),
});

/**
 * Writes a due step inside the caller's transaction, with a `step.scheduled` audit entry. A key already
 * used returns the existing step (`created: false`) and writes nothing.
 */
export async function scheduleStep(
  trx: Transaction<Database>,
  input: ScheduleStepInput,
): Promise<{ id: number; created: boolean; status: ScheduledStepStatus }> {
  const inserted = await trx
    .insertInto('scheduled_steps')
    .values({ ...stepRow(input), payload: JSON.stringify(checkedStep(input)) })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'status'])
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom('scheduled_steps')
      .select(['id', 'status', 'subject', 'kind'])
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirstOrThrow();
    if (existing.subject !== input.subject || existing.kind !== input.kind) {
      throw new AupError(
        'AUP_ERR_STORE_CONFLICT',
        `step key "${input.idempotencyKey}" already names ${existing.kind} for ${existing.subject}`,
        { details: { stepId: existing.id } },
      );
    }
    return { id: existing.id, created: false, status: existing.status };
  }
  await appendAudit(trx, scheduledAuditEntry(inserted.id, input));
  return { id: inserted.id, created: true, status: inserted.status };
}

/** The input checked (an invalid one is an input error); returns its payload as JSON. */
function checkedStep(input: ScheduleStepInput): unknown {
  const parsed = scheduleSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `scheduled step ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  try {
    return toJsonValue(input.payload ?? {});
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'scheduled step payload: not representable as JSON', {
      cause: error,
    });
  }
}

/** The row of a new step (its payload checked). */
/** A scheduled_steps row but its id and payload (the caller adds the payload as JSON text or value). */
function stepRow(input: ScheduleStepInput) {
  return {
    subject: input.subject,
    kind: input.kind,
    due_at: input.dueAt,
    idempotency_key: input.idempotencyKey,
    max_attempts: input.maxAttempts ?? DEFAULT_STEP_MAX_ATTEMPTS,
    next_attempt_at: input.dueAt,
    created_at: input.at,
  };
}

/** The `step.scheduled` audit entry of a step written with id `id`. */
function scheduledAuditEntry(id: number, input: ScheduleStepInput): AuditEntryInput {
  return {
    at: input.at,
    actor: input.actor ?? 'system',
    kind: 'step.scheduled',
    subject: input.subject,
    payload: {
      step: id,
      kind: input.kind,
      dueAt: input.dueAt.toISOString(),
      idempotencyKey: input.idempotencyKey,
    },
  };
}

/** The due times of the pending steps of `kind` for each of `subjects` (what `listSteps` shows, at once). */
export async function pendingDueTimes(
  db: Kysely<Database> | Transaction<Database>,
  subjects: readonly string[],
  kind: string,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < subjects.length; i += 5_000) {
    const rows = await db
      .selectFrom('scheduled_steps')
      .select(['subject', 'due_at'])
      .where('subject', 'in', subjects.slice(i, i + 5_000))
      .where('status', '=', 'pending')
      .where('kind', '=', kind)
      .execute();
    for (const r of rows) {
      const list = out.get(r.subject) ?? [];
      list.push(r.due_at.getTime());
      out.set(r.subject, list);
    }
  }
  return out;
}

/** Which of these step keys name a step already. */
export function existingStepKeys(
  db: Kysely<Database> | Transaction<Database>,
  keys: readonly string[],
): Promise<Set<string>> {
  return usedKeys(db, 'scheduled_steps', keys);
}

/** Rows of new steps, checked, as `insertStepRows` writes them. */
export interface NewStepRows {
  readonly rows: ReadonlyArray<JsonRow<keyof typeof STEP_COLUMNS>>;
  /** Their `step.scheduled` audit entries, in order, for the caller to chain where each belongs. */
  readonly entries: AuditEntryInput[];
}

/**
 * New steps (ids taken with `reserveIds`, keys found unused with `existingStepKeys`), checked: the rows
 * `scheduleStep` would write one by one, and their audit entries. Apart from the insert
 * (`insertStepRows`), so a batch can chain the entries while the rows are being written.
 */
export function newStepRows(steps: ReadonlyArray<ScheduleStepInput & { readonly id: number }>): NewStepRows {
  const entries: AuditEntryInput[] = [];
  const rows = steps.map((input) => {
    const payload = checkedStep(input);
    entries.push(scheduledAuditEntry(input.id, input));
    return { id: input.id, ...stepRow(input), payload };
  });
  return { rows, entries };
}

/** Writes `newStepRows` in multi-row statements. */
export async function insertStepRows(trx: Transaction<Database>, steps: NewStepRows): Promise<void> {
  await insertJsonRows(trx, 'scheduled_steps', STEP_COLUMNS, steps.rows, { overridingIds: true });
}

const STEP_COLUMNS = {
  id: 'integer',
  subject: 'text',
  kind: 'text',
  due_at: 'timestamptz',
  idempotency_key: 'text',
  payload: 'jsonb',
  max_attempts: 'integer',
  next_attempt_at: 'timestamptz',
  created_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/**
 * Cancels the subject's pending steps (all, or only `kinds`) inside the caller's transaction, with one
 * `step.cancelled` audit entry naming them. Returns the cancelled steps. A step being fired right now is
 * locked by its runner; this waits for it, and then finds it no longer pending.
 */
export async function cancelSteps(
  trx: Transaction<Database>,
  subject: string,
  options: { at: Date; reason: string; kinds?: readonly string[]; actor?: AuditActor },
): Promise<ScheduledStep[]> {
  let q = trx
    .updateTable('scheduled_steps')
    .set({ status: 'cancelled', cancelled_at: options.at, cancel_reason: options.reason })
    .where('subject', '=', subject)
    .where('status', '=', 'pending');
  if (options.kinds !== undefined) {
    if (options.kinds.length === 0) return [];
    q = q.where('kind', 'in', [...options.kinds]);
  }
  const rows = (await q.returningAll().execute()).map(toStep).sort((a, b) => a.id - b.id);
  if (rows.length > 0) {
    await appendAudit(trx, {
      at: options.at,
      actor: options.actor ?? 'system',
      kind: 'step.cancelled',
      subject,
      payload: { steps: rows.map((s) => ({ step: s.id, kind: s.kind })), reason: options.reason },
    });
  }
  return rows;
}

/**
 * Fires every step due at `clock.now()`, one transaction per step (see the file comment). Steps of many
 * workers interleave safely: each locks its row with SKIP LOCKED, so two never fire the same step. A
 * handler that throws rolls its work back; the step is retried after a backoff, and `failed` after
 * `max_attempts`.
 */
export async function runDueSteps(
  db: Kysely<Database>,
  clock: Clock,
  handler: StepHandler,
  options: RunDueStepsOptions = {},
): Promise<RunDueStepsSummary> {
  const summary: RunDueStepsSummary = { fired: 0, retried: 0, failed: 0 };
  const limit = options.limit ?? 1_000;
  const baseMs = options.backoff?.baseMs ?? 60_000;
  const maxMs = options.backoff?.maxMs ?? 3_600_000;
  const actor = options.actor ?? 'system:scheduler';
  // Ids that failed in this call are skipped, so a zero backoff cannot spin on one step.
  const failedHere: number[] = [];

  while (summary.fired + summary.retried + summary.failed < limit) {
    const now = clock.now();
    let attempted: ScheduledStep | undefined;
    try {
      const fired = await db.transaction().execute(async (trx) => {
        let q = trx
          .selectFrom('scheduled_steps')
          .selectAll()
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now);
        if (failedHere.length > 0) q = q.where('id', 'not in', failedHere);
        const row = await q
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!row) return undefined;
        const step = toStep(row);
        attempted = step;
        const result = (await handler(trx, step, { now, clock })) ?? null;
        const stored = toJsonValue(result);
        await trx
          .updateTable('scheduled_steps')
          .set({
            status: 'done',
            fired_at: now,
            attempts: step.attempts + 1,
            result: JSON.stringify(stored),
            last_error: null,
          })
          .where('id', '=', step.id)
          .execute();
        await appendAudit(trx, {
          at: now,
          actor,
          kind: 'step.fired',
          subject: step.subject,
          payload: {
            step: step.id,
            kind: step.kind,
            dueAt: step.dueAt.toISOString(),
            idempotencyKey: step.idempotencyKey,
            result: stored,
          },
        });
        return step;
      });
      if (!fired) break;
      summary.fired += 1;
    } catch (error) {
      const step = attempted;
      if (!step) throw error;
      failedHere.push(step.id);
      const attempts = step.attempts + 1;
      const exhausted = attempts >= step.maxAttempts;
      const retryAt = new Date(now.getTime() + Math.min(maxMs, baseMs * 2 ** (attempts - 1)));
      const message = error instanceof Error ? error.message || error.name : String(error);
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('scheduled_steps')
          .set({
            status: exhausted ? 'failed' : 'pending',
            attempts,
            last_error: message.slice(0, 4000),
            next_attempt_at: exhausted ? step.nextAttemptAt : retryAt,
          })
          .where('id', '=', step.id)
          .where('status', '=', 'pending')
          .where('attempts', '=', step.attempts)
          .returning('id')
          .executeTakeFirst();
        if (!updated) return;
        await appendAudit(trx, {
          at: now,
          actor,
          kind: exhausted ? 'step.failed' : 'step.retry',
          subject: step.subject,
          payload: {
            step: step.id,
            kind: step.kind,
            attempt: attempts,
            error: message,
            ...(exhausted ? {} : { retryAt: retryAt.toISOString() }),
          },
        });
      });
      if (exhausted) summary.failed += 1;
      else summary.retried += 1;
    }
  }
  return summary;
}

export async function listSteps(
  db: Kysely<Database>,
  query: { subject?: string; status?: ScheduledStepStatus; kind?: string; limit?: number } = {},
): Promise<ScheduledStep[]> {
  let q = db.selectFrom('scheduled_steps').selectAll().orderBy('due_at').orderBy('id');
  if (query.subject !== undefined) q = q.where('subject', '=', query.subject);
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
  const rows = await q.limit(Math.min(Math.max(query.limit ?? 100, 1), 10_000)).execute();
  return rows.map(toStep);
}

/** The earliest pending due time (a worker can sleep until then), or undefined when nothing is pending. */
export async function nextDueAt(db: Kysely<Database>): Promise<Date | undefined> {
  const row = await db
    .selectFrom('scheduled_steps')
    .select((eb) => eb.fn.min('next_attempt_at').as('next'))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.next ? new Date(row.next) : undefined;
}

function toStep(row: Selectable<ScheduledStepTable>): ScheduledStep {
  return {
    id: row.id,
    subject: row.subject,
    kind: row.kind,
    dueAt: row.due_at,
    status: row.status,
    idempotencyKey: row.idempotency_key,
    payload: row.payload,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    result: row.result,
    createdAt: row.created_at,
    firedAt: row.fired_at,
    cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason,
  };
}
