import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { isAupError } from '../errors.js';
import {
  type AuditEntryInput,
  appendAudit,
  appendAuditBatch,
  auditHead,
  hashAuditEntry,
  listAudit,
  verifyAudit,
  withAuditBatch,
} from './audit-log.js';

/**
 * `appendAuditBatch` writes what the same `appendAudit` calls would — the same seqs, hashes and rows — in
 * one statement, and mixes with single appends in a transaction.
 */

const T0 = new Date('2026-03-01T12:00:00.000Z');
const entry = (i: number, subject = `case:${i % 7}`): AuditEntryInput => ({
  at: new Date(T0.getTime() + i * 1000),
  actor: i % 3 === 0 ? 'user:analyst-1' : 'system:intake',
  kind: i % 2 === 0 ? 'judgement' : 'case.state',
  subject,
  payload: { i, nested: { z: [i, 'é"\n'], a: null }, ok: i % 2 === 0 },
});

describeEachBackend('audit log, batch appends', (ctx) => {
  const db = () => ctx.store.db;

  beforeAll(async () => {
    await db()
      .transaction()
      .execute((trx) => appendAudit(trx, entry(0)));
  });

  it('writes the chain the single appends would, in order, and moves the head once to the last', async () => {
    const before = await auditHead(db());
    const inputs = Array.from({ length: 250 }, (_, i) => entry(i + 1));
    const written = await db()
      .transaction()
      .execute((trx) => appendAuditBatch(trx, inputs));
    // The chain recomputed the way appendAudit builds it, entry by entry from the head.
    let prevHash = before.hash;
    for (const [i, e] of written.entries()) {
      expect(e.seq).toBe(before.seq + 1 + i);
      expect(e.prevHash).toBe(prevHash);
      expect(e.hash).toBe(hashAuditEntry({ ...e }));
      prevHash = e.hash;
    }
    expect(await auditHead(db())).toEqual({ seq: before.seq + 250, hash: prevHash });
    const stored = await listAudit(db(), { afterSeq: before.seq, limit: 250 });
    expect(stored).toEqual(written);
    expect(stored[10]?.payload).toEqual({ i: 11, nested: { a: null, z: [11, 'é"\n'] }, ok: false });
    expect(await verifyAudit(db())).toMatchObject({ ok: true, entries: before.seq + 250 });
  });

  it('hashes and stores awkward payloads as hashAuditEntry and the stored row have them', async () => {
    const payloads: unknown[] = [
      {},
      [],
      { '10': 'ten', '9': 'nine', b: [], a: {}, '': 0 },
      { text: 'line\u2028sep \u00e9 \ud83d\ude00 "quoted" \\ back', tab: '\t' },
      { big: 1e21, small: 1.5e-7, neg: -0, int: 2 ** 53, skipped: undefined, at: new Date(T0) },
      { list: [1, 'a', null, true, { z: 1, y: [{}] }] },
    ];
    const inputs = payloads.map((payload, i) => ({ ...entry(i + 1), payload }));
    const written = await db()
      .transaction()
      .execute((trx) => appendAuditBatch(trx, inputs));
    for (const e of written) expect(e.hash).toBe(hashAuditEntry({ ...e }));
    const stored = await listAudit(db(), { afterSeq: written[0]!.seq - 1, limit: payloads.length });
    expect(stored).toEqual(written);
    expect(stored[4]?.payload).toEqual({
      big: 1e21,
      small: 1.5e-7,
      neg: 0,
      int: 2 ** 53,
      at: T0.toISOString(),
    });
    expect(await verifyAudit(db())).toMatchObject({ ok: true });
  });

  it('mixes with single appends in one transaction without a gap', async () => {
    const before = await auditHead(db());
    const seqs = await db()
      .transaction()
      .execute(async (trx) => {
        const a = await appendAudit(trx, entry(1000));
        const batch = await appendAuditBatch(trx, [entry(1001), entry(1002)]);
        const none = await appendAuditBatch(trx, []);
        const b = await appendAudit(trx, entry(1003));
        expect(none).toEqual([]);
        return [a.seq, ...batch.map((e) => e.seq), b.seq];
      });
    expect(seqs).toEqual([1, 2, 3, 4].map((n) => before.seq + n));
    expect((await verifyAudit(db())).ok).toBe(true);
  });

  it('starts a transaction with a batch (the head read under its lock) and rolls back with it', async () => {
    const before = await auditHead(db());
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await appendAuditBatch(trx, [entry(2000), entry(2001)]);
          throw new Error('the case write failed');
        }),
    ).rejects.toThrow('the case write failed');
    expect(await auditHead(db())).toEqual(before);
  });

  it('refuses a batch with an invalid entry by code and writes none of it', async () => {
    const before = await auditHead(db());
    const error = await db()
      .transaction()
      .execute((trx) => appendAuditBatch(trx, [entry(3000), { ...entry(3001), kind: 'Not A Kind' }]))
      .catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_INPUT_INVALID')).toBe(true);
    expect(await auditHead(db())).toEqual(before);
  });

  it('serialises concurrent batch writers into one unbroken chain', async () => {
    const before = await auditHead(db());
    await Promise.all(
      Array.from({ length: 6 }, (_, w) =>
        db()
          .transaction()
          .execute((trx) =>
            appendAuditBatch(
              trx,
              Array.from({ length: 40 }, (_, i) => entry(4000 + w * 100 + i, `report:${w}`)),
            ),
          ),
      ),
    );
    expect(await verifyAudit(db())).toMatchObject({ ok: true, entries: before.seq + 240 });
    // Each writer's entries sit together: a batch is never split by another transaction's.
    const rows = await listAudit(db(), { afterSeq: before.seq, limit: 240 });
    for (let i = 0; i < rows.length; i += 40) {
      expect(new Set(rows.slice(i, i + 40).map((r) => r.subject)).size).toBe(1);
    }
  });

  it('takes ten thousand entries in one statement', async () => {
    const before = await auditHead(db());
    const written = await db()
      .transaction()
      .execute((trx) =>
        appendAuditBatch(
          trx,
          Array.from({ length: 10_000 }, (_, i) => entry(10_000 + i)),
        ),
      );
    expect(written).toHaveLength(10_000);
    expect(await verifyAudit(db())).toMatchObject({ ok: true, entries: before.seq + 10_000 });
  });

  it('withAuditBatch: appends get their seq and hash at once and are written together at the end', async () => {
    const before = await auditHead(db());
    const rowsIn = async (trx: Parameters<typeof appendAudit>[0]) =>
      Number(
        (await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(trx)).rows[0]?.n ?? 0,
      );
    const returned = await db()
      .transaction()
      .execute(async (trx) => {
        const startRows = await rowsIn(trx);
        const out = await withAuditBatch(trx, async () => {
          const a = await appendAudit(trx, entry(5000));
          const [b, c] = await appendAuditBatch(trx, [entry(5001), entry(5002)]);
          // Nested: joins the outer batch.
          const d = await withAuditBatch(trx, () => appendAudit(trx, entry(5003)));
          expect(await rowsIn(trx)).toBe(startRows);
          return [a, b!, c!, d];
        });
        expect(await rowsIn(trx)).toBe(startRows + 4);
        const after = await appendAudit(trx, entry(5004));
        return [...out, after];
      });
    expect(returned.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5].map((n) => before.seq + n));
    expect(await listAudit(db(), { afterSeq: before.seq, limit: 5 })).toEqual(returned);
    expect((await verifyAudit(db())).ok).toBe(true);
  });

  it('withAuditBatch: a huge unit of work is written as it goes, in bounded pieces, and a failure writes nothing', async () => {
    const before = await auditHead(db());
    await db()
      .transaction()
      .execute(async (trx) => {
        await withAuditBatch(trx, async () => {
          for (let i = 0; i < 4_500; i++) await appendAudit(trx, entry(6000 + i));
          // Two pieces of 2,000 written already; 500 still pending.
          const n = await sql<{
            n: string;
          }>`select count(*)::text as n from audit_log where seq > ${before.seq}`.execute(trx);
          expect(Number(n.rows[0]?.n)).toBe(4_000);
        });
      });
    expect(await verifyAudit(db())).toMatchObject({ ok: true, entries: before.seq + 4_500 });
    const mid = await auditHead(db());
    await expect(
      db()
        .transaction()
        .execute((trx) =>
          withAuditBatch(trx, async () => {
            await appendAudit(trx, entry(9000));
            throw new Error('the report failed');
          }),
        ),
    ).rejects.toThrow('the report failed');
    expect(await auditHead(db())).toEqual(mid);
  });
});
