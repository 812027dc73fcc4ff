import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Inbox kind `authorised`: a flow detection inside a recorded pen-test authorisation. Its evidence is kept
 * and the item recorded like a bounce or a loop, but it is never processed as a complaint (no case).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table intake_inbox drop constraint if exists intake_inbox_kind_check`.execute(db);
  await sql`alter table intake_inbox add constraint intake_inbox_kind_check
    check (kind in ('complaint', 'bounce', 'loop', 'authorised'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table intake_inbox drop constraint if exists intake_inbox_kind_check`.execute(db);
  await sql`alter table intake_inbox add constraint intake_inbox_kind_check
    check (kind in ('complaint', 'bounce', 'loop'))`.execute(db);
}
