import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The audit head may advance by a batch: the pipeline appends a report's entries in one statement
 * (`appendAuditBatch`) and moves the head once, to the last. The head still only moves forward and is never
 * deleted; a head moved past the entries that exist shows in `audit verify` as missing entries, as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function audit_head_advance_only() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'UPDATE' or new.seq <= old.seq then
        raise exception 'audit_head only advances (% refused)', tg_op using errcode = '55000';
      end if;
      return new;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function audit_head_advance_only() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'UPDATE' or new.seq <> old.seq + 1 then
        raise exception 'audit_head only advances by one entry (% refused)', tg_op using errcode = '55000';
      end if;
      return new;
    end $$`.execute(db);
}
