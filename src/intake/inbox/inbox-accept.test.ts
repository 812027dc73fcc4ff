import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { EvidenceStore } from '../evidence-store.js';
import {
  acceptReport,
  InboxCommitter,
  type IntakeInboxDeps,
  inboxCounts,
  messageIdOf,
} from './inbox-accept.js';
import { processInbox, type ReportProcessor } from './inbox-worker.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const clockAt = (ms = 0) => ({ now: () => new Date(T0.getTime() + ms) });

function mail(
  id: string,
  body = 'Your host 192.0.2.10 scanned our network on 2026-02-28 22:14 UTC.',
): Uint8Array {
  return new TextEncoder().encode(
    `From: Reporter <noc@example.net>\r\nTo: abuse@desk.example\r\nSubject: scan from 192.0.2.10\r\n` +
      `Message-ID: <${id}@example.net>\r\nDate: Sat, 28 Feb 2026 22:20:00 +0000\r\n\r\n${body}\r\n`,
  );
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-inbox-'));
});
afterAll(async () => {
  // Retries: an evidence store may still be copying blobs out of its journal into this directory.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('messageIdOf', () => {
  it('reads a folded Message-ID from the header block only', () => {
    expect(messageIdOf(new TextEncoder().encode('Subject: x\r\nMessage-ID:\r\n <a.b@c>\r\n\r\nbody'))).toBe(
      'a.b@c',
    );
    expect(messageIdOf(new TextEncoder().encode('Subject: x\r\n\r\nMessage-ID: <not@header>'))).toBeNull();
    expect(messageIdOf(new TextEncoder().encode('ip,time\n192.0.2.1,2026-01-01'))).toBeNull();
  });
});

describeEachBackend('intake inbox', (ctx) => {
  let deps: IntakeInboxDeps;
  beforeEach(async () => {
    deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
  });

  it('stores the evidence and a pending row before returning; identical bytes on one channel are a duplicate', async () => {
    const bytes = mail('one');
    const first = await acceptReport(deps, {
      bytes,
      channel: 'smtp',
      receivedAt: T0,
      route: 'abuse',
      envelope: { mailFrom: 'noc@example.net', rcptTo: ['abuse@desk.example'], remoteAddress: '127.0.0.1' },
    });
    expect(first.duplicate).toBe(false);
    expect(await deps.evidence.has(first.evidenceSha256)).toBe(true);
    const row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      status: 'pending',
      channel: 'smtp',
      route: 'abuse',
      message_id: 'one@example.net',
    });
    expect(row.envelope).toEqual({
      mailFrom: 'noc@example.net',
      rcptTo: ['abuse@desk.example'],
      remoteAddress: '127.0.0.1',
    });

    const again = await acceptReport(deps, { bytes, channel: 'smtp', receivedAt: T0 });
    expect(again).toMatchObject({ duplicate: true, inboxId: first.inboxId });
    // The same bytes by another channel are another receipt.
    const viaImap = await acceptReport(deps, { bytes, channel: 'imap', receivedAt: T0 });
    expect(viaImap.duplicate).toBe(false);
    expect((await inboxCounts(ctx.store.db)).pending).toBe(2);
  });

  it('group commit: concurrent accepts share transactions and duplicates inside one batch are found', async () => {
    const committed: IntakeInboxDeps = { ...deps, committer: new InboxCommitter(ctx.store.db, 50) };
    const inputs = Array.from({ length: 120 }, (_, i) => mail(`g${i % 100}`));
    const results = await Promise.all(
      inputs.map((bytes) => acceptReport(committed, { bytes, channel: 'smtp', receivedAt: T0 })),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(100);
    expect(results.filter((r) => r.duplicate)).toHaveLength(20);
    expect((await inboxCounts(ctx.store.db)).pending).toBe(100);
  });

  it('refuses bad input with AUP_ERR_INPUT_INVALID before storing anything', async () => {
    await expect(
      acceptReport(deps, { bytes: mail('x'), channel: 'pigeon' as 'smtp', receivedAt: T0 }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_INPUT_INVALID' });
    await expect(
      acceptReport(deps, { bytes: mail('x'), channel: 'smtp', receivedAt: T0, route: '../etc' }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_INPUT_INVALID' });
    expect((await inboxCounts(ctx.store.db)).pending).toBe(0);
  });

  it('processes each row once: parsed status recorded; unparsed kept with its reason', async () => {
    await acceptReport(deps, { bytes: mail('p1'), channel: 'smtp', receivedAt: T0, route: 'abuse' });
    await acceptReport(deps, {
      bytes: new Uint8Array([0, 1, 2, 3, 255, 254]),
      channel: 'file',
      receivedAt: T0,
      fileName: 'blob.bin',
    });
    const summary = await processInbox(deps, { limit: 10, clock: clockAt() });
    expect(summary).toMatchObject({ claimed: 2, done: 2, unparsed: 1, failed: 0 });
    const rows = await ctx.store.db.selectFrom('intake_inbox').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.status)).toEqual(['done', 'done']);
    expect(rows[0]!.report_status).not.toBe('unparsed');
    expect(rows[0]!.event_count).toBeGreaterThan(0);
    expect(rows[1]!.report_status).toBe('unparsed');
    expect(JSON.stringify(rows[1]!.parse_errors)).toMatch(/not recognised|binary|unknown/i);
    expect(await deps.evidence.has(rows[1]!.evidence_sha256)).toBe(true);
    expect((await processInbox(deps, { limit: 10, clock: clockAt() })).claimed).toBe(0);
  });

  it('runs the processor in the same transaction as done: a failing processor leaves the row pending to retry, then failed', async () => {
    await acceptReport(deps, { bytes: mail('r1'), channel: 'smtp', receivedAt: T0 });
    let calls = 0;
    const failing: ReportProcessor = async (trx) => {
      calls++;
      await sql`create temporary table if not exists inbox_probe (x int)`.execute(trx);
      await sql`insert into inbox_probe values (1)`.execute(trx);
      throw new Error('pipeline down');
    };
    const d = { ...deps, processReport: failing, maxAttempts: 2, workerId: 'w1' };
    const first = await processInbox(d, { limit: 5, clock: clockAt() });
    expect(first).toMatchObject({ claimed: 1, retried: 1, done: 0 });
    let row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', last_error: 'pipeline down', attempts: 1 });
    // Backoff: not claimable at once, claimable after it.
    expect((await processInbox(d, { limit: 5, clock: clockAt() })).claimed).toBe(0);
    const second = await processInbox(d, { limit: 5, clock: clockAt(60_000) });
    expect(second).toMatchObject({ claimed: 1, failed: 1 });
    row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(calls).toBe(2);
  });

  it('a worker that outlived its lease is fenced off: the row completes once, by the worker that reclaimed it', async () => {
    await acceptReport(deps, { bytes: mail('c1'), channel: 'smtp', receivedAt: T0 });
    const seen: string[] = [];
    const recorder: ReportProcessor = async (_trx, report, item) => {
      seen.push(`${item.id}:${report.messageId}`);
      return { reportId: 7 };
    };
    // Worker A stalls after its claim, outside any transaction (reading the evidence).
    let releaseA!: () => void;
    const stalled = new Promise<void>((r) => {
      releaseA = r;
    });
    class StallingStore extends EvidenceStore {
      override async get(sha256: string): Promise<Uint8Array> {
        await stalled;
        return super.get(sha256);
      }
    }
    const depsA = {
      ...deps,
      evidence: new StallingStore(deps.evidence.root),
      processReport: recorder,
      workerId: 'A',
      leaseMs: 1_000,
    };
    const runA = processInbox(depsA, { limit: 1, clock: clockAt() });
    await new Promise((r) => setTimeout(r, 200));
    const depsB = { ...deps, processReport: recorder, workerId: 'B', leaseMs: 1_000 };
    expect((await processInbox(depsB, { limit: 1, clock: clockAt(500) })).claimed).toBe(0);
    const b = await processInbox(depsB, { limit: 1, clock: clockAt(5_000) });
    expect(b).toMatchObject({ claimed: 1, done: 1 });
    releaseA();
    const a = await runA;
    expect(a).toMatchObject({ claimed: 1, done: 0, lost: 1 });
    expect(seen).toHaveLength(1);
    const row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'done', report_id: 7, claimed_by: 'B', attempts: 2 });
  });

  it('a lease that ran out is reclaimed; the first worker then loses its outcome', async () => {
    const accepted = await acceptReport(deps, { bytes: mail('l1'), channel: 'smtp', receivedAt: T0 });
    // Claim as A by hand (as if A died after claiming).
    await ctx.store.db
      .updateTable('intake_inbox')
      .set({ claimed_by: 'A', claimed_until: new Date(T0.getTime() + 1_000), attempts: 1 })
      .where('id', '=', accepted.inboxId)
      .execute();
    const d = { ...deps, workerId: 'B' };
    expect((await processInbox(d, { limit: 5, clock: clockAt(500) })).claimed).toBe(0);
    const b = await processInbox(d, { limit: 5, clock: clockAt(2_000) });
    expect(b).toMatchObject({ claimed: 1, done: 1 });
    const row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'done', attempts: 2, claimed_by: 'B' });
  });

  it('missing evidence fails the row (kept for an analyst) instead of retrying forever', async () => {
    const accepted = await acceptReport(deps, { bytes: mail('m1'), channel: 'smtp', receivedAt: T0 });
    // Copied out of the evidence journal into the blob tree first, so that removing the file loses it.
    await deps.evidence.drain();
    await unlink(deps.evidence.pathFor(accepted.evidenceSha256));
    const summary = await processInbox(deps, { limit: 5, clock: clockAt() });
    expect(summary).toMatchObject({ failed: 1, done: 0 });
    const row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.last_error).toMatch(/no evidence/);
  });

  it('bounces and loops are recorded without calling the pipeline', async () => {
    const dsn = new TextEncoder().encode(
      'From: MAILER-DAEMON@mx.example\r\nMessage-ID: <dsn1@mx.example>\r\n' +
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--b\r\n' +
        'Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <notice.42@desk.example>\r\nSubject: [AUP-000042]\r\n--b--\r\n',
    );
    await acceptReport(deps, { bytes: dsn, channel: 'smtp', receivedAt: T0, kind: 'bounce' });
    let called = false;
    const summary = await processInbox(
      {
        ...deps,
        processReport: async () => {
          called = true;
          return {};
        },
      },
      { limit: 5, clock: clockAt() },
    );
    expect(summary.done).toBe(1);
    expect(called).toBe(false);
    const row = await ctx.store.db.selectFrom('intake_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row.outcome).toEqual({ recorded: 'bounce', bounceOf: 'notice.42@desk.example' });
    expect(row.message_id).toBe('dsn1@mx.example');
  });
});
