import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Vulnerability-test authorisations (compliance/, Secure Packet §5 "prior written consent"): which service
 * may test which targets in which window, on which written consent. A consent is revoked, never deleted,
 * so an event once judged `authorised` keeps the record it cited. Events a consent covers get the new
 * verdict `authorised` on their case_events row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('test_consents')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('targets', 'jsonb', (c) => c.notNull())
    .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_to', 'timestamptz', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .addCheckConstraint('test_consents_window_check', sql`valid_to > valid_from`)
    .execute();
  // One consent per service, reference and window: importing the same file twice adds nothing.
  await db.schema
    .createIndex('test_consents_identity_idx')
    .on('test_consents')
    .columns(['service_ref', 'reference', 'valid_from', 'valid_to'])
    .unique()
    .execute();
  await sql`alter table case_events drop constraint if exists case_events_verdict_check`.execute(db);
  await sql`alter table case_events add constraint case_events_verdict_check check (verdict in ('violation', 'no-clause', 'rejected-anonymous', 'too-old', 'not-ours', 'no-policy', 'low-confidence', 'role-unknown', 'victim-notice', 'legal-request', 'authorised'))`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table case_events drop constraint if exists case_events_verdict_check`.execute(db);
  await sql`alter table case_events add constraint case_events_verdict_check check (verdict in ('violation', 'no-clause', 'rejected-anonymous', 'too-old', 'not-ours', 'no-policy', 'low-confidence', 'role-unknown', 'victim-notice', 'legal-request'))`.execute(
    db,
  );
  await db.schema.dropTable('test_consents').ifExists().execute();
}
