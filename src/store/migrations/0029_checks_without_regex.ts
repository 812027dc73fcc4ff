import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The same CHECK constraints, written without a regular expression, on the rows the report pipeline writes
 * most: `audit_log.hash` and `prev_hash` (two checks on each of the ~5 entries per event),
 * `case_events.fingerprint`, and `cases.ref` (checked again on every update of a case). A
 * `~ '^[0-9a-f]{64}$'` cost about 8.5 µs per row on the embedded store (its regex engine in WebAssembly,
 * measured on 100,000 rows: 850 ms of CPU), a dozen of them a tenth of the pipeline's time per event;
 * `length(x) = 64 and ltrim(x, '0123456789abcdef') = ''` accepts exactly the same strings (64 characters,
 * each a lower-case hex digit) at about 1.5 µs. Likewise `^AUP-[0-9]{6,}$`: the prefix, at least six
 * characters after it, and nothing but digits there.
 *
 * The rows already there satisfied the old check, so they satisfy the new one: each constraint is added
 * NOT VALID (no scan of the table under its ACCESS EXCLUSIVE lock) and then validated (a scan under a lock
 * that lets the desk go on writing).
 */

const HEX_64 = {
  before: (column: string) => `${column} ~ '^[0-9a-f]{64}$'`,
  after: (column: string) => `length(${column}) = 64 and ltrim(${column}, '0123456789abcdef') = ''`,
};

const CASE_REF = {
  before: (column: string) => `${column} ~ '^AUP-[0-9]{6,}$'`,
  after: (column: string) =>
    `left(${column}, 4) = 'AUP-' and length(${column}) >= 10 and ltrim(substr(${column}, 5), '0123456789') = ''`,
};

const CHECKS = [
  { table: 'audit_log', column: 'prev_hash', name: 'audit_log_prev_hash_check', check: HEX_64 },
  { table: 'audit_log', column: 'hash', name: 'audit_log_hash_check', check: HEX_64 },
  { table: 'case_events', column: 'fingerprint', name: 'case_events_fingerprint_check', check: HEX_64 },
  { table: 'cases', column: 'ref', name: 'cases_ref_check', check: CASE_REF },
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const c of CHECKS) {
    await sql`alter table ${sql.table(c.table)} drop constraint ${sql.ref(c.name)},
      add constraint ${sql.ref(c.name)} check (${sql.raw(c.check.after(c.column))}) not valid`.execute(db);
    await sql`alter table ${sql.table(c.table)} validate constraint ${sql.ref(c.name)}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of CHECKS) {
    await sql`alter table ${sql.table(c.table)} drop constraint ${sql.ref(c.name)},
      add constraint ${sql.ref(c.name)} check (${sql.raw(c.check.before(c.column))})`.execute(db);
  }
}
