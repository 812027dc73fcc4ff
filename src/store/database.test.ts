import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { droppedUnderTheIntrospector } from './database.js';
import { migrations } from './migrations/index.js';

describeEachBackend('store', (ctx) => {
  it('applies every migration and records it in the migrations table', async () => {
    const rows = await sql<{ name: string }>`select name from aupdesk_migration order by name`.execute(
      ctx.store.db,
    );
    expect(rows.rows.map((r) => r.name)).toEqual(Object.keys(migrations));
  });

  it('re-running migrations applies nothing new', async () => {
    expect(await ctx.store.migrate()).toEqual([]);
  });

  it('refuses a database migrated by a newer build instead of skipping it as up to date', async () => {
    await sql`insert into aupdesk_migration (name, timestamp) values ('9999_from_a_newer_build', now()::text)`.execute(
      ctx.store.db,
    );
    try {
      await expect(ctx.store.migrate()).rejects.toMatchObject({ code: 'AUP_ERR_STORE_MIGRATION_FAILED' });
    } finally {
      await sql`delete from aupdesk_migration where name = '9999_from_a_newer_build'`.execute(ctx.store.db);
    }
    expect(await ctx.store.migrate()).toEqual([]);
  });

  it('rolls a failed transaction back completely', async () => {
    await ctx.store.db.insertInto('providers').values({ id: 'rollback-probe', name: 'Probe' }).execute();
    await expect(
      ctx.store.db.transaction().execute(async (trx) => {
        await trx.insertInto('providers').values({ id: 'rollback-probe-2', name: 'Probe 2' }).execute();
        // duplicate primary key: the whole transaction must go
        await trx.insertInto('providers').values({ id: 'rollback-probe', name: 'again' }).execute();
      }),
    ).rejects.toThrow();
    const ids = await ctx.store.db
      .selectFrom('providers')
      .select('id')
      .where('id', 'like', 'rollback%')
      .execute();
    expect(ids.map((r) => r.id)).toEqual(['rollback-probe']);
  });

  it('serialises concurrent transactions without interleaving their statements', async () => {
    await ctx.store.db.insertInto('providers').values({ id: 'counter', name: '0' }).execute();
    await Promise.all(
      Array.from({ length: 10 }, () =>
        ctx.store.db.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('providers')
            .select('name')
            .where('id', '=', 'counter')
            .forUpdate()
            .executeTakeFirstOrThrow();
          await trx
            .updateTable('providers')
            .set({ name: String(Number(row.name) + 1) })
            .where('id', '=', 'counter')
            .execute();
        }),
      ),
    );
    const row = await ctx.store.db
      .selectFrom('providers')
      .select('name')
      .where('id', '=', 'counter')
      .executeTakeFirstOrThrow();
    expect(row.name).toBe('10');
  });

  it('supports inet containment and tstzrange overlap, which later tables rely on', async () => {
    const r = await sql<{ inside: boolean; overlap: boolean }>`
      select '192.0.2.7'::inet <<= '192.0.2.0/24'::cidr as inside,
             tstzrange('2026-01-01', '2026-02-01') && tstzrange('2026-01-31', null) as overlap`.execute(
      ctx.store.db,
    );
    expect(r.rows[0]).toEqual({ inside: true, overlap: true });
  });

  it("keeps btree_gist in public, so dropping one desk schema leaves the others' exclusion constraints", async () => {
    const home = await sql<{ schema: string }>`
      select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'btree_gist'`.execute(ctx.store.db);
    expect(home.rows).toEqual([{ schema: 'public' }]);
    const constraints = await sql<{ n: number }>`
      select count(*)::int as n from pg_constraint c join pg_class t on t.oid = c.conrelid
      where t.relname = 'assignments' and c.contype = 'x' and t.relnamespace = current_schema()::regnamespace`.execute(
      ctx.store.db,
    );
    expect(constraints.rows[0]!.n).toBe(3);
  });
});

describe('a migrator that could not start because another schema was being dropped', () => {
  const failedToStart = (code: string, message: string) =>
    ({ error: Object.assign(new Error(message), { code }), results: [] }) as Parameters<
      typeof droppedUnderTheIntrospector
    >[0];

  /** Whether a start that failed with this error in test schema `t_abc` is tried again. */
  const retried = (code: string, message: string) =>
    droppedUnderTheIntrospector(failedToStart(code, message), 't_abc');

  it('is tried again when what vanished was another schema, table or column', () => {
    // Seen in CI: a test file's schema dropped while another's migrator listed every table of the server.
    expect(retried('42703', 'column "id" of relation "legal_requests" does not exist')).toBe(true);
    expect(retried('3F000', 'schema "t_other" does not exist')).toBe(true);
    expect(retried('42P01', 'relation "t_other.cases" does not exist')).toBe(true);
    expect(retried('XX000', 'cache lookup failed for relation 16403')).toBe(true);
  });

  it('is not tried again for an error of our own schema, another error, or a migration that failed', () => {
    expect(retried('3F000', 'schema "t_abc" does not exist')).toBe(false);
    expect(retried('42501', 'permission denied for schema t_abc')).toBe(false);
    expect(retried('XX000', 'unexpected internal error')).toBe(false);
    const migrationFailed = {
      error: Object.assign(new Error('column "x" does not exist'), { code: '42703' }),
      results: [{ migrationName: '0001_policies', direction: 'Up', status: 'Error' }],
    } as Parameters<typeof droppedUnderTheIntrospector>[0];
    expect(droppedUnderTheIntrospector(migrationFailed, 't_abc')).toBe(false);
    expect(droppedUnderTheIntrospector({ results: [] }, 't_abc')).toBe(false);
  });
});

describe('store factory', () => {
  it('refuses an unsafe schema name', async () => {
    const { openStore } = await import('./database.js');
    await expect(
      openStore({ databaseUrl: 'postgres://127.0.0.1/x', schema: 'a;drop' }),
    ).rejects.toMatchObject({
      code: 'AUP_ERR_CONFIG_INVALID',
    });
  });

  it.skipIf(!process.env.DATABASE_URL)(
    "says so when PostgreSQL's search_path names no schema that exists, instead of failing a migration",
    async () => {
      const { openStore } = await import('./database.js');
      const url = new URL(process.env.DATABASE_URL!);
      url.searchParams.set('options', '-c search_path=aupdesk_no_such_schema');
      const opened = openStore({ databaseUrl: url.toString() });
      await expect(opened).rejects.toMatchObject({ code: 'AUP_ERR_CONFIG_INVALID' });
      await expect(opened).rejects.toThrow(/no schema to work in.*AUPDESK_DB_SCHEMA/);
    },
  );
});

describe('embedded store from a template data directory', () => {
  it('copies the template into a new directory and leaves an existing store alone', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { openStore } = await import('./database.js');
    const base = await mkdtemp(path.join(tmpdir(), 'aupdesk-template-'));
    try {
      // A template that differs from a fresh store in a way a test can see (itself made from the run's
      // template when there is one: initdb takes seconds).
      const templateDir = path.join(base, 'template');
      const template = await openStore({ pgliteDir: templateDir });
      await template.db.insertInto('providers').values({ id: 'from-template', name: 'Template' }).execute();
      await template.close();

      const copied = await openStore({ pgliteDir: path.join(base, 'new'), pgliteTemplateDir: templateDir });
      const ids = async (s: typeof copied) =>
        (await s.db.selectFrom('providers').select('id').execute()).map((r) => r.id);
      try {
        expect(await ids(copied)).toContain('from-template');
        await copied.db.deleteFrom('providers').where('id', '=', 'from-template').execute();
      } finally {
        await copied.close();
      }
      // Reopened with the template still named: the existing store is not overwritten.
      const reopened = await openStore({ pgliteDir: path.join(base, 'new'), pgliteTemplateDir: templateDir });
      try {
        expect(await ids(reopened)).not.toContain('from-template');
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  }, 120_000);
});
