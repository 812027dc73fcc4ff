import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * `intake_inbox.progress`: how far a report processed in segments has got. A feed report of a million rows
 * is worked off in transactions of a segment each (not one transaction for the whole report); each commits
 * its writes together with this cursor (the events consumed and the pipeline's running state), so a worker
 * that dies in the middle leaves the committed segments done and the next claim resumes after them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table intake_inbox add column progress jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table intake_inbox drop column progress`.execute(db);
}
