import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import { type AuditActor, type AuditEntryInput, appendAudit } from '../../audit/audit-log.js';
import { toJsonValue } from '../../audit/canonical-json.js';
import { AupError } from '../../errors.js';
import { releaseLeasesOfGoneWorkers } from '../../store/claim-leases.js';
import { insertJsonRows, type JsonRow, type JsonRowColumns, jsonRowsSource } from '../../store/json-rows.js';
import { usedKeys } from '../../store/reserve-ids.js';
import type { Database } from '../../store/schema.js';
import type { OutboxActionTable, OutboxStatus } from '../../store/tables/outbox.table.js';

/**
 * The transactional outbox: rows of actions to perform on the world, written in the same transaction as
 * the state change that decided them, and worked off by the `OutboxExecutor`.
 *
 * Status: `pending` (waiting for its first attempt), `running` (claimed by a worker whose lease runs to
 * `claimed_until`), `done` (the handler returned; `result` holds what it said), `failed` (the last attempt
 * failed; it is retried at `next_attempt_at`), `dead` (no more attempts: out of attempts, or refused as
 * impossible; an operator may `retryDeadAction`).
 */

export const DEFAULT_MAX_ATTEMPTS = 8;

export interface EnqueueActionInput {
  /** When it was decided, from the caller's clock. */
  readonly at: Date;
  /** `mail.notice`, `provision.suspend`, `provision.unsuspend`, `provision.terminate`, `blocklist.add`, `fee.record`, … */
  readonly kind: string;
  /**
   * Stable key for the effect: the far end dedupes by it, and enqueueing it twice gives one row. Derive it
   * from what makes the action unique (e.g. `case:123:notice:1`), never from a clock or a random value.
   */
  readonly idempotencyKey: string;
  readonly payload: unknown;
  readonly caseId?: number | null;
  /** Not before this time (default `at`). */
  readonly notBefore?: Date;
  readonly maxAttempts?: number;
  /** Who decided it (default `system`). */
  readonly actor?: AuditActor;
}

export interface EnqueuedAction {
  readonly id: number;
  /** False when a row with this idempotency key already existed (nothing was written). */
  readonly created: boolean;
  readonly status: OutboxStatus;
}

/** An outbox row, as operators and tests see it. */
export interface OutboxRecord {
  readonly id: number;
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly payload: unknown;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
  readonly result: unknown;
  readonly claimedBy: string | null;
  readonly claimedUntil: Date | null;
  readonly caseId: number | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly doneAt: Date | null;
}

const enqueueSchema = z.object({
  at: z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date'),
  kind: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'must be dotted lower-case words, e.g. mail.notice'),
  idempotencyKey: z.string().min(1).max(200),
  caseId: z.number().int().positive().nullable().optional(),
  notBefore: z
    .date()
    .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date')
    .optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
});

/**
 * Writes an action row inside the caller's transaction (so it commits with the state change) and its
 * `action.enqueued` audit entry. A second enqueue with the same idempotency key writes nothing and
 * returns the existing row; with the same key but another kind it is a programming error
 * (`AUP_ERR_STORE_CONFLICT`).
 */
export async function enqueueAction(
  trx: Transaction<Database>,
  input: EnqueueActionInput,
): Promise<EnqueuedAction> {
  const payload = checkedAction(input);
  const notBefore = input.notBefore ?? input.at;
  const inserted = await trx
    .insertInto('outbox_actions')
    .values({
      kind: input.kind,
      idempotency_key: input.idempotencyKey,
      payload: JSON.stringify(payload),
      max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      next_attempt_at: notBefore,
      case_id: input.caseId ?? null,
      created_at: input.at,
      updated_at: input.at,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'status'])
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom('outbox_actions')
      .select(['id', 'kind', 'status'])
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirstOrThrow();
    if (existing.kind !== input.kind) {
      throw new AupError(
        'AUP_ERR_STORE_CONFLICT',
        `idempotency key "${input.idempotencyKey}" already names a ${existing.kind} action (not ${input.kind})`,
        { details: { actionId: existing.id } },
      );
    }
    return { id: existing.id, created: false, status: existing.status };
  }
  await appendAudit(trx, enqueuedAuditEntry(inserted.id, input, payload));
  return { id: inserted.id, created: true, status: inserted.status };
}

/** The `action.enqueued` audit entry of a row written with id `id`. */
function enqueuedAuditEntry(id: number, input: EnqueueActionInput, payload: unknown): AuditEntryInput {
  return {
    at: input.at,
    actor: input.actor ?? 'system',
    kind: 'action.enqueued',
    subject: actionSubject(id, input.caseId ?? null),
    payload: {
      action: id,
      kind: input.kind,
      idempotencyKey: input.idempotencyKey,
      notBefore: (input.notBefore ?? input.at).toISOString(),
      payload,
    },
  };
}

/** The input checked (an invalid one is an input error); returns its payload as JSON. */
function checkedAction(input: EnqueueActionInput): unknown {
  const parsed = enqueueSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `outbox action ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return jsonOrThrow(input.payload, 'outbox action payload');
}

/** Which of these idempotency keys name an outbox row already. */
export function existingActionKeys(
  db: Kysely<Database> | Transaction<Database>,
  keys: readonly string[],
): Promise<Set<string>> {
  return usedKeys(db, 'outbox_actions', keys);
}

/** Rows of new actions, checked, as `insertActionRows` writes them. */
export interface NewActionRows {
  readonly rows: ReadonlyArray<JsonRow<keyof typeof ACTION_COLUMNS>>;
  /** Their `action.enqueued` audit entries, in order, for the caller to chain where each belongs. */
  readonly entries: AuditEntryInput[];
}

/**
 * New actions (ids taken with `reserveIds`; keys the caller found unused with `existingActionKeys`),
 * checked: the rows `enqueueAction` would write one by one, and their audit entries. Apart from the insert
 * (`insertActionRows`), so a batch can chain the entries while the rows are being written.
 */
export function newActionRows(
  actions: ReadonlyArray<EnqueueActionInput & { readonly id: number }>,
): NewActionRows {
  const entries: AuditEntryInput[] = [];
  const rows = actions.map((input) => {
    const payload = checkedAction(input);
    entries.push(enqueuedAuditEntry(input.id, input, payload));
    return {
      id: input.id,
      kind: input.kind,
      idempotency_key: input.idempotencyKey,
      payload,
      max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      next_attempt_at: input.notBefore ?? input.at,
      case_id: input.caseId ?? null,
      created_at: input.at,
      updated_at: input.at,
    };
  });
  return { rows, entries };
}

/**
 * Writes `newActionRows` in multi-row statements. A key used meanwhile by another transaction fails the
 * statement (unique key): the caller's transaction rolls back and is redone.
 */
export async function insertActionRows(trx: Transaction<Database>, actions: NewActionRows): Promise<void> {
  await insertJsonRows(trx, 'outbox_actions', ACTION_COLUMNS, actions.rows, { overridingIds: true });
}

const ACTION_COLUMNS = {
  id: 'integer',
  kind: 'text',
  idempotency_key: 'text',
  payload: 'jsonb',
  max_attempts: 'integer',
  next_attempt_at: 'timestamptz',
  case_id: 'integer',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/** The audit subject of an action: its case when it has one (so a case's record tells the whole story). */
export function actionSubject(actionId: number, caseId: number | null): string {
  return caseId === null ? `action:${actionId}` : `case:${caseId}`;
}

export interface ClaimOptions {
  readonly workerId: string;
  readonly now: Date;
  readonly leaseMs: number;
  /** Only these kinds (the executor's registered handlers): other workers may serve other kinds. */
  readonly kinds: readonly string[];
  readonly limit: number;
}

/**
 * Claims up to `limit` due rows: pending or failed rows whose `next_attempt_at` has come, and running rows
 * whose lease has expired (their worker crashed or hung) and which have attempts left. `FOR UPDATE SKIP
 * LOCKED` lets any number of workers claim side by side without taking the same row; the claim commits at
 * once, so a worker that dies holds nothing but a lease that runs out.
 */
export async function claimDueActions(db: Kysely<Database>, options: ClaimOptions): Promise<OutboxRecord[]> {
  if (options.kinds.length === 0 || options.limit < 1) return [];
  const until = new Date(options.now.getTime() + options.leaseMs);
  const rows = await db
    .updateTable('outbox_actions')
    .set((eb) => ({
      status: 'running',
      attempts: eb('attempts', '+', 1),
      claimed_by: options.workerId,
      claimed_until: until,
      updated_at: options.now,
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox_actions')
        .select('id')
        .where('kind', 'in', [...options.kinds])
        .where((w) =>
          w.or([
            w.and([w('status', 'in', ['pending', 'failed']), w('next_attempt_at', '<=', options.now)]),
            w.and([
              w('status', '=', 'running'),
              w('claimed_until', '<=', options.now),
              w('attempts', '<', w.ref('max_attempts')),
            ]),
          ]),
        )
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(options.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
  return rows.map(toRecord).sort((a, b) => a.id - b.id);
}

/** The fence a worker holds on a row it claimed: a later claim (after lease expiry) changes `attempts`. */
export interface ClaimFence {
  readonly id: number;
  readonly workerId: string;
  readonly attempt: number;
}

/**
 * Marks a claimed row done, inside `trx`, if the claim still holds. Returns false when the lease was lost
 * (another worker reclaimed the row): the result is then not recorded here, the other worker's is.
 */
export async function markActionDone(
  trx: Transaction<Database>,
  fence: ClaimFence,
  now: Date,
  result: unknown,
): Promise<OutboxRecord | undefined> {
  return (await markActionsDone(trx, [{ fence, now, result }])).get(fence.id);
}

/** One performed action for `markActionsDone`: its claim, when it was done and what it came to. */
export interface PerformedAction {
  readonly fence: ClaimFence;
  readonly now: Date;
  readonly result: unknown;
}

const DONE_COLUMNS = {
  id: 'integer',
  worker: 'text',
  attempt: 'integer',
  result: 'text',
  done_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/**
 * `markActionDone` for a round's performed actions in one statement: each is `done` only while its claim
 * is still this worker's, this attempt's. Returns the records it marked, by id; an action missing from the
 * map lost its claim. Under a burst of complaints the outbox records a round of acknowledgements and notices
 * together (outbox-executor.ts), and an UPDATE per action was one statement a complaint. The result is
 * passed as its JSON text and stored as `jsonb`, as the one-action update did: a null result is the JSON
 * `null`, not SQL NULL. Throws before writing anything when a result is not representable as JSON.
 */
export async function markActionsDone(
  trx: Transaction<Database>,
  actions: readonly PerformedAction[],
): Promise<Map<number, OutboxRecord>> {
  const done = new Map<number, OutboxRecord>();
  if (actions.length === 0) return done;
  const rows: Array<JsonRow<keyof typeof DONE_COLUMNS>> = actions.map(({ fence, now, result }) => ({
    id: fence.id,
    worker: fence.workerId,
    attempt: fence.attempt,
    result: JSON.stringify(jsonOrThrow(result ?? null, 'action result')),
    done_at: now,
  }));
  const updated = await sql<Selectable<OutboxActionTable>>`
    update outbox_actions as a set status = 'done', result = u.result::jsonb, done_at = u.done_at,
      updated_at = u.done_at, claimed_by = null, claimed_until = null, last_error = null
    from ${jsonRowsSource('u', DONE_COLUMNS, rows)}
    where a.id = u.id and a.status = 'running' and a.claimed_by = u.worker and a.attempts = u.attempt
    returning a.*`.execute(trx);
  for (const row of updated.rows) done.set(row.id, toRecord(row));
  return done;
}

/** Records a failed attempt: `failed` with the next attempt time, or `dead` when `retryAt` is null. */
export async function markActionFailed(
  trx: Transaction<Database>,
  fence: ClaimFence,
  now: Date,
  error: string,
  retryAt: Date | null,
): Promise<OutboxRecord | undefined> {
  const row = await trx
    .updateTable('outbox_actions')
    .set({
      status: retryAt === null ? 'dead' : 'failed',
      last_error: error.slice(0, 4000),
      next_attempt_at: retryAt ?? now,
      updated_at: now,
      claimed_by: null,
      claimed_until: null,
    })
    .where('id', '=', fence.id)
    .where('status', '=', 'running')
    .where('claimed_by', '=', fence.workerId)
    .where('attempts', '=', fence.attempt)
    .returningAll()
    .executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/**
 * Ends at `now` the leases of running rows held by workers that `isGone` says are gone (a process that has
 * the store to itself says that of every worker; others, of dead processes on their host): there is
 * nothing to wait for. The rows are then claimed again at once (or go `dead` through
 * `expireExhaustedLeases` on their last attempt) — what lease expiry would have done minutes later.
 * Returns the number of rows released.
 */
export async function expireOutboxLeases(
  db: Kysely<Database>,
  now: Date,
  isGone: (workerId: string) => boolean,
): Promise<number> {
  return releaseLeasesOfGoneWorkers(
    db,
    { table: 'outbox_actions', status: 'running', touchesUpdatedAt: true },
    now,
    isGone,
  );
}

/**
 * Rows whose worker lost its lease on the last allowed attempt: nobody knows whether the effect happened,
 * and the attempts are used up, so they go `dead` for an operator to look at (and `retryDeadAction`: the
 * far end dedupes by the idempotency key, so a retry is safe). Locked with SKIP LOCKED like a claim.
 */
export async function expireExhaustedLeases(
  db: Kysely<Database>,
  now: Date,
  kinds: readonly string[],
): Promise<OutboxRecord[]> {
  if (kinds.length === 0) return [];
  const rows = await db
    .updateTable('outbox_actions')
    .set({
      status: 'dead',
      last_error: sql<string>`'lease expired on the last attempt (worker crashed or timed out); claimed by ' || claimed_by`,
      claimed_by: null,
      claimed_until: null,
      updated_at: now,
    })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox_actions')
        .select('id')
        .where('kind', 'in', [...kinds])
        .where('status', '=', 'running')
        .where('claimed_until', '<=', now)
        .where((w) => w('attempts', '>=', w.ref('max_attempts')))
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
  return rows.map(toRecord);
}

/**
 * An operator's retry of a `dead` (or `failed`) row: due now, with a fresh allowance of attempts, and an
 * `action.retried` audit entry. Safe because the far end dedupes by the idempotency key.
 */
export async function retryDeadAction(
  trx: Transaction<Database>,
  id: number,
  options: { at: Date; actor: AuditActor; reason: string },
): Promise<OutboxRecord> {
  const row = await trx
    .updateTable('outbox_actions')
    .set({ status: 'pending', attempts: 0, next_attempt_at: options.at, updated_at: options.at })
    .where('id', '=', id)
    .where('status', 'in', ['dead', 'failed'])
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new AupError('AUP_ERR_NOT_FOUND', `outbox action ${id} does not exist or is not dead or failed`);
  }
  const record = toRecord(row);
  await appendAudit(trx, {
    at: options.at,
    actor: options.actor,
    kind: 'action.retried',
    subject: actionSubject(record.id, record.caseId),
    payload: { action: record.id, kind: record.kind, reason: options.reason, lastError: record.lastError },
  });
  return record;
}

export async function getAction(db: Kysely<Database>, id: number): Promise<OutboxRecord | undefined> {
  const row = await db.selectFrom('outbox_actions').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function getActionByKey(
  db: Kysely<Database>,
  idempotencyKey: string,
): Promise<OutboxRecord | undefined> {
  const row = await db
    .selectFrom('outbox_actions')
    .selectAll()
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function listActions(
  db: Kysely<Database>,
  query: { status?: OutboxStatus; caseId?: number; kind?: string; limit?: number } = {},
): Promise<OutboxRecord[]> {
  let q = db.selectFrom('outbox_actions').selectAll().orderBy('id');
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.caseId !== undefined) q = q.where('case_id', '=', query.caseId);
  if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
  const rows = await q.limit(Math.min(Math.max(query.limit ?? 100, 1), 10_000)).execute();
  return rows.map(toRecord);
}

/** Rows per status (zeros included): the numbers to alert on are `dead` and old `pending`. */
export async function outboxStats(db: Kysely<Database>): Promise<Record<OutboxStatus, number>> {
  return countByStatus(db, false);
}

/** Actions not done, by status (a scrape's figure: done rows, the ever-growing part, are not counted). */
export async function outboxBacklog(
  db: Kysely<Database>,
): Promise<Omit<Record<OutboxStatus, number>, 'done'>> {
  const { done: _done, ...backlog } = await countByStatus(db, true);
  return backlog;
}

async function countByStatus(db: Kysely<Database>, notDone: boolean): Promise<Record<OutboxStatus, number>> {
  const rows = await db
    .selectFrom('outbox_actions')
    .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
    .$if(notDone, (q) => q.where('status', '<>', 'done'))
    .groupBy('status')
    .execute();
  const stats: Record<OutboxStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, dead: 0 };
  for (const row of rows) stats[row.status] = Number(row.n);
  return stats;
}

function toRecord(row: Selectable<OutboxActionTable>): OutboxRecord {
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    result: row.result,
    claimedBy: row.claimed_by,
    claimedUntil: row.claimed_until,
    caseId: row.case_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    doneAt: row.done_at,
  };
}

function jsonOrThrow(value: unknown, what: string): unknown {
  try {
    return toJsonValue(value);
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${what}: not representable as JSON`, { cause: error });
  }
}
