import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import { processInbox } from '../../intake/inbox/inbox-worker.js';
import { claimDueActions, enqueueAction, getAction } from '../outbox/outbox-repository.js';
import { releaseDeadClaims } from './release-dead-claims.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

let dir: string;
/** A worker of a process of this host that has exited, and one of another host. */
let deadHere: string;
const elsewhere = 'other-host.example:4242:abcd1234';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-release-'));
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  deadHere = `${hostname()}:${child.pid}:0badc0de`;
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

  /** An inbox row and an outbox action claimed by `worker`, whose leases still run. */
  async function claimedBy(worker: string, n: number): Promise<{ inboxId: string; actionId: number }> {
    const db = ctx.store.db;
    const bytes = new TextEncoder().encode(`Subject: spam ${n}\r\n\r\nspam from 192.0.2.${n}\r\n`);
    const { inboxId } = await acceptReport({ db, evidence }, { bytes, channel: 'smtp', receivedAt: T0 });
    await db
      .updateTable('intake_inbox')
      .set({ claimed_by: worker, claimed_until: at(120_000), attempts: 1 })
      .where('id', '=', inboxId)
      .execute();
    const { id: actionId } = await db.transaction().execute((trx) =>
      enqueueAction(trx, {
        at: T0,
        kind: 'mail.notice',
        idempotencyKey: `case:${n}:notice:1`,
        payload: {},
      }),
    );
    const claimed = await claimDueActions(db, {
      workerId: worker,
      now: T0,
      leaseMs: 300_000,
      kinds: ['mail.notice'],
      limit: 1,
    });
    expect(claimed.map((a) => a.id)).toEqual([actionId]);
    return { inboxId, actionId };
  }

  it("a dead worker's claims are taken up at once (on a shared store, only a dead process of this host's)", async () => {
    const db = ctx.store.db;
    const dead = await claimedBy(deadHere, 1);
    const remote = await claimedBy(elsewhere, 2);
    const now = at(1_000);
    const inboxRound = () =>
      processInbox({ db, evidence, workerId: 'new:2' }, { limit: 5, clock: { now: () => now } });
    const claimOutbox = () =>
      claimDueActions(db, { workerId: 'new:2', now, leaseMs: 300_000, kinds: ['mail.notice'], limit: 5 });
    // Without the release, nothing is claimable before the leases run out.
    expect((await inboxRound()).claimed).toBe(0);
    expect(await claimOutbox()).toEqual([]);

    const released = await releaseDeadClaims(ctx.store, now);
    const taken = ctx.store.exclusive ? [dead, remote] : [dead];
    expect(released).toEqual({ inbox: taken.length, outbox: taken.length });
    expect(await inboxRound()).toMatchObject({ claimed: taken.length, done: taken.length });
    for (const { inboxId } of taken) {
      const row = await db
        .selectFrom('intake_inbox')
        .selectAll()
        .where('id', '=', inboxId)
        .executeTakeFirstOrThrow();
      // The attempt count carries on: a message that kills every worker still ends failed.
      expect(row).toMatchObject({ status: 'done', attempts: 2, claimed_by: 'new:2' });
    }
    expect((await claimOutbox()).map((a) => a.id)).toEqual(taken.map((t) => t.actionId));
    expect(await getAction(db, dead.actionId)).toMatchObject({ status: 'running', attempts: 2 });
    if (!ctx.store.exclusive) {
      // Another host's worker may be alive: its claims wait for their leases.
      const row = await db
        .selectFrom('intake_inbox')
        .selectAll()
        .where('id', '=', remote.inboxId)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'pending', claimed_by: elsewhere });
      expect(await getAction(db, remote.actionId)).toMatchObject({ status: 'running', attempts: 1 });
    }
  });
});
