import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Privacy requests (compliance/privacy-request-repository.ts): a request to delete a minor's personal data
 * (INFINCE, "Collection and Use of Children's Personal Information") or a data-breach notification the
 * provider made (INFINCE: "We will notify you and any applicable regulator"), each tracked to completion.
 * Licence certifications (compliance/licence-certification-repository.ts, Secure Packet §6): a request to
 * a customer to certify its licences, with a deadline; a fee is recorded for each request left unanswered.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('privacy_requests')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz')
    .addColumn('requester_name', 'text')
    .addColumn('requester_email', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('evidence_sha256', 'text')
    .addColumn('affected_notified_at', 'timestamptz')
    .addColumn('regulator_notified_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('completed_by', 'text')
    .addColumn('completion_note', 'text')
    .addCheckConstraint('privacy_requests_kind_check', sql`kind in ('child-data-deletion', 'breach')`)
    .addCheckConstraint('privacy_requests_status_check', sql`status in ('open', 'completed')`)
    .execute();
  await sql`create index privacy_requests_open_idx on privacy_requests (due_at) where status = 'open'`.execute(
    db,
  );
  await db.schema
    .createTable('licence_certifications')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('certified_at', 'timestamptz')
    .addColumn('certified_by', 'text')
    .addColumn('statement', 'text')
    .addColumn('fee_amount', 'numeric(14, 2)', (c) => c.notNull().check(sql`fee_amount > 0`))
    .addColumn('fee_currency', 'text', (c) => c.notNull().check(sql`fee_currency ~ '^[A-Z]{3}$'`))
    .addColumn('fee_every_days', 'integer', (c) => c.notNull().check(sql`fee_every_days between 1 and 366`))
    .addColumn('fees_queued', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('licence_certifications').ifExists().execute();
  await db.schema.dropTable('privacy_requests').ifExists().execute();
}
