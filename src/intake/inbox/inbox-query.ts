import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Read side of the intake inbox for the API: where a submitted item stands (pending, done, failed), what
 * parsing made of it and the report it became. The inbox itself (src/intake/inbox/inbox-accept.ts) writes.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface InboxItemStatus {
  readonly id: string;
  readonly evidenceSha256: string;
  readonly channel: string;
  readonly status: 'pending' | 'done' | 'failed';
  readonly receivedAt: Date;
  readonly processedAt: Date | null;
  readonly reportStatus: string | null;
  readonly reportFormat: string | null;
  readonly eventCount: number | null;
  readonly reportId: number | null;
  readonly parseErrors: unknown;
  /** The inbox route it came in on (`privacy`, `legal`, or null for the abuse desk). */
  readonly route: string | null;
  /** A workflow other than complaints that recorded it, with its reference (e.g. privacy PRIV-000001). */
  readonly recordedAs: { readonly workflow: string; readonly ref: string } | null;
}

/** The workflow and reference the inbox router wrote into the outcome (server/inbox-router.ts). */
function recordedAsOf(outcome: unknown): InboxItemStatus['recordedAs'] {
  if (outcome === null || typeof outcome !== 'object') return null;
  const { workflow, request } = outcome as { workflow?: unknown; request?: unknown };
  return typeof workflow === 'string' && typeof request === 'string' ? { workflow, ref: request } : null;
}

export async function inboxItemStatuses(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, InboxItemStatus>> {
  const wanted = ids.filter((id) => /^[0-9]{1,18}$/.test(id));
  const result = new Map<string, InboxItemStatus>();
  if (wanted.length === 0) return result;
  const rows = await db
    .selectFrom('intake_inbox')
    .select([
      'id',
      'evidence_sha256',
      'channel',
      'status',
      'received_at',
      'processed_at',
      'report_status',
      'report_format',
      'event_count',
      'report_id',
      'parse_errors',
      'route',
      'outcome',
    ])
    .where('id', 'in', [...new Set(wanted)])
    .execute();
  for (const r of rows) {
    result.set(String(r.id), {
      id: String(r.id),
      evidenceSha256: r.evidence_sha256,
      channel: r.channel,
      status: r.status,
      receivedAt: r.received_at,
      processedAt: r.processed_at,
      reportStatus: r.report_status,
      reportFormat: r.report_format,
      eventCount: r.event_count,
      reportId: r.report_id,
      parseErrors: r.parse_errors ?? [],
      route: r.route,
      recordedAs: recordedAsOf(r.outcome),
    });
  }
  return result;
}

export interface FailedInboxItem {
  readonly id: string;
  readonly channel: string;
  readonly receivedAt: Date;
  readonly failedAt: Date;
  readonly error: string | null;
}

/** Items the inbox gave up on (failed), those failed at or after `since` when given, oldest failure first. */
export async function failedInboxItems(db: Db, since?: Date): Promise<FailedInboxItem[]> {
  let q = db
    .selectFrom('intake_inbox')
    .select(['id', 'channel', 'received_at', 'processed_at', 'last_error'])
    .where('status', '=', 'failed');
  if (since) q = q.where('processed_at', '>=', since);
  const rows = await q.orderBy('processed_at').limit(1000).execute();
  return rows.map((r) => ({
    id: String(r.id),
    channel: r.channel,
    receivedAt: r.received_at,
    failedAt: r.processed_at ?? r.received_at,
    error: r.last_error,
  }));
}

/** One received complaint as the reports API lists it: the inbox row and what the pipeline made of it. */
export interface InboxReport extends InboxItemStatus {
  readonly contentType: string | null;
  readonly size: number;
  readonly lastError: string | null;
  /** What the report came to (the pipeline's `outcomes`; `failed` for a failed item). */
  readonly outcomes: readonly string[];
  /** Case references the report opened or joined. */
  readonly cases: readonly string[];
}

export interface InboxReportFilter {
  /** Only these inbox ids (a reporter's own submissions). */
  readonly ids?: readonly string[] | undefined;
  readonly outcome?: string | undefined;
  readonly channel?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  /** Keyset: items with a smaller id (newest first). */
  readonly beforeId?: string | undefined;
  readonly limit: number;
}

/**
 * Received complaints (not bounces or loops), newest first, filtered by outcome, channel and receipt time.
 * `outcome`: `failed` is the inbox's own status; every other outcome is one the pipeline recorded.
 */
export async function listInboxReports(db: Db, f: InboxReportFilter): Promise<InboxReport[]> {
  let q = db.selectFrom('intake_inbox').selectAll().where('kind', '=', 'complaint');
  if (f.ids !== undefined) {
    const ids = f.ids.filter((id) => /^[0-9]{1,18}$/.test(id));
    if (ids.length === 0) return [];
    q = q.where('id', 'in', ids);
  }
  if (f.outcome === 'failed') q = q.where('status', '=', 'failed');
  else if (f.outcome !== undefined)
    q = q.where(
      sql<boolean>`coalesce(outcome -> 'outcomes', '[]'::jsonb) @> jsonb_build_array(${f.outcome}::text)`,
    );
  if (f.channel !== undefined) q = q.where('channel', '=', f.channel);
  if (f.since !== undefined) q = q.where('received_at', '>=', f.since);
  if (f.until !== undefined) q = q.where('received_at', '<', f.until);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(f.limit).execute();
  return rows.map((r) => {
    const outcome = (r.outcome ?? {}) as { outcomes?: unknown; cases?: unknown };
    const strings = (v: unknown): string[] =>
      Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
    return {
      id: String(r.id),
      evidenceSha256: r.evidence_sha256,
      channel: r.channel,
      status: r.status,
      receivedAt: r.received_at,
      processedAt: r.processed_at,
      reportStatus: r.report_status,
      reportFormat: r.report_format,
      eventCount: r.event_count,
      reportId: r.report_id,
      parseErrors: r.parse_errors ?? [],
      route: r.route,
      recordedAs: recordedAsOf(r.outcome),
      contentType: r.content_type,
      size: Number(r.size),
      lastError: r.last_error,
      outcomes: r.status === 'failed' ? ['failed'] : strings(outcome.outcomes),
      cases: strings(outcome.cases),
    };
  });
}
