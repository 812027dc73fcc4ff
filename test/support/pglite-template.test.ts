import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appendAudit, verifyAudit } from '../../src/audit/audit-log.js';
import type { Store } from '../../src/store/database.js';
import { openMemoryStore } from './pglite-template.js';

/**
 * The in-memory stores the suite lends again after a reset (pglite-template.ts): a store must never see
 * what an earlier one left, or the tests that share a worker process would see each other's rows.
 */

async function count(store: Store, table: string): Promise<number> {
  const rows = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(table)}`.execute(store.db);
  return rows.rows[0]?.n ?? -1;
}

/** When the store's PostgreSQL started: the same for two stores lent one database. */
async function startedAt(store: Store): Promise<string> {
  const rows = await sql<{ t: string }>`select pg_postmaster_start_time()::text as t`.execute(store.db);
  return rows.rows[0]?.t ?? '';
}

async function leaveTraces(store: Store): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await appendAudit(trx, { at: new Date(), actor: 'system', kind: 'test.trace', subject: 'test:trace' });
  });
  await sql`insert into providers (id, name) values ('p', 'P')`.execute(store.db);
  await sql`insert into customers (ref, name) values ('c-1', 'C'), ('c-2', 'C')`.execute(store.db);
  await sql`set statement_timeout = 1234`.execute(store.db);
}

describe('in-memory stores lent again', () => {
  it('start from the template: rows, the audit chain, identities and session settings as new', async () => {
    const first = await openMemoryStore();
    await leaveTraces(first);
    expect(await count(first, 'audit_log')).toBe(1);
    const firstStarted = await startedAt(first);
    await first.close();

    const second = await openMemoryStore();
    try {
      // Lent again, not started afresh (which would pass the rest without a reset).
      expect(await startedAt(second)).toBe(firstStarted);
      expect(await count(second, 'audit_log')).toBe(0);
      expect(await count(second, 'providers')).toBe(0);
      expect(await count(second, 'customers')).toBe(0);
      // The registry's revision counter, which the customer rows bumped, is back at the template's.
      const revision = await sql<{ revision: number }>`select revision from registry_revision`.execute(
        second.db,
      );
      expect(revision.rows).toEqual([{ revision: 0 }]);
      const head = await sql<{
        seq: string;
        hash: string;
      }>`select seq::text as seq, hash from audit_head`.execute(second.db);
      expect(head.rows).toEqual([{ seq: '0', hash: '0'.repeat(64) }]);
      expect(await count(second, 'aupdesk_migration')).toBeGreaterThan(20);
      const timeout = await sql<{ t: string }>`select current_setting('statement_timeout') as t`.execute(
        second.db,
      );
      expect(timeout.rows[0]?.t).toBe('0');
      // The chain starts at its genesis again and verifies.
      await leaveTraces(second);
      expect(await verifyAudit(second.db)).toMatchObject({ ok: true });
      const seq = await sql<{ seq: string }>`select seq::text as seq from audit_log`.execute(second.db);
      expect(seq.rows).toEqual([{ seq: '1' }]);
      // Identities restart: the first customer is number 1 again.
      const ids = await sql<{ id: number }>`select id from customers order by id`.execute(second.db);
      expect(ids.rows).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await second.close();
    }
  });

  it('a closed store refuses queries, though its database lives on', async () => {
    const store = await openMemoryStore();
    await store.close();
    await store.close();
    await expect(sql`select 1`.execute(store.db)).rejects.toThrow(/destroyed/);
  });

  it('a transaction still running when its store closes cannot write into the next store', async () => {
    const first = await openMemoryStore();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const late = first.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      await held;
      await sql`insert into providers (id, name) values ('late', 'Late')`.execute(trx);
    });
    await first.close();
    const next = await openMemoryStore();
    try {
      release();
      await expect(late).rejects.toThrow(/store is closed/);
      expect(await count(next, 'providers')).toBe(0);
    } finally {
      await next.close();
    }
  });

  it.each([
    ['a trigger disabled', sql`alter table audit_log disable trigger audit_log_append_only`],
    ['a column default changed', sql`alter table customers alter column status set default 'suspended'`],
    [
      'a check constraint loosened under its name',
      sql`alter table customers drop constraint customers_country_check,
        add constraint customers_country_check check (country is not null or country is null)`,
    ],
    ['an index dropped', sql`drop index case_events_source_ip_idx`],
  ])('a database whose schema a test changed (%s) is not lent again', async (_, change) => {
    const changed = await openMemoryStore();
    await change.execute(changed.db);
    const changedStarted = await startedAt(changed);
    await changed.close();
    const next = await openMemoryStore();
    try {
      expect(await startedAt(next)).not.toBe(changedStarted);
      const trigger = await sql<{ enabled: string }>`
        select tgenabled as enabled from pg_trigger where tgname = 'audit_log_append_only'`.execute(next.db);
      expect(trigger.rows).toEqual([{ enabled: 'O' }]);
    } finally {
      await next.close();
    }
  });

  it('a temporary table or the planner statistics of a test do not keep it from being lent, nor reach the next', async () => {
    const first = await openMemoryStore();
    await sql`create temporary table scratch (n integer)`.execute(first.db);
    await sql`insert into customers (ref, name) select 'c-' || n, 'C' from generate_series(1, 50) n`.execute(
      first.db,
    );
    await sql`analyze customers`.execute(first.db);
    const firstStarted = await startedAt(first);
    await first.close();
    const next = await openMemoryStore();
    try {
      expect(await startedAt(next)).toBe(firstStarted);
      const stats = await sql<{ n: number }>`
        select count(*)::int as n from pg_statistic where starelid = 'customers'::regclass`.execute(next.db);
      expect(stats.rows).toEqual([{ n: 0 }]);
      const temp = await sql<{ n: number }>`
        select count(*)::int as n from pg_class where relname = 'scratch'`.execute(next.db);
      expect(temp.rows).toEqual([{ n: 0 }]);
    } finally {
      await next.close();
    }
  });

  it('stores open together get databases of their own', async () => {
    const [a, b] = await Promise.all([openMemoryStore(), openMemoryStore()]);
    try {
      await leaveTraces(a);
      expect(await count(b, 'audit_log')).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
