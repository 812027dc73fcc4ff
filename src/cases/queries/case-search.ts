import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import { caseRefOf } from '../case-ref.js';
import type { CaseSummary } from '../case-repository.js';
import type { CaseStatus } from '../case-state.js';

/**
 * Filtered, paged case lists for the API and the console. Newest first, keyset-paged by id (a page never
 * shifts as cases open), using the status and customer indexes of migration 0006. Merged-away cases are
 * left out: their events live on in the case they were merged into.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface CaseSearch {
  readonly statuses?: readonly CaseStatus[];
  readonly clauseId?: string;
  /** Registry customer id (what a customer principal is bound to). */
  readonly customerId?: number;
  readonly customerRef?: string;
  readonly serviceRef?: string;
  /** Only cases with a next step due before this time. */
  readonly dueBefore?: Date;
  /** Keyset cursor: only cases with a smaller id. */
  readonly beforeId?: number;
  readonly limit: number;
}

export interface CasePage {
  readonly items: CaseSummary[];
  /** Pass as `beforeId` for the next page; null on the last. */
  readonly nextBeforeId: number | null;
}

export async function searchCases(db: Db, s: CaseSearch): Promise<CasePage> {
  let q = db
    .selectFrom('cases')
    .select([
      'id',
      'ref',
      'status',
      'clause_id',
      'customer_ref',
      'service_ref',
      'severity',
      'opened_at',
      'last_event_at',
      'due_at',
      'assigned_to',
      'merged_into',
      'repeat_count',
    ])
    .where('merged_into', 'is', null)
    .orderBy('id', 'desc')
    .limit(s.limit + 1);
  if (s.statuses && s.statuses.length > 0) q = q.where('status', 'in', [...s.statuses]);
  if (s.clauseId !== undefined) q = q.where('clause_id', '=', s.clauseId);
  if (s.customerId !== undefined) q = q.where('customer_id', '=', s.customerId);
  if (s.customerRef !== undefined) q = q.where('customer_ref', '=', s.customerRef);
  if (s.serviceRef !== undefined) q = q.where('service_ref', '=', s.serviceRef);
  if (s.dueBefore !== undefined) q = q.where('due_at', '<', s.dueBefore);
  if (s.beforeId !== undefined) q = q.where('id', '<', s.beforeId);
  const rows = await q.execute();
  const items: CaseSummary[] = rows.slice(0, s.limit).map((r) => ({
    id: r.id,
    ref: r.ref ?? caseRefOf(r.id),
    status: r.status as CaseStatus,
    clauseId: r.clause_id,
    customerRef: r.customer_ref,
    serviceRef: r.service_ref,
    severity: r.severity,
    openedAt: r.opened_at,
    lastEventAt: r.last_event_at,
    dueAt: r.due_at,
    assignedTo: r.assigned_to,
    mergedInto: r.merged_into,
    repeatCount: r.repeat_count,
  }));
  return { items, nextBeforeId: rows.length > s.limit ? (items.at(-1)?.id ?? null) : null };
}

/** The cases each report's events joined (report id → case refs), for "what became of my report". */
export async function caseRefsOfReports(
  db: Db,
  reportIds: readonly number[],
): Promise<Map<number, string[]>> {
  const result = new Map<number, string[]>();
  if (reportIds.length === 0) return result;
  const rows = await db
    .selectFrom('case_events')
    .innerJoin('cases', 'cases.id', 'case_events.case_id')
    .select(['case_events.report_id', 'cases.id', 'cases.ref'])
    .where('case_events.report_id', 'in', [...new Set(reportIds)])
    .groupBy(['case_events.report_id', 'cases.id', 'cases.ref'])
    .orderBy('cases.id')
    .execute();
  for (const r of rows) {
    const list = result.get(r.report_id) ?? [];
    list.push(r.ref ?? caseRefOf(r.id));
    result.set(r.report_id, list);
  }
  return result;
}
