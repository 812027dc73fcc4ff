import { type Kysely, sql } from 'kysely';

/**
 * Indexes for the analyst console at 100,000+ cases: the queue sorted or filtered by due time and by opening
 * time, the dashboard's day windows over events, and a reporter's reports by address.
 */

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('cases_due_idx')
    .on('cases')
    .columns(['due_at', 'id'])
    .where(sql<boolean>`merged_into is null`)
    .execute();
  await db.schema.createIndex('cases_opened_idx').on('cases').columns(['opened_at', 'id']).execute();
  await db.schema.createIndex('case_events_created_idx').on('case_events').column('created_at').execute();
  await sql`create index reports_reporter_email_idx on reports (lower(reporter->>'email'), received_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists reports_reporter_email_idx`.execute(db);
  await db.schema.dropIndex('case_events_created_idx').ifExists().execute();
  await db.schema.dropIndex('cases_opened_idx').ifExists().execute();
  await db.schema.dropIndex('cases_due_idx').ifExists().execute();
}
