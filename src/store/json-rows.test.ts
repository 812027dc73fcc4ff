import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { jsonRowsSource, settleInOrder, slices } from './json-rows.js';

/**
 * Multi-row statements fed by one JSON parameter, and statements issued back to back on one transaction.
 */
describeEachBackend('JSON rows and statements issued back to back', (ctx) => {
  const db = () => ctx.store.db;

  it('reads typed columns out of the JSON rows, nulls and text the store refuses included', async () => {
    const at = new Date('2026-03-01T12:00:00.123Z');
    const rows = [
      { n: 1, t: 'plain', j: { a: [1, 'é'] }, at, ip: '192.0.2.1' },
      { n: 2, t: 'nul\u0000here', j: null, at: null, ip: null },
      { n: 3, t: undefined, j: { s: 'lone \ud800' }, at, ip: '2001:db8::1' },
    ];
    const read = await sql<{ n: number; t: string | null; j: unknown; at: Date | null; ip: string | null }>`
      select r.n, r.t, r.j, r.at, host(r.ip) as ip
      from ${jsonRowsSource('r', { n: 'integer', t: 'text', j: 'jsonb', at: 'timestamptz', ip: 'inet' }, rows)}
      order by r.n`.execute(db());
    expect(read.rows).toEqual([
      { n: 1, t: 'plain', j: { a: [1, 'é'] }, at, ip: '192.0.2.1' },
      { n: 2, t: 'nul\ufffdhere', j: null, at: null, ip: null },
      { n: 3, t: null, j: { s: 'lone \ufffd' }, at, ip: '2001:db8::1' },
    ]);
  });

  it('runs statements in the order issued, and a failure leaves nothing queued behind it to run after the rollback', async () => {
    await sql`create table json_rows_probe (n integer primary key)`.execute(db());
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          const insert = (ns: number[]) =>
            sql`insert into json_rows_probe (n)
              select r.n from ${jsonRowsSource(
                'r',
                { n: 'integer' },
                ns.map((n) => ({ n })),
              )}`.execute(trx);
          await settleInOrder([insert([1, 2]), insert([2]), insert([3]), insert([4])]);
        }),
    ).rejects.toThrow(/duplicate key|unique/);
    // Had the statements queued behind the failure run after the rollback, 3 and 4 would be here.
    const after = await sql<{ n: number }>`select n from json_rows_probe order by n`.execute(db());
    expect(after.rows).toEqual([]);
    await sql`drop table json_rows_probe`.execute(db());
  });

  it('cuts rows into slices of a statement each', () => {
    expect(slices([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(slices([], 2)).toEqual([]);
  });
});
