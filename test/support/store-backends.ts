import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Store } from '../../src/store/database.js';

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
  const list: Backend[] = [{ name: 'pglite', open: () => openStore({ pgliteDir: 'memory://' }) }];
  const url = process.env.DATABASE_URL;
  if (url) {
    list.push({
      name: 'postgres',
      open: () => openStore({ databaseUrl: url, schema: freshSchemaName(), poolSize: 4 }),
    });
  }
  return list;
}

export function freshSchemaName(): string {
  return `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
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
