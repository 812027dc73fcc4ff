import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The audit log: append-only and hash-chained (src/audit/audit-log.ts documents the hash).
 *
 * - `seq` is assigned by the appender as head + 1 under the lock of the one-row `audit_head`, so it is
 *   gapless and in commit order; a missing seq is a removed entry.
 * - `audit_head` remembers the last seq and hash, so removing the newest entries shows too.
 * - A trigger refuses UPDATE, DELETE and TRUNCATE on `audit_log` and any change to `audit_head` that does not
 *   advance it by one: the application cannot rewrite history by mistake. The table owner can still drop
 *   the trigger; the hash chain is what shows that someone did.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey().check(sql`seq >= 1`))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull().check(sql`prev_hash ~ '^[0-9a-f]{64}$'`))
    .addColumn('hash', 'text', (c) => c.notNull().check(sql`hash ~ '^[0-9a-f]{64}$'`))
    .execute();
  await db.schema.createIndex('audit_log_subject_idx').on('audit_log').columns(['subject', 'seq']).execute();
  await db.schema.createIndex('audit_log_kind_idx').on('audit_log').columns(['kind', 'seq']).execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // The genesis head: no entries, and the all-zero hash the first entry chains to.
  await sql`insert into audit_head (id, seq, hash) values (1, 0, repeat('0', 64))`.execute(db);

  await sql`
    create function audit_log_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only (% refused)', tg_op using errcode = '55000';
    end $$`.execute(db);
  await sql`
    create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_refuse_change()`.execute(db);
  await sql`
    create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_refuse_change()`.execute(db);

  await sql`
    create function audit_head_advance_only() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'UPDATE' or new.seq <> old.seq + 1 then
        raise exception 'audit_head only advances by one entry (% refused)', tg_op using errcode = '55000';
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger audit_head_advance_only before update or delete on audit_head
    for each row execute function audit_head_advance_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_head').execute();
  await db.schema.dropTable('audit_log').execute();
  await sql`drop function if exists audit_head_advance_only()`.execute(db);
  await sql`drop function if exists audit_log_refuse_change()`.execute(db);
}
