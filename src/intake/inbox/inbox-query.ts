import type { Kysely, Transaction } from 'kysely';
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
    });
  }
  return result;
}
