import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Moves btree_gist to public where an earlier 0001 created it in a desk's own schema. `create extension`
 * without a schema installs into the first schema of the search path, so a desk opened with a schema
 * option (and every test schema) could become the extension's home; dropping that schema then dropped the
 * extension and, by CASCADE, the assignment exclusion constraints of every other schema in the database
 * (seen as a deadlock between one test's insert and another's `drop schema ... cascade`). Relocating is
 * safe: every desk connection's search path ends in public.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    do $$
    begin
      if exists (
        select 1 from pg_extension e join pg_namespace n on n.oid = e.extnamespace
        where e.extname = 'btree_gist' and n.nspname <> 'public'
      ) then
        alter extension btree_gist set schema public;
      end if;
    exception when others then
      -- Another desk moved it at the same moment; where it lives now is all that matters.
      null;
    end
    $$`.execute(db);
}
