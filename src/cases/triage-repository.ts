import { type Kysely, sql, type Transaction } from 'kysely';
import { failedInboxItems } from '../intake/inbox/inbox-query.js';
import type { Database } from '../store/schema.js';
import type { TriageReason, TriageResolution } from '../store/tables/triage.table.js';

/**
 * The triage queue (table `triage_items`): what opened no case and waits for a person. The pipeline adds
 * items in the report's transaction (one per report and reason); failed intake items are taken in from the
 * inbox by `recordFailedIntake`; the analyst's commands (src/enforcement/commands/triage-*.ts) resolve them.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface NewTriageItem {
  readonly reportId?: number | null;
  readonly inboxId?: string | null;
  readonly inboxFailedAt?: Date | null;
  readonly reason: TriageReason;
  readonly detail: string;
  readonly eventIds?: readonly number[];
  readonly bestGuess?: string | null;
  readonly customerId?: number | null;
  readonly serviceId?: number | null;
  readonly channel: string;
  readonly receivedAt: Date;
  readonly at: Date;
}

export interface TriageItem {
  readonly id: number;
  readonly reportId: number | null;
  readonly inboxId: string | null;
  readonly reason: TriageReason;
  readonly detail: string;
  readonly eventIds: readonly number[];
  readonly bestGuess: string | null;
  readonly customerId: number | null;
  readonly serviceId: number | null;
  readonly channel: string;
  readonly receivedAt: Date;
  readonly status: 'open' | 'resolved';
  readonly resolution: TriageResolution | null;
  readonly resolvedBy: string | null;
  readonly resolvedAt: Date | null;
  readonly caseId: number | null;
  readonly note: string | null;
  readonly createdAt: Date;
}

/** Adds an item; a second one for the same report and reason (or inbox item) is ignored. Returns its id. */
export async function addTriageItem(db: Db, item: NewTriageItem): Promise<number | undefined> {
  const row = await db
    .insertInto('triage_items')
    .values(triageRowOf(item))
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/**
 * Adds a report's item for a reason, or — a report processed in segments, whose later segments add events
 * to the reason an earlier one opened — appends the events to it and replaces its detail (which counts them).
 */
export async function addOrExtendTriageItem(
  db: Db,
  item: NewTriageItem & { readonly reportId: number },
): Promise<void> {
  await db
    .insertInto('triage_items')
    .values(triageRowOf(item))
    .onConflict((oc) =>
      oc.columns(['report_id', 'reason']).doUpdateSet({
        event_ids: sql`triage_items.event_ids || excluded.event_ids`,
        detail: (eb) => eb.ref('excluded.detail'),
      }),
    )
    .execute();
}

function triageRowOf(item: NewTriageItem) {
  return {
    report_id: item.reportId ?? null,
    inbox_id: item.inboxId ?? null,
    inbox_failed_at: item.inboxFailedAt ?? null,
    reason: item.reason,
    detail: item.detail.slice(0, 2000),
    event_ids: JSON.stringify(item.eventIds ?? []),
    best_guess: item.bestGuess ?? null,
    customer_id: item.customerId ?? null,
    service_id: item.serviceId ?? null,
    channel: item.channel,
    received_at: item.receivedAt,
    created_at: item.at,
  };
}

type Row = {
  id: number;
  report_id: number | null;
  inbox_id: string | null;
  inbox_failed_at: Date | null;
  reason: TriageReason;
  detail: string;
  event_ids: unknown;
  best_guess: string | null;
  customer_id: number | null;
  service_id: number | null;
  channel: string;
  received_at: Date;
  status: 'open' | 'resolved';
  resolution: TriageResolution | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  case_id: number | null;
  note: string | null;
  created_at: Date;
};

function toItem(r: Row): TriageItem {
  return {
    id: r.id,
    reportId: r.report_id,
    inboxId: r.inbox_id === null ? null : String(r.inbox_id),
    reason: r.reason,
    detail: r.detail,
    eventIds: Array.isArray(r.event_ids) ? (r.event_ids as number[]) : [],
    bestGuess: r.best_guess,
    customerId: r.customer_id,
    serviceId: r.service_id,
    channel: r.channel,
    receivedAt: r.received_at,
    status: r.status,
    resolution: r.resolution,
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at,
    caseId: r.case_id,
    note: r.note,
    createdAt: r.created_at,
  };
}

export interface TriageFilter {
  readonly status?: 'open' | 'resolved' | 'all';
  readonly reason?: TriageReason | undefined;
  /** Keyset: items after this one in the queue order (received_at, id). */
  readonly after?: { receivedAt: Date; id: number } | undefined;
  readonly limit: number;
}

/** The queue, oldest first (by when the report was received). */
export async function listTriageItems(db: Db, filter: TriageFilter): Promise<TriageItem[]> {
  let q = db.selectFrom('triage_items').selectAll();
  const status = filter.status ?? 'open';
  if (status !== 'all') q = q.where('status', '=', status);
  if (filter.reason) q = q.where('reason', '=', filter.reason);
  if (filter.after) {
    const { receivedAt, id } = filter.after;
    q = q.where((eb) =>
      eb.or([
        eb('received_at', '>', receivedAt),
        eb.and([eb('received_at', '=', receivedAt), eb('id', '>', id)]),
      ]),
    );
  }
  const rows = await q.orderBy('received_at').orderBy('id').limit(filter.limit).execute();
  return rows.map(toItem);
}

export async function getTriageItem(
  db: Db,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<TriageItem | undefined> {
  let q = db.selectFrom('triage_items').selectAll().where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toItem(row) : undefined;
}

/** The open items of these reports (the reports API shows them). */
export async function triageOfReports(
  db: Db,
  reportIds: readonly number[],
): Promise<Map<number, TriageItem[]>> {
  const out = new Map<number, TriageItem[]>();
  if (reportIds.length === 0) return out;
  const rows = await db
    .selectFrom('triage_items')
    .selectAll()
    .where('report_id', 'in', [...new Set(reportIds)])
    .orderBy('id')
    .execute();
  for (const r of rows) {
    const list = out.get(r.report_id!) ?? [];
    list.push(toItem(r));
    out.set(r.report_id!, list);
  }
  return out;
}

export async function resolveTriageItem(
  trx: Transaction<Database>,
  id: number,
  resolution: {
    resolution: TriageResolution;
    by: string;
    at: Date;
    caseId?: number | null;
    note?: string | null;
  },
): Promise<void> {
  await trx
    .updateTable('triage_items')
    .set({
      status: 'resolved',
      resolution: resolution.resolution,
      resolved_by: resolution.by,
      resolved_at: resolution.at,
      case_id: resolution.caseId ?? null,
      note: resolution.note ?? null,
    })
    .where('id', '=', id)
    .execute();
}

export interface TriageStats {
  readonly open: number;
  readonly byReason: Readonly<Record<string, number>>;
  /** When the oldest open item's report was received; null when the queue is empty. */
  readonly oldestReceivedAt: Date | null;
}

/** Count and age of the open queue (dashboard and /metrics). Uses the partial index of open items. */
export async function triageStats(db: Db): Promise<TriageStats> {
  const rows = await db
    .selectFrom('triage_items')
    .select(['reason', sql<string>`count(*)`.as('n'), sql<Date | null>`min(received_at)`.as('oldest')])
    .where('status', '=', 'open')
    .groupBy('reason')
    .execute();
  const byReason: Record<string, number> = {};
  let open = 0;
  let oldest: Date | null = null;
  for (const r of rows) {
    const n = Number(r.n);
    byReason[r.reason] = n;
    open += n;
    const at = r.oldest === null ? null : new Date(r.oldest);
    if (at && (oldest === null || at < oldest)) oldest = at;
  }
  return { open, byReason, oldestReceivedAt: oldest };
}

/**
 * Takes the intake items that failed (processing failed five times; they have no report row) into the
 * queue: each failure once, a retried item that fails again anew. Idempotent; called by the inbox worker
 * after a round with failures and by the queue's readers, so no failure waits for a particular process.
 */
export async function recordFailedIntake(db: Kysely<Database>, at: Date): Promise<number> {
  const since = await db
    .selectFrom('triage_items')
    .select(sql<Date | null>`max(inbox_failed_at)`.as('last'))
    .executeTakeFirst();
  const failed = await failedInboxItems(db, since?.last ? new Date(since.last) : undefined);
  let added = 0;
  for (const f of failed) {
    const id = await addTriageItem(db, {
      inboxId: f.id,
      inboxFailedAt: f.failedAt,
      reason: 'failed',
      detail: f.error ?? 'processing failed',
      channel: f.channel,
      receivedAt: f.receivedAt,
      at,
    });
    if (id !== undefined) added += 1;
  }
  return added;
}
