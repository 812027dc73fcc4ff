import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Store } from '../../src/store/database.js';
import { openMemoryStore } from './pglite-template.js';

/**
 * Runs one store test suite against every backend in the list: in-memory PGlite always, and the
 * PostgreSQL server when DATABASE_URL is set (CI sets it), each file in a fresh schema so test files
 * never see each other's rows.
 */
export interface Backend {
  readonly name: 'pglite' | 'postgres';
  open(): Promise<Store>;
}

export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite', open: openMemoryStore }];
  const url = process.env.DATABASE_URL;
  if (url) {
    list.push({
      name: 'postgres',
      open: async () => {
        const schema = freshSchemaName();
        return droppingSchemaOnClose(await openStore({ databaseUrl: url, schema, poolSize: 4 }), schema);
      },
    });
  }
  return list;
}

/**
 * The store, whose close() first drops its test schema: a run leaves no schemas behind, and the server's
 * catalogue stays small (a fresh schema's first migration lists every table on the server).
 */
function droppingSchemaOnClose(store: Store, schema: string): Store {
  return {
    ...store,
    async close() {
      try {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      } finally {
        await store.close();
      }
    },
  };
}

/** `t_<run>_<time>_<random>`: the run id lets the run drop what its files left (pg-schemas.global-setup.ts). */
export function freshSchemaName(): string {
  const run = /^[a-f0-9]{6}$/.test(process.env.AUPDESK_TEST_RUN ?? '') ? process.env.AUPDESK_TEST_RUN : 'x';
  return `t_${run}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * `describe` once per backend; `ctx.store` is open (and migrated) inside the tests.
 */
export function describeEachBackend(title: string, body: (ctx: { readonly store: Store }) => void): void {
  for (const backend of backends()) {
    describe(`${title} [${backend.name}]`, () => {
      const ctx = {} as { store: Store };
      beforeAll(async () => {
        ctx.store = await backend.open();
      });
      afterAll(async () => {
        await ctx.store?.close();
      });
      body(ctx);
    });
  }
}
