import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/** Legal information requests (subpoenas, court orders, …) and the disclosure log. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('legal_requests')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('provider_id', 'text')
    .addColumn('policy_version', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('evidence_sha256', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('requester', 'jsonb', (c) => c.notNull())
    .addColumn('authority', 'text')
    .addColumn('matter', 'jsonb')
    .addColumn('asks', 'jsonb', (c) => c.notNull())
    .addColumn('deadline_at', 'timestamptz')
    .addColumn('customer_ref', 'text')
    .addColumn('nondisclosure_order', 'text')
    .addColumn('estimated_hours', 'double precision', (c) => c.notNull().check(sql`estimated_hours >= 0`))
    .addColumn('assessment', 'jsonb')
    .addColumn('billed_hours', 'double precision')
    .addColumn('billed_amount', 'double precision')
    .addColumn('billed_at', 'timestamptz')
    .addColumn('customer_notified_at', 'timestamptz')
    .addColumn('body', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('legal_requests_status_idx')
    .on('legal_requests')
    .columns(['status', 'id'])
    .execute();
  await db.schema
    .createTable('legal_disclosures')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('request_id', 'integer', (c) => c.notNull().references('legal_requests.id'))
    .addColumn('what', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('disclosed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('customer_told', 'boolean', (c) => c.notNull())
    .addColumn('customer_told_at', 'timestamptz')
    .addColumn('forbidding_order', 'text')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('legal_disclosures_request_idx')
    .on('legal_disclosures')
    .column('request_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('legal_disclosures').ifExists().execute();
  await db.schema.dropTable('legal_requests').ifExists().execute();
}
