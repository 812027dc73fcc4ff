import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { acceptReport, processInbox } from '../../intake/intake-inbox.js';
import { claimDueActions, enqueueAction, getAction } from '../outbox/outbox-repository.js';
import { releaseDeadClaims } from './release-dead-claims.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-release-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describeEachBackend('releaseDeadClaims', (ctx) => {
  let evidence: EvidenceStore;
  beforeEach(async () => {
    evidence = new EvidenceStore(await mkdtemp(path.join(dir, 'ev-')));
    await sql`delete from intake_inbox`.execute(ctx.store.db);
    await sql`delete from outbox_actions`.execute(ctx.store.db);
  });

  /** An inbox row and an outbox action, each claimed by a worker that then died (its lease still running). */
  async function claimsOfADeadWorker(): Promise<{ inboxId: string; actionId: number }> {
    const db = ctx.store.db;
    const bytes = new TextEncoder().encode('Subject: spam from 192.0.2.7\r\n\r\nspam from 192.0.2.7\r\n');
    const { inboxId } = await acceptReport({ db, evidence }, { bytes, channel: 'smtp', receivedAt: T0 });
    await db
      .updateTable('intake_inbox')
      .set({ claimed_by: 'dead:1', claimed_until: at(120_000), attempts: 1 })
      .where('id', '=', inboxId)
      .execute();
    const { id: actionId } = await db
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, { at: T0, kind: 'mail.notice', idempotencyKey: 'case:9:notice:1', payload: {} }),
      );
    const claimed = await claimDueActions(db, {
      workerId: 'dead:1',
      now: T0,
      leaseMs: 300_000,
      kinds: ['mail.notice'],
      limit: 1,
    });
    expect(claimed.map((a) => a.id)).toEqual([actionId]);
    return { inboxId, actionId };
  }

  it("on a store this process has to itself, a dead worker's claims are taken up at once; else they wait out their lease", async () => {
    const db = ctx.store.db;
    const { inboxId, actionId } = await claimsOfADeadWorker();
    const now = at(1_000);
    // Without the release, nothing is claimable before the leases run out.
    expect(
      (await processInbox({ db, evidence, workerId: 'new:2' }, { limit: 5, clock: { now: () => now } }))
        .claimed,
    ).toBe(0);
    const claimOutbox = () =>
      claimDueActions(db, { workerId: 'new:2', now, leaseMs: 300_000, kinds: ['mail.notice'], limit: 5 });
    expect(await claimOutbox()).toEqual([]);

    const released = await releaseDeadClaims(ctx.store, now);
    if (!ctx.store.exclusive) {
      // PostgreSQL: other live workers may hold these claims; they are left to expire.
      expect(released).toEqual({ inbox: 0, outbox: 0 });
      expect(await claimOutbox()).toEqual([]);
      return;
    }
    expect(released).toEqual({ inbox: 1, outbox: 1 });
    const round = await processInbox(
      { db, evidence, workerId: 'new:2' },
      { limit: 5, clock: { now: () => now } },
    );
    expect(round).toMatchObject({ claimed: 1, done: 1 });
    const row = await db
      .selectFrom('intake_inbox')
      .selectAll()
      .where('id', '=', inboxId)
      .executeTakeFirstOrThrow();
    // The attempt count carries on: a message that kills every worker still ends failed.
    expect(row).toMatchObject({ status: 'done', attempts: 2, claimed_by: 'new:2' });
    expect((await claimOutbox()).map((a) => a.id)).toEqual([actionId]);
    expect(await getAction(db, actionId)).toMatchObject({ status: 'running', attempts: 2 });
  });
});
