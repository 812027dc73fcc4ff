import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Mail that threads to a case but is not an authenticated reply of the customer (wrong sender, or no valid
 * per-case reply token) is kept on the case as a `third-party` message and the report's disposition is
 * `third-party-reply`: shown to analysts as such, never to the customer as theirs, changing no state.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table case_messages drop constraint if exists case_messages_kind_check`.execute(db);
  await sql`alter table case_messages add constraint case_messages_kind_check
    check (kind in ('notice', 'ack', 'reply', 'reporter-reply', 'auto-reply', 'third-party'))`.execute(db);
  await sql`alter table reports drop constraint if exists reports_disposition_check`.execute(db);
  await sql`alter table reports add constraint reports_disposition_check
    check (disposition in ('events', 'customer-reply', 'reporter-reply', 'auto-reply', 'third-party-reply', 'unparsed'))`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table case_messages drop constraint if exists case_messages_kind_check`.execute(db);
  await sql`alter table case_messages add constraint case_messages_kind_check
    check (kind in ('notice', 'ack', 'reply', 'reporter-reply', 'auto-reply'))`.execute(db);
  await sql`alter table reports drop constraint if exists reports_disposition_check`.execute(db);
  await sql`alter table reports add constraint reports_disposition_check
    check (disposition in ('events', 'customer-reply', 'reporter-reply', 'auto-reply', 'unparsed'))`.execute(
    db,
  );
}
