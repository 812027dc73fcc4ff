import { readFile } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { openEmbeddedDatabase, openStore, type Store } from '../../src/store/database.js';
import type { PgliteTemplate } from './pglite-template-build.js';

/**
 * Test-side use of the migrated PGlite template (built once per run, pglite-template-build.ts): in-memory
 * stores load its dump. (New on-disk stores are copied from it by openStore itself, through
 * AUPDESK_PGLITE_TEMPLATE, which the global setup sets for every test process and its children.)
 *
 * In-memory stores are also reused within a test process. Starting PostgreSQL in WebAssembly and loading
 * the dump costs about half a second of wall time and 0.7-1.5 s of CPU an open; the suite opened 77 of
 * them (91 s of CPU on a two-core machine). A closed store's database is instead reset to the template's
 * state, about 90 ms, and lent to the next store: every table emptied with its identities restarted, the
 * template's rows put back, the planner's statistics dropped, the session's settings, locks, temporary
 * tables and prepared plans discarded. A database whose schema a test changed (a disabled trigger, a new
 * default, a loosened constraint, a dropped index) is closed instead, which the schema fingerprint below
 * detects; so is one closed with a transaction open.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: PgliteTemplate | null;
  }
}

let dumpBlob: Promise<Blob | undefined> | undefined;

/** The template's dump, read once per test process; undefined outside vitest's global setup. */
function templateDump(): Promise<Blob | undefined> {
  dumpBlob ??= (async () => {
    const template = inject('pgliteTemplate');
    if (!template) return undefined;
    return new Blob([new Uint8Array(await readFile(template.dumpFile))]);
  })();
  return dumpBlob;
}

/** An in-memory database as the template left it, and what resetting it back needs. */
interface TemplateDatabase {
  readonly pglite: PGlite;
  /** Every table of the schema, emptied by a reset. */
  readonly tables: readonly string[];
  /** The rows the template holds (migration bookkeeping, the audit chain's head), as JSON by table. */
  readonly rows: ReadonlyMap<string, string>;
  /** The schema's fingerprint (schemaFingerprint) as the template has it. */
  readonly fingerprint: string;
}

/** Databases closed and reset, ready to lend; a few per process, the rest closed. */
const idle: TemplateDatabase[] = [];
const MAX_IDLE = 2;

/** An in-memory embedded store, migrated: a reset database from an earlier test, or loaded from the template. */
export async function openMemoryStore(): Promise<Store> {
  const database = idle.pop() ?? (await loadTemplateDatabase());
  let store: Store;
  try {
    store = await openStore({ pgliteLent: database.pglite });
  } catch (error) {
    await database.pglite.close().catch(() => undefined);
    throw error;
  }
  let closed = false;
  return {
    ...store,
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
      await giveBack(database);
    },
  };
}

async function loadTemplateDatabase(): Promise<TemplateDatabase> {
  const dump = await templateDump();
  if (!dump) {
    // Outside vitest's global setup: migrate a fresh database once, and reset it like any other.
    const pglite = await openEmbeddedDatabase('memory://');
    const store = await openStore({ pgliteLent: pglite });
    await store.close();
    return describeTemplate(pglite);
  }
  return describeTemplate(await openEmbeddedDatabase('memory://', dump));
}

async function describeTemplate(pglite: PGlite): Promise<TemplateDatabase> {
  const tables = (
    await pglite.query<{ name: string }>(
      `select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() order by 1`,
    )
  ).rows.map((r) => r.name);
  const contents = await pglite.query<{ name: string; rows: string | null }>(
    tables
      .map((t) => `select '${t}' as name, (select json_agg(r)::text from ${t} r) as rows`)
      .join(' union all '),
  );
  const rows = new Map<string, string>();
  for (const { name, rows: json } of contents.rows) if (json) rows.set(name, json);
  return { pglite, tables, rows, fingerprint: await schemaFingerprint(pglite) };
}

/** Resets a closed store's database and keeps it to lend again, or closes it when it cannot be reset. */
async function giveBack(database: TemplateDatabase): Promise<void> {
  const { pglite } = database;
  try {
    if (pglite.closed) return;
    // Refused inside a transaction block: a store closed mid-transaction is not lent again.
    await pglite.exec('discard all');
    if ((await schemaFingerprint(pglite)) !== database.fingerprint) throw new Error('schema changed');
    await pglite.transaction(async (tx) => {
      // Triggers off for the reset: the audit log refuses TRUNCATE, as it should everywhere else.
      await tx.exec('set local session_replication_role = replica');
      await tx.exec(`truncate ${database.tables.join(', ')} restart identity cascade`);
      for (const [table, json] of database.rows) {
        await tx.query(
          `insert into ${table} overriding system value select * from json_populate_recordset(null::${table}, $1::json)`,
          [json],
        );
      }
      // The planner's statistics are per table and survive TRUNCATE: another file's ANALYZE would otherwise
      // choose this file's plans (and with them the order of rows a query leaves unordered).
      await tx.exec(`delete from pg_statistic where starelid in (
        select c.oid from pg_class c where c.relnamespace = current_schema()::regnamespace)`);
    });
    // Checked after the awaits: stores closed together each see the others' databases already back.
    if (idle.length >= MAX_IDLE) throw new Error('enough databases are idle');
    idle.push(database);
  } catch {
    if (!pglite.closed) await pglite.close().catch(() => undefined);
  }
}

/**
 * What a test could change about the schema and a reset would not undo, each by its definition, not only its
 * name: relations (tables, indexes, sequences, views) with their options, columns, types, defaults and
 * identities; index definitions; constraints (with deferrability); triggers, the foreign keys' internal ones
 * included, and whether each is enabled; sequences' parameters; functions' signatures, source and
 * attributes; types; row-level security policies; rules; grants on relations; schemas; roles. Temporary
 * schemas are left out: `discard all` drops their tables, and the schema itself stays behind, empty.
 */
async function schemaFingerprint(pglite: PGlite): Promise<string> {
  const result = await pglite.query<{ fingerprint: string }>(`
    with ns as (
      select oid, nspname from pg_namespace
      where nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        and nspname !~ '^pg_(toast_)?temp_[0-9]+$'
    )
    select md5(string_agg(item, '|' order by item)) as fingerprint from (
      select 'r ' || ns.nspname || '.' || c.relname || ' ' || c.relkind::text || ' '
          || coalesce(c.reloptions::text, '') || ' ' || c.relrowsecurity::text || ' '
          || coalesce(c.relacl::text, '') || ' ' || coalesce((
            select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                || a.attnotnull::text || ' ' || a.attidentity::text || ' ' || a.attgenerated::text || ' '
                || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ',' order by a.attnum)
            from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '') as item
        from pg_class c join ns on ns.oid = c.relnamespace
      union all select 'i ' || pg_get_indexdef(i.indexrelid)
        from pg_index i join pg_class c on c.oid = i.indexrelid join ns on ns.oid = c.relnamespace
      union all select 'c ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(c.oid)
          || ' ' || condeferrable::text || condeferred::text || convalidated::text
        from pg_constraint c join ns on ns.oid = c.connamespace
      union all select 't ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text || ' '
          || pg_get_triggerdef(t.oid)
        from pg_trigger t join pg_class c on c.oid = t.tgrelid join ns on ns.oid = c.relnamespace
      union all select 's ' || seqrelid::regclass::text || ' ' || seqtypid::text || ' ' || seqstart::text || ' '
          || seqincrement::text || ' ' || seqmin::text || ' ' || seqmax::text || ' ' || seqcache::text || ' '
          || seqcycle::text
        from pg_sequence
      union all select 'f ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
        from pg_proc p join ns on ns.oid = p.pronamespace where p.prokind in ('f', 'p')
      union all select 'y ' || ns.nspname || '.' || t.typname || ' ' || t.typtype::text || ' '
          || coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e
            where e.enumtypid = t.oid), '')
        from pg_type t join ns on ns.oid = t.typnamespace where t.typtype in ('e', 'd', 'r', 'm')
      union all select 'p ' || polrelid::regclass::text || ' ' || polname || ' ' || polcmd::text || ' '
          || coalesce(pg_get_expr(polqual, polrelid), '') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
        from pg_policy
      union all select 'w ' || ev_class::regclass::text || ' ' || rulename || ' ' || md5(pg_get_ruledef(r.oid))
        from pg_rewrite r join pg_class c on c.oid = r.ev_class join ns on ns.oid = c.relnamespace
      union all select 'n ' || nspname from ns
      union all select 'u ' || rolname || ' ' || rolsuper::text from pg_roles
    ) items`);
  return result.rows[0]?.fingerprint ?? '';
}
