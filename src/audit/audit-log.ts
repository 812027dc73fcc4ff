import { createHash } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import { AupError } from '../errors.js';
import { type JsonRow, type JsonRowColumns, jsonTextRowsSource } from '../store/json-rows.js';
import type { Database } from '../store/schema.js';
import { canonicalJson, canonicalJsonOf } from './canonical-json.js';

/**
 * The audit log: every judgement, case step and action, append-only and hash-chained so that an edited,
 * removed or reordered entry shows.
 *
 * Each entry's hash is
 *
 *     hash = hex(sha256(utf8(canonicalJson({ seq, at, actor, kind, subject, payload, prev_hash }))))
 *
 * where `seq` is the entry's number (1, 2, 3, … with no gaps), `at` its time as an ISO 8601 UTC string
 * with milliseconds (`2025-03-01T12:00:00.000Z`), `payload` the JSON value as stored, `prev_hash` the
 * previous entry's hash (64 zeros for entry 1), and canonicalJson sorts object keys (RFC 8785; see
 * canonical-json.ts). Anyone can recompute the chain from an export of the table with that recipe.
 *
 * `appendAudit` runs inside the caller's transaction, so the entry commits (or rolls back) with the change
 * it records. Its first append locks the one-row `audit_head` (FOR UPDATE), which serialises appenders on
 * PGlite and on a PostgreSQL server alike and makes seq order commit order. The lock is held to the end of
 * the caller's transaction: append last, after the caller's own row locks, and keep such transactions
 * short.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** `system`, `system:<component>`, `user:<id>` or `apikey:<id>`. */
export type AuditActor = 'system' | `system:${string}` | `user:${string}` | `apikey:${string}`;

export interface AuditEntryInput {
  /** When it happened, from the caller's clock. */
  readonly at: Date;
  readonly actor: AuditActor;
  /** Dotted lower-case kind: `judgement`, `case.state`, `action.performed`, `policy.published`. */
  readonly kind: string;
  /** `<type>:<id>`: `case:123`, `action:45`, `policy:iitgen/2024-01`. */
  readonly subject: string;
  /** Any JSON; stored as jsonb and hashed canonically. */
  readonly payload?: unknown;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly kind: string;
  readonly subject: string;
  readonly payload: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly entries: number; readonly head: string }
  | { readonly ok: false; readonly seq: number; readonly reason: string };

const ACTOR_FORM = /^(system(:[a-z0-9][a-z0-9._-]*)?|(user|apikey):\S+)$/;
const KIND_FORM = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const SUBJECT_FORM = /^[a-z][a-z0-9_-]*:\S.*$/;

const inputSchema = z.object({
  at: z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date'),
  actor: z.string().max(200).regex(ACTOR_FORM, 'must be system[:component], user:<id> or apikey:<id>'),
  kind: z.string().max(100).regex(KIND_FORM, 'must be dotted lower-case words'),
  subject: z.string().max(300).regex(SUBJECT_FORM, 'must be <type>:<id>'),
});

/**
 * The checks of `inputSchema`, without zod: true only for an entry the schema accepts. The pipeline
 * appends ~5 entries per event, all built by this code base and all valid; zod (which this falls back to
 * for anything else, and for its message) cost more than the hashing.
 */
function plainlyValid(entry: AuditEntryInput): boolean {
  const { at, actor, kind, subject } = entry;
  return (
    at instanceof Date &&
    !Number.isNaN(at.getTime()) &&
    typeof actor === 'string' &&
    actor.length <= 200 &&
    ACTOR_FORM.test(actor) &&
    typeof kind === 'string' &&
    kind.length <= 100 &&
    KIND_FORM.test(kind) &&
    typeof subject === 'string' &&
    subject.length <= 300 &&
    SUBJECT_FORM.test(subject)
  );
}

/** Appends one entry inside `trx`; returns it with its seq and hash. */
export async function appendAudit(trx: Transaction<Database>, entry: AuditEntryInput): Promise<AuditEntry> {
  const checked = checkedEntry(entry);
  const batch = batches.get(trx);
  if (batch) return entryOf((await deferEntries(trx, batch, [checked]))[0]!);
  // The head this transaction last wrote (it holds the head's row lock since its first append), else the
  // locked head. A stale one (a savepoint rolled back over an append) writes nothing, and the head is read
  // again under the lock.
  const known = heads.get(trx);
  let written = known ? await writeEntries(trx, known, chainFrom(known, [checked])) : undefined;
  if (!written) {
    const head = await lockHead(trx);
    written = await writeEntries(trx, head, chainFrom(head, [checked]));
  }
  if (!written) {
    throw new AupError('AUP_ERR_STORE_CONFLICT', 'the audit head moved while it was locked');
  }
  heads.set(trx, headOf(written[0]!));
  return entryOf(written[0]!);
}

/**
 * Appends `entries` in order inside `trx`, as that many `appendAudit` calls would (the same seqs, hashes and
 * rows), in one statement: the chain is computed here, the rows go in as one JSON parameter, and the head
 * moves once, to the last. A report's thousands of judgement and case entries cost one round trip instead
 * of one each. Nothing is written when any entry is invalid.
 */
export async function appendAuditBatch(
  trx: Transaction<Database>,
  entries: readonly AuditEntryInput[],
): Promise<AuditEntry[]> {
  return (await appendChained(trx, entries)).map(entryOf);
}

/**
 * `appendAuditBatch` for a caller that needs nothing back (the pipeline, the outbox): the entries are not
 * built, so their payloads are never parsed back from the canonical JSON that is hashed and written.
 */
export async function appendAuditEntries(
  trx: Transaction<Database>,
  entries: readonly AuditEntryInput[],
): Promise<void> {
  await appendChained(trx, entries);
}

async function appendChained(
  trx: Transaction<Database>,
  entries: readonly AuditEntryInput[],
): Promise<readonly ChainedEntry[]> {
  if (entries.length === 0) return [];
  const checked = entries.map(checkedEntry);
  const batch = batches.get(trx);
  if (batch) return deferEntries(trx, batch, checked);
  const known = heads.get(trx);
  let written = known ? await writeEntries(trx, known, chainFrom(known, checked)) : undefined;
  if (!written) {
    const head = await lockHead(trx);
    written = await writeEntries(trx, head, chainFrom(head, checked));
  }
  if (!written) {
    throw new AupError('AUP_ERR_STORE_CONFLICT', 'the audit head moved while it was locked');
  }
  heads.set(trx, headOf(written[written.length - 1]!));
  return written;
}

interface CheckedEntry {
  readonly fields: Pick<AuditEntry, 'at' | 'actor' | 'kind' | 'subject'>;
  /** The payload's canonical JSON: what is hashed, and what the row stores. */
  readonly payloadJson: string;
}

function checkedEntry(entry: AuditEntryInput): CheckedEntry {
  const parsed = plainlyValid(entry) ? { success: true as const } : inputSchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `audit entry ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  let payloadJson: string;
  try {
    payloadJson = canonicalJsonOf(entry.payload ?? {});
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'audit entry payload: not representable as JSON', {
      cause: error,
    });
  }
  const fields = {
    at: new Date(entry.at.getTime()),
    actor: entry.actor,
    kind: entry.kind,
    subject: entry.subject,
  };
  return { fields, payloadJson };
}

/** An entry chained: its place (seq), the hash before it and its own. */
interface ChainedEntry extends CheckedEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** The entry as the table holds it (its payload read back from the JSON stored). */
function entryOf(c: ChainedEntry): AuditEntry {
  return { seq: c.seq, ...c.fields, payload: JSON.parse(c.payloadJson), prevHash: c.prevHash, hash: c.hash };
}

function headOf(c: ChainedEntry): AuditHead {
  return { seq: c.seq, hash: c.hash };
}

/** The entries chained after `head`: their seqs and hashes, computed here. */
function chainFrom(head: AuditHead, entries: readonly CheckedEntry[]): ChainedEntry[] {
  const out: ChainedEntry[] = [];
  let prevHash = head.hash;
  for (const [i, { fields, payloadJson }] of entries.entries()) {
    const seq = head.seq + 1 + i;
    const hash = sha256Hex(canonicalEntry({ seq, ...fields, prevHash }, payloadJson));
    out.push({ seq, fields, payloadJson, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

/**
 * `canonicalJson` of the hashed object (see the recipe at the top of this file), its members written in
 * their sorted order around the payload's canonical JSON, which is computed once and also stored.
 * `hashAuditEntry` (which verification uses) serialises the whole object; the tests hold the two equal.
 */
function canonicalEntry(entry: Omit<AuditEntry, 'hash' | 'payload'>, payloadJson: string): string {
  if (!Number.isFinite(entry.seq)) throw new TypeError(`canonicalJson: ${entry.seq} is not a JSON number`);
  return `{"actor":${JSON.stringify(entry.actor)},"at":${JSON.stringify(entry.at.toISOString())},"kind":${JSON.stringify(
    entry.kind,
  )},"payload":${payloadJson},"prev_hash":${JSON.stringify(entry.prevHash)},"seq":${JSON.stringify(
    entry.seq,
  )},"subject":${JSON.stringify(entry.subject)}}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const AUDIT_COLUMNS = {
  seq: 'bigint',
  at: 'timestamptz',
  actor: 'text',
  kind: 'text',
  subject: 'text',
  payload: 'jsonb',
  prev_hash: 'text',
  hash: 'text',
} as const satisfies JsonRowColumns<string>;

/**
 * The rows as JSON text, each payload spliced in as the canonical JSON already made for its hash rather
 * than serialised a second time (the payloads are most of the text). Member order is free in a JSON
 * object; the `jsonb` column does not keep it.
 */
function auditRowsJson(out: readonly ChainedEntry[]): string {
  const rows = out.map(({ seq, fields: f, prevHash, hash, payloadJson }) => {
    const fields: Omit<JsonRow<keyof typeof AUDIT_COLUMNS>, 'payload'> = {
      seq,
      at: f.at,
      actor: f.actor,
      kind: f.kind,
      subject: f.subject,
      prev_hash: prevHash,
      hash,
    };
    return `${JSON.stringify(fields).slice(0, -1)},"payload":${payloadJson}}`;
  });
  return `[${rows.join(',')}]`;
}

/**
 * Inserts `out` (chained from `head`) and moves the head to the last, in one statement that does neither
 * unless the head is still `head`; undefined when it is not.
 */
async function writeEntries(
  trx: Transaction<Database>,
  head: AuditHead,
  out: readonly ChainedEntry[],
): Promise<readonly ChainedEntry[] | undefined> {
  const last = out[out.length - 1]!;
  const inserted = await sql<{ n: string }>`
    with moved as (
      update audit_head set seq = ${last.seq}::bigint, hash = ${last.hash}::text
      where id = 1 and seq = ${head.seq}::bigint and hash = ${head.hash}::text
      returning seq
    ), rows as (
      insert into audit_log (seq, at, actor, kind, subject, payload, prev_hash, hash)
      select e.seq, e.at, e.actor, e.kind, e.subject, e.payload, e.prev_hash, e.hash
      from moved, ${jsonTextRowsSource('e', AUDIT_COLUMNS, auditRowsJson(out))}
      returning 1
    )
    select count(*)::text as n from rows`.execute(trx);
  if (Number(inserted.rows[0]?.n ?? 0) === 0) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Deferred appends: a whole unit of work's entries in one statement

/**
 * The entries `withAuditBatch` holds for a transaction: `written` is the head in the table (locked by this
 * transaction), `pending` the entries chained after it and not yet written.
 */
interface AuditBatchState {
  written: AuditHead;
  pending: ChainedEntry[];
}

const batches = new WeakMap<Transaction<Database>, AuditBatchState>();

/** Pending entries are written once this many have gathered, so memory stays bounded on a huge report. */
const BATCH_FLUSH_ENTRIES = 2_000;

/**
 * Runs `work` with every `appendAudit`/`appendAuditBatch` on `trx` deferred: each entry gets its seq and
 * hash at once (the head is locked first, so the chain is known), and the rows are written together, one
 * statement per 2,000 entries and at the end. The chain, seqs and return values are exactly those of
 * appending one by one; a report's pipeline, which records several entries per event, saves a round trip
 * per entry. Lock order is kept: the head is locked before `work` touches anything.
 *
 * Not for work that rolls back to a savepoint (the pending entries would outlive it); the pipeline uses
 * none. A nested call joins the outer batch. When `work` throws nothing is written (the caller's
 * transaction is rolling back anyway).
 */
export async function withAuditBatch<T>(trx: Transaction<Database>, work: () => Promise<T>): Promise<T> {
  if (batches.has(trx)) return work();
  // The head this transaction last wrote, if it wrote one (it holds the lock since): the inbox completes
  // several reports in one transaction (inbox-group.ts), each in a batch of its own. Were it stale (a
  // savepoint rolled back over an append), the flush would find the head moved and throw, never fork the
  // chain.
  const batch: AuditBatchState = { written: heads.get(trx) ?? (await lockHead(trx)), pending: [] };
  batches.set(trx, batch);
  try {
    const result = await work();
    await flushBatch(trx, batch);
    return result;
  } finally {
    batches.delete(trx);
  }
}

async function deferEntries(
  trx: Transaction<Database>,
  batch: AuditBatchState,
  entries: readonly CheckedEntry[],
): Promise<readonly ChainedEntry[]> {
  const last = batch.pending[batch.pending.length - 1];
  const chained = chainFrom(last ? headOf(last) : batch.written, entries);
  for (const c of chained) batch.pending.push(c);
  if (batch.pending.length >= BATCH_FLUSH_ENTRIES) await flushBatch(trx, batch);
  return chained;
}

async function flushBatch(trx: Transaction<Database>, batch: AuditBatchState): Promise<void> {
  if (batch.pending.length === 0) return;
  const written = await writeEntries(trx, batch.written, batch.pending);
  if (!written) throw new AupError('AUP_ERR_STORE_CONFLICT', 'the audit head moved while it was locked');
  batch.written = headOf(written[written.length - 1]!);
  batch.pending = [];
  heads.set(trx, batch.written);
}

interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Per transaction, the head it last wrote. An append costs three statements when it must read the head
 * (lock, insert, move the head) and one when it knows it (insert and move in one statement): a complaint
 * records about five entries in its one transaction, and these were nearly half the pipeline's statements.
 */
const heads = new WeakMap<Transaction<Database>, AuditHead>();

async function lockHead(trx: Transaction<Database>): Promise<AuditHead> {
  const head = await trx
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return { seq: Number(head.seq), hash: head.hash };
}

/** The chain's hash of one entry (see the recipe at the top of this file). */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const canonical = canonicalJson({
    seq: entry.seq,
    at: entry.at.toISOString(),
    actor: entry.actor,
    kind: entry.kind,
    subject: entry.subject,
    payload: entry.payload,
    prev_hash: entry.prevHash,
  });
  return sha256Hex(canonical);
}

/** The last entry's seq and hash (seq 0 and the genesis hash for an empty log). */
export async function auditHead(db: Kysely<Database>): Promise<{ seq: number; hash: string }> {
  const head = await db
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  return { seq: Number(head.seq), hash: head.hash };
}

/**
 * Recomputes the chain from entry 1 to the head and reports the first entry that does not hold. Reads
 * the head first and checks only entries up to it, so appends that commit during the walk do not disturb
 * it. Detects: an edited entry (its hash no longer matches), an edited hash (the entry or its successor
 * no longer matches), a removed entry (a gap in seq, or the log ending before its head), a reordered
 * entry (seq is inside the hash, and prev_hash links break). What it cannot detect on its own is someone
 * who rewrites the head and every later entry consistently: record the head hash it prints elsewhere
 * (a ticket, a mail, a notary) and compare.
 */
export async function verifyAudit(
  db: Kysely<Database>,
  options: { batchSize?: number } = {},
): Promise<AuditVerification> {
  const batchSize = options.batchSize ?? 1000;
  const head = await auditHead(db);
  let expected = 1;
  let prevHash = GENESIS_HASH;
  while (expected <= head.seq) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expected)
      .where('seq', '<=', head.seq)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) {
      return {
        ok: false,
        seq: expected,
        reason: `entry missing: the log ends at entry ${expected - 1} but its head records entry ${head.seq}`,
      };
    }
    for (const row of rows) {
      const entry = toEntry(row);
      if (entry.seq !== expected) {
        return { ok: false, seq: expected, reason: `entry missing (the next entry is ${entry.seq})` };
      }
      if (entry.prevHash !== prevHash) {
        return {
          ok: false,
          seq: entry.seq,
          reason:
            entry.seq === 1
              ? 'prev_hash is not the genesis hash'
              : `prev_hash does not match the hash of entry ${entry.seq - 1}`,
        };
      }
      let recomputed: string;
      try {
        recomputed = hashAuditEntry(entry);
      } catch {
        return { ok: false, seq: entry.seq, reason: 'payload is not canonical JSON' };
      }
      if (recomputed !== entry.hash) {
        return { ok: false, seq: entry.seq, reason: 'hash does not match the entry contents' };
      }
      prevHash = entry.hash;
      expected += 1;
    }
  }
  if (prevHash !== head.hash) {
    return { ok: false, seq: head.seq, reason: 'the head hash does not match this entry' };
  }
  return { ok: true, entries: head.seq, head: head.hash };
}

export interface AuditQuery {
  readonly subject?: string;
  readonly kind?: string;
  /** Entries after this seq (for paging). */
  readonly afterSeq?: number;
  /** At most this many (default 100, at most 10,000). */
  readonly limit?: number;
}

/** Entries in seq order, optionally for one subject (a case's record) or one kind. */
export async function listAudit(db: Kysely<Database>, query: AuditQuery = {}): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('seq');
  if (query.subject !== undefined) q = q.where('subject', '=', query.subject);
  if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
  if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
  const rows = await q.limit(Math.min(Math.max(query.limit ?? 100, 1), 10_000)).execute();
  return rows.map(toEntry);
}

function toEntry(row: {
  seq: string | number;
  at: Date;
  actor: string;
  kind: string;
  subject: string;
  payload: unknown;
  prev_hash: string;
  hash: string;
}): AuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    kind: row.kind,
    subject: row.subject,
    payload: row.payload,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
