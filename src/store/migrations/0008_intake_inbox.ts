import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The durable intake inbox: one row per received item, written in the same transaction that makes the
 * channel's acknowledgement (SMTP `250`, HTTP `202`) truthful. The raw bytes live in the evidence store
 * under `evidence_sha256`; the row says how they came (channel, route, envelope) and how far processing got.
 *
 * - `(channel, evidence_sha256)` is unique: identical bytes on the same channel are one item (an SMTP client
 *   retrying after a lost `250`, an IMAP message re-read after a crash before the move, a file ingested
 *   twice).
 * - `status`: `pending` until processed once; `done` when parsed (and handed to the pipeline) in one
 *   transaction; `failed` when the evidence could not be read or processing kept failing (kept for an
 *   analyst, never deleted). A claim is a lease (`claimed_by`, `claimed_until`, `attempts`): a worker that
 *   dies leaves the row pending and another takes it once the lease runs out.
 * - `kind`: `complaint`, or `bounce` / `loop` (recorded, not treated as complaints).
 * - `report_status` / `report_format` / `event_count` / `parse_errors`: what parsing found (an unparsed
 *   report keeps its reasons here), `report_id` the pipeline's report when it ran.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('intake_inbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('evidence_sha256', 'text', (c) => c.notNull().check(sql`evidence_sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('size', 'bigint', (c) => c.notNull().check(sql`size >= 0`))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.check(sql`route ~ '^[a-z][a-z0-9-]{0,39}$'`))
    .addColumn('kind', 'text', (c) =>
      c.notNull().defaultTo('complaint').check(sql`kind in ('complaint', 'bounce', 'loop')`),
    )
    .addColumn('file_name', 'text')
    .addColumn('content_type', 'text')
    .addColumn('envelope', 'jsonb')
    .addColumn('message_id', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'done', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('report_status', 'text', (c) =>
      c.check(sql`report_status in ('parsed', 'partial', 'unparsed')`),
    )
    .addColumn('report_format', 'text')
    .addColumn('event_count', 'integer')
    .addColumn('parse_errors', 'jsonb')
    .addColumn('report_id', 'integer')
    .addColumn('outcome', 'jsonb')
    .addColumn('processed_at', 'timestamptz')
    .addUniqueConstraint('intake_inbox_channel_evidence_key', ['channel', 'evidence_sha256'])
    .addCheckConstraint('intake_inbox_done_processed', sql`(status = 'pending') = (processed_at is null)`)
    .execute();
  // The claim's scan: pending rows oldest first.
  await db.schema
    .createIndex('intake_inbox_pending_idx')
    .on('intake_inbox')
    .columns(['received_at', 'id'])
    .where(sql<boolean>`status = 'pending'`)
    .execute();
  await db.schema
    .createIndex('intake_inbox_message_id_idx')
    .on('intake_inbox')
    .column('message_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('intake_inbox').execute();
}
