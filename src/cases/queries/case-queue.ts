import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import { caseIdFromRef, caseRefOf } from '../case-ref.js';
import type { CaseSummary } from '../case-repository.js';
import type { CaseStatus } from '../case-state.js';

/**
 * The analyst console's (and the customer portal's) reads over the case tables: the queue (filters, search, sort, numbered pages with a
 * total), the dashboard's aggregates, and the per-customer/service/reporter histories. Kept apart from the
 * API's keyset search (case-search.ts) because the queue pages by number and sorts by any column an analyst
 * clicks; every query is bounded (page size, day window, top-N) so a page stays fast at 100,000 cases.
 */

type Db = Kysely<Database> | Transaction<Database>;

export const QUEUE_SORTS = ['id', 'due', 'opened', 'last-event', 'severity', 'status', 'customer'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

export interface QueueFilter {
  readonly statuses?: readonly CaseStatus[];
  readonly clauseId?: string;
  readonly severity?: string;
  readonly customerRef?: string;
  readonly customerId?: number;
  readonly serviceId?: number;
  readonly assignedTo?: string;
  /** Cases whose next step falls due before this instant (the "due soon" filter gives now + 24 h). */
  readonly dueBefore?: Date;
  /** Only cases the customer answered and that wait for review. */
  readonly responded?: boolean;
  /** Free text: a case reference, customer or service reference, clause, assignee, or a source IP. */
  readonly search?: string;
  readonly sort?: QueueSort;
  readonly direction?: 'asc' | 'desc';
  /** 1-based. */
  readonly page?: number;
  readonly pageSize?: number;
}

export interface QueueRow extends CaseSummary {
  readonly customerId: number;
  readonly serviceId: number;
  readonly eventCount: number;
}

export interface QueuePage {
  readonly rows: QueueRow[];
  /** Matching cases, counted up to COUNT_CAP. */
  readonly total: number;
  /** More than COUNT_CAP cases match. */
  readonly totalCapped: boolean;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
}

export const COUNT_CAP = 10_000;

const SEVERITY_RANK = sql<number>`case severity when 'critical' then 4 when 'high' then 3 when 'medium' then 2 else 1 end`;

type CasesQuery = SelectQueryBuilder<Database, 'cases', object>;

/** What a free-text search names, resolved to ids first so the case query stays on its indexes. */
export interface ResolvedSearch {
  readonly caseIds: readonly number[];
  readonly customerIds: readonly number[];
  readonly serviceIds: readonly number[];
}

/** At most this many customers, services or source-IP cases a search term expands to. */
const SEARCH_FANOUT = 500;

/**
 * A search term is a case reference, a source IP (the cases whose events came from it), or part of a
 * customer's reference or name or of a service's reference. Each is looked up on its own table (small, or
 * indexed), so the queue query becomes an OR of indexed id lists rather than a substring scan of every case.
 */
export async function resolveSearch(db: Db, text: string): Promise<ResolvedSearch> {
  const search = text.trim();
  const refId = refIdOf(search);
  const ip = isIpLiteral(search) ? search : undefined;
  const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const [byIp, customers, services] = await Promise.all([
    ip === undefined
      ? Promise.resolve([])
      : db
          .selectFrom('case_events')
          .select('case_id')
          .distinct()
          .where('source_ip', '=', sql<string>`${ip}::inet`)
          .where('case_id', 'is not', null)
          .limit(SEARCH_FANOUT)
          .execute(),
    db
      .selectFrom('customers')
      .select('id')
      .where((eb) => eb.or([eb('ref', 'ilike', like), eb('name', 'ilike', like)]))
      .limit(SEARCH_FANOUT)
      .execute(),
    db.selectFrom('services').select('id').where('ref', 'ilike', like).limit(SEARCH_FANOUT).execute(),
  ]);
  return {
    caseIds: [
      ...(refId === undefined ? [] : [refId]),
      ...byIp.flatMap((r) => (r.case_id === null ? [] : [r.case_id])),
    ],
    customerIds: customers.map((r) => r.id),
    serviceIds: services.map((r) => r.id),
  };
}

function applyFilter(q: CasesQuery, f: QueueFilter, search: ResolvedSearch | undefined): CasesQuery {
  let out = q.where('cases.merged_into', 'is', null);
  if (f.statuses && f.statuses.length > 0) out = out.where('cases.status', 'in', [...f.statuses]);
  if (f.responded) out = out.where('cases.status', '=', 'customer-responded');
  if (f.clauseId) out = out.where('cases.clause_id', '=', f.clauseId);
  if (f.severity) out = out.where('cases.severity', '=', f.severity);
  if (f.customerRef) out = out.where('cases.customer_ref', '=', f.customerRef);
  if (f.customerId !== undefined) out = out.where('cases.customer_id', '=', f.customerId);
  if (f.serviceId !== undefined) out = out.where('cases.service_id', '=', f.serviceId);
  if (f.assignedTo) out = out.where('cases.assigned_to', '=', f.assignedTo);
  if (f.dueBefore) out = out.where('cases.due_at', '<', f.dueBefore);
  if (search) {
    const { caseIds, customerIds, serviceIds } = search;
    if (caseIds.length + customerIds.length + serviceIds.length === 0) return out.where(sql<boolean>`false`);
    out = out.where((eb) =>
      eb.or([
        ...(caseIds.length > 0 ? [eb('cases.id', 'in', [...caseIds])] : []),
        ...(customerIds.length > 0 ? [eb('cases.customer_id', 'in', [...customerIds])] : []),
        ...(serviceIds.length > 0 ? [eb('cases.service_id', 'in', [...serviceIds])] : []),
      ]),
    );
  }
  return out;
}

function refIdOf(text: string): number | undefined {
  if (!/^(AUP-)?[0-9]{1,10}$/i.test(text)) return undefined;
  try {
    return caseIdFromRef(text);
  } catch {
    return undefined;
  }
}

function isIpLiteral(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split('.').every((p) => Number(p) <= 255);
  return text.includes(':') && /^[0-9a-f:]+$/i.test(text) && text.length <= 39;
}

export async function queueCases(db: Db, f: QueueFilter): Promise<QueuePage> {
  const pageSize = Math.min(Math.max(f.pageSize ?? 50, 1), 200);
  const page = Math.max(f.page ?? 1, 1);
  const direction = f.direction ?? (f.sort === 'due' ? 'asc' : 'desc');
  const search = f.search?.trim() ? await resolveSearch(db, f.search) : undefined;
  const base = applyFilter(db.selectFrom('cases') as CasesQuery, f, search);
  // Counting stops at COUNT_CAP: past that the exact number is not worth a scan of every case per page view.
  const countRow = await db
    .selectFrom(
      base
        .select(sql<number>`1`.as('one'))
        .limit(COUNT_CAP + 1)
        .as('matching'),
    )
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirst();
  const counted = Number(countRow?.n ?? 0);
  const total = Math.min(counted, COUNT_CAP);
  let q = base.select([
    'cases.id',
    'cases.ref',
    'cases.status',
    'cases.clause_id',
    'cases.customer_id',
    'cases.customer_ref',
    'cases.service_id',
    'cases.service_ref',
    'cases.severity',
    'cases.opened_at',
    'cases.last_event_at',
    'cases.due_at',
    'cases.assigned_to',
    'cases.merged_into',
    'cases.repeat_count',
  ]);
  switch (f.sort ?? 'id') {
    case 'due':
      q = q.orderBy(sql`cases.due_at ${sql.raw(direction)} nulls last`);
      break;
    case 'opened':
      q = q.orderBy('cases.opened_at', direction);
      break;
    case 'last-event':
      q = q.orderBy('cases.last_event_at', direction);
      break;
    case 'severity':
      q = q.orderBy(SEVERITY_RANK, direction);
      break;
    case 'status':
      q = q.orderBy('cases.status', direction);
      break;
    case 'customer':
      q = q.orderBy('cases.customer_ref', direction);
      break;
    default:
      break;
  }
  q = q.orderBy('cases.id', direction);
  const rows = await q
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  const ids = rows.map((r) => r.id);
  const counts = new Map<number, number>();
  if (ids.length > 0) {
    const eventRows = await db
      .selectFrom('case_events')
      .select(['case_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('case_id', 'in', ids)
      .groupBy('case_id')
      .execute();
    for (const r of eventRows) if (r.case_id !== null) counts.set(r.case_id, Number(r.n));
  }
  return {
    rows: rows.map((r) => ({
      id: r.id,
      ref: r.ref ?? caseRefOf(r.id),
      status: r.status as CaseStatus,
      clauseId: r.clause_id,
      customerId: r.customer_id,
      customerRef: r.customer_ref,
      serviceId: r.service_id,
      serviceRef: r.service_ref,
      severity: r.severity,
      openedAt: r.opened_at,
      lastEventAt: r.last_event_at,
      dueAt: r.due_at,
      assignedTo: r.assigned_to,
      mergedInto: r.merged_into,
      repeatCount: r.repeat_count,
      eventCount: counts.get(r.id) ?? 0,
    })),
    total,
    totalCapped: counted > COUNT_CAP,
    page,
    pageSize,
    pages: Math.max(1, Math.ceil(total / pageSize)),
  };
}

/** Case counts by status (merged-away cases left out): the queue's filter labels and the dashboard. */
export async function caseCountsByStatus(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('cases')
    .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
    .where('merged_into', 'is', null)
    .groupBy('status')
    .execute();
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

/** Reports from reporters: the reports table carries the reporter as parsed (`reporter.email`). */
export interface ReporterActivity {
  readonly email: string;
  readonly name: string | null;
  readonly reports: number;
  readonly lastAt: Date;
}

export async function topReporters(db: Db, since: Date, limit = 50): Promise<ReporterActivity[]> {
  const rows = await db
    .selectFrom('reports')
    .select([
      sql<string>`lower(reporter->>'email')`.as('email'),
      sql<string | null>`max(reporter->>'name')`.as('name'),
      (eb) => eb.fn.countAll<string | number>().as('n'),
      (eb) => eb.fn.max('received_at').as('last_at'),
    ])
    .where('received_at', '>=', since)
    .where(sql<boolean>`reporter->>'email' is not null`)
    .groupBy(sql`lower(reporter->>'email')`)
    .orderBy(sql`count(*)`, 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    email: r.email,
    name: r.name,
    reports: Number(r.n),
    lastAt: new Date(r.last_at),
  }));
}

export interface ReporterReport {
  readonly id: number;
  readonly receivedAt: Date;
  readonly channel: string;
  readonly format: string;
  readonly subject: string | null;
  readonly status: string;
  readonly disposition: string;
  readonly caseRefs: string[];
}

/** One reporter's reports, newest first, with the cases their events joined. */
export async function reportsOfReporter(db: Db, email: string, limit = 100): Promise<ReporterReport[]> {
  const rows = await db
    .selectFrom('reports')
    .select(['id', 'received_at', 'channel', 'format', 'subject', 'status', 'disposition'])
    .where(sql<string>`lower(reporter->>'email')`, '=', email.toLowerCase())
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const refs = new Map<number, string[]>();
  if (rows.length > 0) {
    const links = await db
      .selectFrom('case_events')
      .select(['report_id', 'case_id'])
      .where(
        'report_id',
        'in',
        rows.map((r) => r.id),
      )
      .where('case_id', 'is not', null)
      .groupBy(['report_id', 'case_id'])
      .execute();
    for (const l of links) {
      if (l.case_id === null) continue;
      const list = refs.get(l.report_id) ?? [];
      list.push(caseRefOf(l.case_id));
      refs.set(l.report_id, list);
    }
  }
  return rows.map((r) => ({
    id: r.id,
    receivedAt: r.received_at,
    channel: r.channel,
    format: r.format,
    subject: r.subject,
    status: r.status,
    disposition: r.disposition,
    caseRefs: refs.get(r.id) ?? [],
  }));
}

/** The reports whose events make up a case (the evidence list of the case page), oldest first. */
export async function reportIdsOfCase(db: Db, caseId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('case_events')
    .select('report_id')
    .where('case_id', '=', caseId)
    .groupBy('report_id')
    .orderBy('report_id')
    .execute();
  return rows.map((r) => r.report_id);
}

/** Whether a report is evidence of a case (a download is allowed only for the case's own reports). */
export async function reportBelongsToCase(db: Db, reportId: number, caseId: number): Promise<boolean> {
  const row = await db
    .selectFrom('case_events')
    .select('id')
    .where('report_id', '=', reportId)
    .where('case_id', '=', caseId)
    .limit(1)
    .executeTakeFirst();
  if (row) return true;
  const reply = await db
    .selectFrom('case_messages')
    .select('id')
    .where('report_id', '=', reportId)
    .where('case_id', '=', caseId)
    .limit(1)
    .executeTakeFirst();
  return reply !== undefined;
}
