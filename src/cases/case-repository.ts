import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { AupError } from '../errors.js';
import {
  insertJsonRows,
  type JsonRowColumns,
  jsonRowsSource,
  ROWS_PER_STATEMENT,
  settleInOrder,
  slices,
} from '../store/json-rows.js';
import type { Database } from '../store/schema.js';
import type { CaseTable } from '../store/tables/cases.table.js';
import { caseIdFromRef, caseNumberOf, caseRefOf } from './case-ref.js';
import { type CaseState, type CaseStatus, caseStateSchema, checkedCaseState } from './case-state.js';
import { type CorrelationCandidate, closedStatuses } from './correlate-event.js';

/**
 * The case store: cases and their events, messages and notes. Plain functions taking `db` or `trx` first;
 * the state column is validated through `caseStateSchema` on every read and write, so a hand-edited row that
 * the engine could not read fails loudly at the store, not halfway through a ladder step.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface CaseRecord {
  readonly id: number;
  readonly ref: string;
  readonly providerId: string;
  readonly policyVersion: string;
  readonly customerId: number;
  readonly customerRef: string;
  readonly serviceId: number;
  readonly serviceRef: string;
  readonly clauseId: string;
  readonly severity: string;
  readonly state: CaseState;
  readonly status: CaseStatus;
  readonly repeatCount: number;
  readonly openedAt: Date;
  readonly firstEventAt: Date;
  readonly lastEventAt: Date;
  readonly windowEndsAt: Date;
  readonly dueAt: Date | null;
  readonly assignedTo: string | null;
  readonly mergedInto: number | null;
  readonly version: number;
  readonly updatedAt: Date;
}

export interface NewCase {
  readonly providerId: string;
  readonly policyVersion: string;
  readonly customerId: number;
  readonly customerRef: string;
  readonly serviceId: number;
  readonly serviceRef: string;
  readonly clauseId: string;
  readonly severity: string;
  readonly openedAt: Date;
  readonly firstEventAt: Date;
  readonly windowEndsAt: Date;
  readonly repeatCount: number;
  /** Builds the initial state once the case number is known. */
  readonly state: (caseNumber: string) => CaseState;
}

/** Inserts the case, then gives it its reference and initial state (both need the row id). */
export async function createCase(trx: Transaction<Database>, input: NewCase): Promise<CaseRecord> {
  const placeholder = input.state('000000');
  const inserted = await trx
    .insertInto('cases')
    .values({
      provider_id: input.providerId,
      policy_version: input.policyVersion,
      customer_id: input.customerId,
      customer_ref: input.customerRef,
      service_id: input.serviceId,
      service_ref: input.serviceRef,
      clause_id: input.clauseId,
      severity: input.severity,
      state: JSON.stringify(placeholder),
      status: placeholder.status,
      repeat_count: input.repeatCount,
      opened_at: input.openedAt,
      first_event_at: input.firstEventAt,
      last_event_at: input.firstEventAt,
      window_ends_at: input.windowEndsAt,
      updated_at: input.openedAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const state = caseStateSchema.parse(input.state(caseNumberOf(inserted.id)));
  const row = await trx
    .updateTable('cases')
    .set({ ref: caseRefOf(inserted.id), state: JSON.stringify(state), status: state.status })
    .where('id', '=', inserted.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toCase(row);
}

export interface CaseUpdate {
  readonly state: CaseState;
  readonly at: Date;
  readonly dueAt?: Date | null;
  readonly firstEventAt?: Date;
  readonly lastEventAt?: Date;
  readonly windowEndsAt?: Date;
  readonly mergedInto?: number | null;
  readonly assignedTo?: string | null;
}

/** Writes a new state (status mirrored, version bumped). The caller holds the row lock (`getCase` forUpdate). */
export async function saveCase(
  trx: Transaction<Database>,
  id: number,
  update: CaseUpdate,
): Promise<CaseRecord> {
  const state = caseStateSchema.parse(update.state);
  const row = await trx
    .updateTable('cases')
    .set((eb) => ({
      state: JSON.stringify(state),
      status: state.status,
      version: eb('version', '+', 1),
      updated_at: update.at,
      ...(update.dueAt === undefined ? {} : { due_at: update.dueAt }),
      ...(update.firstEventAt === undefined ? {} : { first_event_at: update.firstEventAt }),
      ...(update.lastEventAt === undefined ? {} : { last_event_at: update.lastEventAt }),
      ...(update.windowEndsAt === undefined ? {} : { window_ends_at: update.windowEndsAt }),
      ...(update.mergedInto === undefined ? {} : { merged_into: update.mergedInto }),
      ...(update.assignedTo === undefined ? {} : { assigned_to: update.assignedTo }),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `case ${caseRefOf(id)} does not exist`);
  return toCase(row);
}

/** One case by id or reference; `forUpdate` locks the row for the rest of the transaction. */
export async function getCase(
  db: Db,
  idOrRef: number | string,
  options: { forUpdate?: boolean } = {},
): Promise<CaseRecord | undefined> {
  const id = typeof idOrRef === 'number' ? idOrRef : caseIdFromRef(idOrRef);
  let q = db.selectFrom('cases').selectAll().where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toCase(row) : undefined;
}

export async function requireCase(
  db: Db,
  idOrRef: number | string,
  options: { forUpdate?: boolean } = {},
): Promise<CaseRecord> {
  const found = await getCase(db, idOrRef, options);
  if (!found) {
    const ref = typeof idOrRef === 'number' ? caseRefOf(idOrRef) : idOrRef;
    throw new AupError('AUP_ERR_NOT_FOUND', `case ${ref} does not exist`, { details: { case: ref } });
  }
  return found;
}

/** The cases correlation may join for one service and clause: not merged, not closed. */
export async function correlationCandidates(
  db: Db,
  serviceId: number,
  clauseId: string,
): Promise<CorrelationCandidate[]> {
  const rows = await db
    .selectFrom('cases')
    .select(['id', 'service_id', 'clause_id', 'status', 'first_event_at', 'last_event_at', 'merged_into'])
    .where('service_id', '=', serviceId)
    .where('clause_id', '=', clauseId)
    .where('merged_into', 'is', null)
    .where('status', 'not in', [...closedStatuses])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    serviceId: r.service_id,
    clauseId: r.clause_id,
    status: r.status as CaseStatus,
    firstEventAt: r.first_event_at,
    lastEventAt: r.last_event_at,
    mergedInto: r.merged_into,
  }));
}

export interface CaseSummary {
  readonly id: number;
  readonly ref: string;
  readonly status: CaseStatus;
  readonly clauseId: string;
  readonly customerRef: string;
  readonly serviceRef: string;
  readonly severity: string;
  readonly openedAt: Date;
  readonly lastEventAt: Date;
  readonly dueAt: Date | null;
  readonly assignedTo: string | null;
  readonly mergedInto: number | null;
  readonly repeatCount: number;
}

/**
 * A customer's earlier cases under one clause (merged-away cases excluded): the repeat offences an analyst
 * sees on a case, and the `repeat` count a new case opens with.
 */
export async function previousCases(
  db: Db,
  customerId: number,
  clauseId: string,
  options: { beforeCaseId?: number } = {},
): Promise<CaseSummary[]> {
  let q = db
    .selectFrom('cases')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('clause_id', '=', clauseId)
    .where('merged_into', 'is', null)
    .orderBy('opened_at')
    .orderBy('id');
  if (options.beforeCaseId !== undefined) q = q.where('id', '<', options.beforeCaseId);
  return (await q.execute()).map((row) => summaryOf(toCase(row)));
}

export async function listCases(
  db: Db,
  query: { status?: CaseStatus; customerRef?: string; includeMerged?: boolean; limit?: number } = {},
): Promise<CaseSummary[]> {
  let q = db.selectFrom('cases').selectAll().orderBy('id');
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.customerRef !== undefined) q = q.where('customer_ref', '=', query.customerRef);
  if (!query.includeMerged) q = q.where('merged_into', 'is', null);
  const rows = await q.limit(Math.min(Math.max(query.limit ?? 1000, 1), 100_000)).execute();
  return rows.map((row) => summaryOf(toCase(row)));
}

export function summaryOf(c: CaseRecord): CaseSummary {
  return {
    id: c.id,
    ref: c.ref,
    status: c.status,
    clauseId: c.clauseId,
    customerRef: c.customerRef,
    serviceRef: c.serviceRef,
    severity: c.severity,
    openedAt: c.openedAt,
    lastEventAt: c.lastEventAt,
    dueAt: c.dueAt,
    assignedTo: c.assignedTo,
    mergedInto: c.mergedInto,
    repeatCount: c.repeatCount,
  };
}

/** Follows `merged_into` to the case that holds a merged case's events now (bounded: merges form no cycles). */
export async function survivingCase(db: Db, id: number): Promise<CaseRecord | undefined> {
  let current = await getCase(db, id);
  for (let hops = 0; current?.mergedInto != null && hops < 100; hops += 1) {
    current = await getCase(db, current.mergedInto);
  }
  return current;
}

function toCase(row: Selectable<CaseTable>): CaseRecord {
  const parsed = caseStateSchema.safeParse(row.state);
  if (!parsed.success) {
    throw new AupError(
      'AUP_ERR_STORE_CONFLICT',
      `case ${row.ref ?? row.id}: stored state is not a valid case state: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return {
    id: row.id,
    ref: row.ref ?? caseRefOf(row.id),
    providerId: row.provider_id,
    policyVersion: row.policy_version,
    customerId: row.customer_id,
    customerRef: row.customer_ref,
    serviceId: row.service_id,
    serviceRef: row.service_ref,
    clauseId: row.clause_id,
    severity: row.severity,
    state: parsed.data,
    status: parsed.data.status,
    repeatCount: row.repeat_count,
    openedAt: row.opened_at,
    firstEventAt: row.first_event_at,
    lastEventAt: row.last_event_at,
    windowEndsAt: row.window_ends_at,
    dueAt: row.due_at,
    assignedTo: row.assigned_to,
    mergedInto: row.merged_into,
    version: row.version,
    updatedAt: row.updated_at,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Set-based reads and writes for the feed pipeline (enforcement/pipeline/batch-*.ts): one statement for a
// whole batch of events instead of one per event.

/** A (service, clause) correlation key. */
export interface CorrelationKey {
  readonly serviceId: number;
  readonly clauseId: string;
}

/**
 * Serialises correlation for these (service, clause) keys until the transaction ends: two workers judging
 * events of the same service at once would otherwise both see "no open case" and open two. One statement for
 * all the keys, in a fixed order (by service, then clause).
 *
 * Advisory locks belong to the database, not the schema: the key names the schema too, so desks sharing a
 * database in schemas of their own (the test suite's files, a benchmark) never wait for, or deadlock with,
 * each other's locks on the same service ids — which they did: a 1,000,000-row benchmark run on PostgreSQL
 * died of "deadlock detected" while another desk's report ran in another schema.
 */
export async function lockCorrelations(
  trx: Transaction<Database>,
  keys: readonly CorrelationKey[],
): Promise<void> {
  if (keys.length === 0) return;
  const sorted = [...keys].sort((a, b) => a.serviceId - b.serviceId || a.clauseId.localeCompare(b.clauseId));
  await sql`select count(pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || k.s || '/' || k.c, 0)))
    from unnest(${sorted.map((k) => k.serviceId)}::int[], ${sorted.map((k) => k.clauseId)}::text[])
      as k(s, c)`.execute(trx);
}

/**
 * The open, unmerged cases of these (service, clause) keys, whole and locked for update (a batch may join any
 * of them): `correlationCandidates` and `getCase(…, { forUpdate })` of every key at once.
 *
 * `known`: records this process holds as it last wrote them (a big report's previous segment). A case whose
 * row still has the known record's `version` is taken from `known` instead of being read again: every write
 * of a case bumps its version (`saveCase`, and `saveCases` with the engine's), so an equal version is the row
 * as written. Only the ids and versions of the keys' cases are read then, and whole rows for the others.
 * The caller must hand over records of committed writes only (a version rolled back may be reached again by
 * another writer's change).
 */
export async function openCasesFor(
  trx: Transaction<Database>,
  keys: readonly CorrelationKey[],
  known?: ReadonlyMap<number, CaseRecord>,
): Promise<CaseRecord[]> {
  if (keys.length === 0) return [];
  const wanted = new Set(keys.map((k) => `${k.serviceId}\n${k.clauseId}`));
  const open = trx
    .selectFrom('cases')
    .where('service_id', 'in', [...new Set(keys.map((k) => k.serviceId))])
    .where('clause_id', 'in', [...new Set(keys.map((k) => k.clauseId))])
    .where('merged_into', 'is', null)
    .where('status', 'not in', [...closedStatuses])
    .orderBy('id')
    .forUpdate();
  if (!known || known.size === 0) {
    const rows = await open.selectAll().execute();
    return rows.filter((r) => wanted.has(`${r.service_id}\n${r.clause_id}`)).map(toCase);
  }
  const versions = (await open.select(['id', 'service_id', 'clause_id', 'version']).execute()).filter((r) =>
    wanted.has(`${r.service_id}\n${r.clause_id}`),
  );
  const stale = versions.filter((r) => known.get(r.id)?.version !== r.version).map((r) => r.id);
  const read = new Map<number, CaseRecord>();
  for (let i = 0; i < stale.length; i += 5_000) {
    const rows = await trx
      .selectFrom('cases')
      .selectAll()
      .where('id', 'in', stale.slice(i, i + 5_000))
      .execute();
    for (const row of rows) read.set(row.id, toCase(row));
  }
  return versions.map((r) => read.get(r.id) ?? known.get(r.id)!);
}

/** `previousCases(db, customer, clause).length` for many (customer, clause) pairs, keyed `customer\nclause`. */
export async function caseCounts(
  db: Db,
  pairs: ReadonlyArray<{ readonly customerId: number; readonly clauseId: string }>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (pairs.length === 0) return counts;
  const rows = await db
    .selectFrom('cases')
    .select(['customer_id', 'clause_id', (eb) => eb.fn.countAll<string>().as('n')])
    .where('customer_id', 'in', [...new Set(pairs.map((p) => p.customerId))])
    .where('clause_id', 'in', [...new Set(pairs.map((p) => p.clauseId))])
    .where('merged_into', 'is', null)
    .groupBy(['customer_id', 'clause_id'])
    .execute();
  for (const r of rows) counts.set(`${r.customer_id}\n${r.clause_id}`, Number(r.n));
  return counts;
}

const CASE_COLUMNS = {
  id: 'integer',
  ref: 'text',
  provider_id: 'text',
  policy_version: 'text',
  customer_id: 'integer',
  customer_ref: 'text',
  service_id: 'integer',
  service_ref: 'text',
  clause_id: 'text',
  severity: 'text',
  state: 'jsonb',
  status: 'text',
  repeat_count: 'integer',
  opened_at: 'timestamptz',
  first_event_at: 'timestamptz',
  last_event_at: 'timestamptz',
  window_ends_at: 'timestamptz',
  due_at: 'timestamptz',
  assigned_to: 'text',
  merged_into: 'integer',
  version: 'integer',
  updated_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/**
 * Inserts whole cases (ids taken with `reserveIds`, state final) in multi-row statements: what `createCase`
 * and the `saveCase`s after it leave, written once.
 */
export async function insertCases(trx: Transaction<Database>, records: readonly CaseRecord[]): Promise<void> {
  const statements = slices(records, ROWS_PER_STATEMENT).map((part) => {
    const rows = part.map((c) => {
      const state = checkedCaseState(c.state);
      return {
        id: c.id,
        ref: c.ref,
        provider_id: c.providerId,
        policy_version: c.policyVersion,
        customer_id: c.customerId,
        customer_ref: c.customerRef,
        service_id: c.serviceId,
        service_ref: c.serviceRef,
        clause_id: c.clauseId,
        severity: c.severity,
        state,
        status: state.status,
        repeat_count: c.repeatCount,
        opened_at: c.openedAt,
        first_event_at: c.firstEventAt,
        last_event_at: c.lastEventAt,
        window_ends_at: c.windowEndsAt,
        due_at: c.dueAt,
        assigned_to: c.assignedTo,
        merged_into: c.mergedInto,
        version: c.version,
        updated_at: c.updatedAt,
      };
    });
    return insertJsonRows(trx, 'cases', CASE_COLUMNS, rows, { overridingIds: true });
  });
  await settleInOrder(statements);
}

const CASE_SAVE_COLUMNS = {
  id: 'integer',
  state: 'jsonb',
  status: 'text',
  version: 'integer',
  updated_at: 'timestamptz',
  due_at: 'timestamptz',
  first_event_at: 'timestamptz',
  last_event_at: 'timestamptz',
  window_ends_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/**
 * Writes the state, version and event times of existing cases (rows the caller holds locked:
 * `openCasesFor`) in one statement per 2,000: the last of the `saveCase`s a batch made on each.
 * `stateStored`: cases whose row already holds the record's state (the same JSON document: `sameCaseState`),
 * whose state column is left as it is — most of a feed report's cases, whose events join them without
 * changing their state; passing and converting each state again was about a third of the update's time.
 */
export async function saveCases(
  trx: Transaction<Database>,
  records: readonly CaseRecord[],
  stateStored: ReadonlySet<number> = new Set(),
): Promise<void> {
  const statements = slices(records, ROWS_PER_STATEMENT).map((part) => {
    const rows = part.map((c) => {
      const stored = stateStored.has(c.id);
      return {
        id: c.id,
        state: stored ? null : checkedCaseState(c.state),
        status: c.state.status,
        version: c.version,
        updated_at: c.updatedAt,
        due_at: c.dueAt,
        first_event_at: c.firstEventAt,
        last_event_at: c.lastEventAt,
        window_ends_at: c.windowEndsAt,
      };
    });
    return sql`update cases set state = coalesce(u.state, cases.state), status = u.status, version = u.version,
        updated_at = u.updated_at, due_at = u.due_at, first_event_at = u.first_event_at,
        last_event_at = u.last_event_at, window_ends_at = u.window_ends_at
      from ${jsonRowsSource('u', CASE_SAVE_COLUMNS, rows)}
      where cases.id = u.id`.execute(trx);
  });
  await settleInOrder(statements);
}
