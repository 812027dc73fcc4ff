import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * DMCA notices and counter-notices (one table: a counter-notice points at its notice) and the repeat-infringer
 * strikes (512(i)). Elements, works and URLs are jsonb: they are read whole and exported in Lumen's fields.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dmca_notices')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('notice', 'counter-notice')`))
    .addColumn('provider_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('evidence_sha256', 'text')
    .addColumn('inbox_id', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('sender', 'jsonb', (c) => c.notNull())
    .addColumn('principal', 'text')
    .addColumn('elements', 'jsonb', (c) => c.notNull())
    .addColumn('missing', 'jsonb', (c) => c.notNull())
    .addColumn('works', 'jsonb', (c) => c.notNull())
    .addColumn('urls', 'jsonb', (c) => c.notNull())
    .addColumn('copyrighted_urls', 'jsonb', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text')
    .addColumn('service_ref', 'text')
    .addColumn('case_refs', 'jsonb', (c) => c.notNull())
    .addColumn('notice_id', 'integer', (c) => c.references('dmca_notices.id'))
    .addColumn('deadline_at', 'timestamptz')
    .addColumn('restore_earliest', 'text')
    .addColumn('restore_latest', 'text')
    .addColumn('suit_reported_at', 'timestamptz')
    .addColumn('suit_details', 'text')
    .addColumn('removed_at', 'timestamptz')
    .addColumn('restored_at', 'timestamptz')
    .addColumn('action_taken', 'text', (c) => c.check(sql`action_taken in ('yes', 'no', 'partial')`))
    .addColumn('reason', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('dmca_notices_kind_idx')
    .on('dmca_notices')
    .columns(['kind', 'status', 'id'])
    .execute();
  await db.schema.createIndex('dmca_notices_notice_idx').on('dmca_notices').column('notice_id').execute();
  await db.schema.createIndex('dmca_notices_inbox_idx').on('dmca_notices').column('inbox_id').execute();
  await db.schema
    .createTable('dmca_strikes')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('notice_id', 'integer', (c) => c.notNull().references('dmca_notices.id'))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('withdrawn_at', 'timestamptz')
    .addColumn('withdrawn_reason', 'text')
    .addUniqueConstraint('dmca_strikes_customer_notice_key', ['customer_ref', 'notice_id'])
    .execute();
  await db.schema
    .createIndex('dmca_strikes_customer_idx')
    .on('dmca_strikes')
    .columns(['customer_ref', 'at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dmca_strikes').ifExists().execute();
  await db.schema.dropTable('dmca_notices').ifExists().execute();
}
