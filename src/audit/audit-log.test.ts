import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { isAupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import { appendAudit, auditHead, GENESIS_HASH, hashAuditEntry, listAudit, verifyAudit } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';

const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('writes numbers and strings as ECMAScript does (RFC 8785)', () => {
    expect(canonicalJson([1.0, 1e21, 0.1, -0, 'é\n"'])).toBe('[1,1e+21,0.1,0,"é\\n\\""]');
  });

  it('refuses what is not JSON instead of guessing', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(new Date(0))).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
  });
});

describe('hashAuditEntry', () => {
  it('is sha256 over the documented canonical form', () => {
    const entry = {
      seq: 1,
      at: T0,
      actor: 'system',
      kind: 'case.state',
      subject: 'case:1',
      payload: { to: 'notified', from: 'open' },
      prevHash: GENESIS_HASH,
    };
    const expected = createHash('sha256')
      .update(
        `{"actor":"system","at":"2025-03-01T12:00:00.000Z","kind":"case.state","payload":{"from":"open","to":"notified"},"prev_hash":"${GENESIS_HASH}","seq":1,"subject":"case:1"}`,
      )
      .digest('hex');
    expect(hashAuditEntry(entry)).toBe(expected);
  });
});

/** Runs `tamper` with the append-only triggers off (as a table owner could), then turns them back on. */
async function asOwner(db: Kysely<Database>, tamper: () => Promise<void>): Promise<void> {
  await sql`alter table audit_log disable trigger user`.execute(db);
  await sql`alter table audit_head disable trigger user`.execute(db);
  try {
    await tamper();
  } finally {
    await sql`alter table audit_log enable trigger user`.execute(db);
    await sql`alter table audit_head enable trigger user`.execute(db);
  }
}

describeEachBackend('audit log', (ctx) => {
  const db = () => ctx.store.db;

  beforeAll(async () => {
    await db()
      .transaction()
      .execute(async (trx) => {
        for (let i = 1; i <= 6; i++) {
          await appendAudit(trx, {
            at: at(i),
            actor: i % 2 === 0 ? 'user:analyst-7' : 'system:ladder',
            kind: i === 1 ? 'judgement' : 'case.state',
            subject: 'case:100',
            payload: { step: i, state: `s${i}`, nested: { b: [i, 'x'], a: null } },
          });
        }
      });
  });

  it('moves the head with each append', async () => {
    const head = await auditHead(db());
    expect(head.seq).toBeGreaterThanOrEqual(6);
    expect(head.hash).not.toBe(GENESIS_HASH);
  });

  it('numbers entries without gaps and links each to the one before', async () => {
    const entries = await listAudit(db(), { subject: 'case:100', limit: 6 });
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
    expect(entries[1]?.actor).toBe('user:analyst-7');
    expect(entries[0]?.at.toISOString()).toBe(at(1).toISOString());
    expect(entries[2]?.payload).toEqual({ step: 3, state: 's3', nested: { a: null, b: [3, 'x'] } });
  });

  it('verifies a clean log and reports its head', async () => {
    const head = await auditHead(db());
    const result = await verifyAudit(db(), { batchSize: 4 });
    expect(result).toEqual({ ok: true, entries: head.seq, head: head.hash });
  });

  it('commits an entry with its transaction and leaves no trace of a rolled-back one', async () => {
    const before = await auditHead(db());
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await appendAudit(trx, { at: at(10), actor: 'system', kind: 'case.state', subject: 'case:101' });
          throw new Error('the state change failed');
        }),
    ).rejects.toThrow('the state change failed');
    expect(await auditHead(db())).toEqual(before);
    const entry = await db()
      .transaction()
      .execute((trx) =>
        appendAudit(trx, { at: at(11), actor: 'apikey:feed-1', kind: 'case.state', subject: 'case:101' }),
      );
    expect(entry.seq).toBe(before.seq + 1);
    expect(entry.prevHash).toBe(before.hash);
    expect((await verifyAudit(db())).ok).toBe(true);
  });

  it('chains on from the head, not from what the transaction last wrote, after a savepoint rolls an append back', async () => {
    const before = await auditHead(db());
    const [kept, next] = await db()
      .transaction()
      .execute(async (trx) => {
        const first = await appendAudit(trx, {
          at: at(12),
          actor: 'system',
          kind: 'case.state',
          subject: 'case:102',
        });
        await sql`savepoint undo_one`.execute(trx);
        await appendAudit(trx, { at: at(13), actor: 'system', kind: 'case.state', subject: 'case:102' });
        await sql`rollback to savepoint undo_one`.execute(trx);
        const second = await appendAudit(trx, {
          at: at(14),
          actor: 'system',
          kind: 'case.state',
          subject: 'case:102',
        });
        return [first, second];
      });
    expect([kept.seq, next.seq]).toEqual([before.seq + 1, before.seq + 2]);
    expect(next.prevHash).toBe(kept.hash);
    const stored = await listAudit(db(), { subject: 'case:102' });
    expect(stored.map((e) => [e.seq, e.at.toISOString()])).toEqual([
      [before.seq + 1, at(12).toISOString()],
      [before.seq + 2, at(14).toISOString()],
    ]);
    expect(await auditHead(db())).toEqual({ seq: next.seq, hash: next.hash });
    expect((await verifyAudit(db())).ok).toBe(true);
  });

  it('serialises concurrent appenders into one unbroken chain', async () => {
    const before = await auditHead(db());
    const appended = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        db()
          .transaction()
          .execute(async (trx) => {
            const e = await appendAudit(trx, {
              at: at(20 + i),
              actor: 'system',
              kind: 'action.performed',
              subject: `action:${i}`,
              payload: { i },
            });
            // Hold the transaction open a moment so the appenders genuinely overlap on a server.
            await sql`select pg_sleep(0.01)`.execute(trx);
            return e.seq;
          }),
      ),
    );
    expect([...appended].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => before.seq + 1 + i),
    );
    const result = await verifyAudit(db());
    expect(result).toMatchObject({ ok: true, entries: before.seq + 12 });
  });

  it('refuses invalid entries by code', async () => {
    const attempt = (entry: Parameters<typeof appendAudit>[1]) =>
      db()
        .transaction()
        .execute((trx) => appendAudit(trx, entry));
    for (const bad of [
      { at: at(1), actor: 'someone' as 'system', kind: 'case.state', subject: 'case:1' },
      { at: at(1), actor: 'system' as const, kind: 'Case State', subject: 'case:1' },
      { at: at(1), actor: 'system' as const, kind: 'case.state', subject: 'no-type' },
      { at: new Date(Number.NaN), actor: 'system' as const, kind: 'case.state', subject: 'case:1' },
    ]) {
      const error = await attempt(bad).catch((e: unknown) => e);
      expect(isAupError(error, 'AUP_ERR_INPUT_INVALID'), JSON.stringify(bad)).toBe(true);
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE through the append-only triggers', async () => {
    await expect(sql`update audit_log set payload = '{}' where seq = 2`.execute(db())).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from audit_log where seq = 2`.execute(db())).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db())).rejects.toThrow(/append-only/);
    await expect(sql`update audit_head set seq = 1, hash = ${GENESIS_HASH}`.execute(db())).rejects.toThrow(
      /only advances/,
    );
    expect((await verifyAudit(db())).ok).toBe(true);
  });

  describe('tampering by direct SQL is found and named', () => {
    it('an edited payload', async () => {
      const original = await sql<{ payload: unknown }>`select payload from audit_log where seq = 3`.execute(
        db(),
      );
      await asOwner(db(), async () => {
        await sql`update audit_log set payload = jsonb_set(payload, '{state}', '"cured"') where seq = 3`.execute(
          db(),
        );
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: 3,
        reason: 'hash does not match the entry contents',
      });
      await asOwner(db(), async () => {
        await sql`update audit_log set payload = ${JSON.stringify(original.rows[0]?.payload)}::jsonb where seq = 3`.execute(
          db(),
        );
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });

    it('an edited actor or time', async () => {
      await asOwner(db(), async () => {
        await sql`update audit_log set actor = 'user:someone-else' where seq = 2`.execute(db());
      });
      expect(await verifyAudit(db())).toMatchObject({ ok: false, seq: 2 });
      await asOwner(db(), async () => {
        await sql`update audit_log set actor = 'user:analyst-7' where seq = 2`.execute(db());
        await sql`update audit_log set at = at + interval '1 second' where seq = 5`.execute(db());
      });
      expect(await verifyAudit(db())).toMatchObject({ ok: false, seq: 5 });
      await asOwner(db(), async () => {
        await sql`update audit_log set at = at - interval '1 second' where seq = 5`.execute(db());
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });

    it('an edited hash, even when recomputed for the edited entry', async () => {
      const row = (await listAudit(db(), { afterSeq: 3, limit: 1 }))[0]!;
      await asOwner(db(), async () => {
        await sql`update audit_log set hash = ${'f'.repeat(64)} where seq = 4`.execute(db());
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: 4,
        reason: 'hash does not match the entry contents',
      });
      // A careful forger edits the payload and recomputes that entry's hash: the next link breaks.
      const forged = { ...row, payload: { step: 4, state: 'dismissed' } };
      await asOwner(db(), async () => {
        await sql`update audit_log set payload = ${JSON.stringify(forged.payload)}::jsonb, hash = ${hashAuditEntry(forged)} where seq = 4`.execute(
          db(),
        );
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: 5,
        reason: 'prev_hash does not match the hash of entry 4',
      });
      await asOwner(db(), async () => {
        await sql`update audit_log set payload = ${JSON.stringify(row.payload)}::jsonb, hash = ${row.hash} where seq = 4`.execute(
          db(),
        );
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });

    it('a removed entry', async () => {
      const row = (await listAudit(db(), { afterSeq: 1, limit: 1 }))[0]!;
      await asOwner(db(), async () => {
        await sql`delete from audit_log where seq = 2`.execute(db());
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: 2,
        reason: 'entry missing (the next entry is 3)',
      });
      await asOwner(db(), async () => {
        await reinsert(db(), row);
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });

    it('removed newest entries (the head remembers them)', async () => {
      const head = await auditHead(db());
      const tail = await listAudit(db(), { afterSeq: head.seq - 2 });
      await asOwner(db(), async () => {
        await sql`delete from audit_log where seq > ${head.seq - 2}`.execute(db());
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: head.seq - 1,
        reason: `entry missing: the log ends at entry ${head.seq - 2} but its head records entry ${head.seq}`,
      });
      await asOwner(db(), async () => {
        for (const row of tail) await reinsert(db(), row);
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });

    it('reordered entries', async () => {
      await asOwner(db(), async () => {
        await sql`update audit_log set seq = seq + 1000000 where seq in (3, 4)`.execute(db());
        await sql`update audit_log set seq = case seq when 1000003 then 4 else 3 end where seq in (1000003, 1000004)`.execute(
          db(),
        );
      });
      expect(await verifyAudit(db())).toEqual({
        ok: false,
        seq: 3,
        reason: 'prev_hash does not match the hash of entry 2',
      });
      await asOwner(db(), async () => {
        await sql`update audit_log set seq = seq + 1000000 where seq in (3, 4)`.execute(db());
        await sql`update audit_log set seq = case seq when 1000003 then 4 else 3 end where seq in (1000003, 1000004)`.execute(
          db(),
        );
      });
      expect((await verifyAudit(db())).ok).toBe(true);
    });
  });
});

describeEachBackend('audit log, empty', (ctx) => {
  it('verifies with zero entries and the genesis head', async () => {
    expect(await verifyAudit(ctx.store.db)).toEqual({ ok: true, entries: 0, head: GENESIS_HASH });
  });
});

async function reinsert(
  db: Kysely<Database>,
  row: Awaited<ReturnType<typeof listAudit>>[number],
): Promise<void> {
  await sql`insert into audit_log (seq, at, actor, kind, subject, payload, prev_hash, hash)
    values (${row.seq}, ${row.at}, ${row.actor}, ${row.kind}, ${row.subject}, ${JSON.stringify(row.payload)}::jsonb,
            ${row.prevHash}, ${row.hash})`.execute(db);
}
