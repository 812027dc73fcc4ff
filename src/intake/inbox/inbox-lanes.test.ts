import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { eventFingerprint } from '../event-fingerprint.js';
import { EvidenceStore } from '../evidence-store.js';
import type { ReportParser, ReportStreamer } from '../parse-pool/parse-pool.js';
import { parseReport } from '../parse-report.js';
import { streamReport } from '../report-stream.js';
import { acceptReport, type IntakeInboxDeps } from './inbox-accept.js';
import { type InboxRunSummary, InboxWorker, processInbox, type SegmentedProcessing } from './inbox-worker.js';

/**
 * The inbox's two lanes: a big report in the large lane does not hold up the complaints behind it in the
 * small one, on either store.
 */

const clock = { now: () => new Date('2026-03-01T10:00:00Z') };
const LARGE = 64 * 1024;

const mail = (n: number): Uint8Array =>
  new TextEncoder().encode(
    `From: Reporter <noc@example.net>\r\nTo: abuse@desk.example\r\nSubject: spam from 192.0.2.${n}\r\n` +
      `Message-ID: <lane-${n}@example.net>\r\nDate: Sat, 28 Feb 2026 22:20:00 +0000\r\n\r\n` +
      `Your host 192.0.2.${n} sent us spam on 2026-02-28 22:14 UTC.\r\n`,
  );

/** A Shadowserver-shaped feed file over LARGE bytes. */
function bigFeed(): Uint8Array {
  const lines = ['"timestamp","ip","port","hostname"'];
  for (let i = 0; lines.join('\n').length < LARGE + 1024; i++)
    lines.push(
      `"2026-02-28 22:00:${String(i % 60).padStart(2, '0')}","192.0.2.${i % 250}",53,"h${i}.example"`,
    );
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-inbox-lanes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describeEachBackend('inbox lanes', (ctx) => {
  let deps: IntakeInboxDeps;
  beforeEach(async () => {
    deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
  });

  const accept = (bytes: Uint8Array, channel: 'smtp' | 'feed', fileName?: string) =>
    acceptReport(deps, { bytes, channel, receivedAt: clock.now(), ...(fileName ? { fileName } : {}) });

  it('a lane claims only its rows, by size', async () => {
    const big = await accept(bigFeed(), 'feed', '2026-02-28-scan_dns-x-geo.csv');
    const small = await accept(mail(1), 'smtp');
    const lane = (name: 'small' | 'large') => ({ name, largeBytes: LARGE });
    const first = await processInbox(deps, { limit: 10, clock, lane: lane('small') });
    expect(first.items.map((i) => i.id)).toEqual([small.inboxId]);
    const second = await processInbox(deps, { limit: 10, clock, lane: lane('small') });
    expect(second.claimed).toBe(0);
    const third = await processInbox(deps, { limit: 10, clock, lane: lane('large') });
    expect(third.items.map((i) => [i.id, i.status])).toEqual([[big.inboxId, 'done']]);
  });

  it('mail that arrives after a big report is done while the big one is still being parsed', async () => {
    let releaseBig!: () => void;
    const bigMayFinish = new Promise<void>((resolve) => {
      releaseBig = resolve;
    });
    const parsing: string[] = [];
    // The parser of both lanes; the big report's parse waits until the test lets it finish.
    const parse: ReportParser = async (input) => {
      parsing.push(input.channel);
      if (input.bytes.length >= LARGE) await bigMayFinish;
      return parseReport(input);
    };
    const done = new Map<string, number>();
    const onProcessed = (summary: InboxRunSummary) => {
      for (const item of summary.items) if (item.status === 'done') done.set(item.id, Date.now());
    };
    const workers = (['small', 'large'] as const).map(
      (name) =>
        new InboxWorker(
          { ...deps, parse },
          { clock, pollMs: 20, onProcessed, lane: { name, largeBytes: LARGE } },
        ),
    );
    for (const w of workers) w.start();
    try {
      const big = await accept(bigFeed(), 'feed', '2026-02-28-scan_dns-x-geo.csv');
      for (const w of workers) w.wake();
      await until(() => parsing.includes('feed'));
      const mails = [await accept(mail(2), 'smtp'), await accept(mail(3), 'smtp')];
      for (const w of workers) w.wake();
      await until(() => mails.every((m) => done.has(m.inboxId)));
      // The mail is done and the big report is not: it is still in its parse.
      expect(done.has(big.inboxId)).toBe(false);
      const row = await ctx.store.db
        .selectFrom('intake_inbox')
        .select('status')
        .where('id', '=', big.inboxId)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('pending');
      releaseBig();
      await until(() => done.has(big.inboxId));
    } finally {
      releaseBig();
      for (const w of workers) await w.stop();
    }
  });
});

describeEachBackend('inbox: a big report a segment per transaction', (ctx) => {
  let deps: IntakeInboxDeps;
  beforeEach(async () => {
    deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
  });

  it('commits each segment with its cursor, lets mail through between segments, and resumes after a failure', async () => {
    const PER = 40;
    let pause: Promise<void> | undefined;
    let resume!: () => void;
    // The streamed parse of the big report: the real one, held after its second chunk while `pause` is set.
    const stream: ReportStreamer = async function* (input) {
      let n = 0;
      for await (const chunk of streamReport(input)) {
        yield chunk;
        if (++n === 2 && pause) await pause;
      }
    };
    const calls: Array<{ events: number; carry: unknown; last: boolean }> = [];
    let failOnCall = -1;
    const segments: SegmentedProcessing = {
      accepts: () => true,
      async process(_trx, segment, carry) {
        calls.push({ events: segment.events.length, carry, last: segment.end !== undefined });
        if (calls.length === failOnCall) throw new Error('the store went away mid-report');
        const before = (carry as { events: number } | null)?.events ?? 0;
        const next = { events: before + segment.events.length };
        return segment.end
          ? { carry: next, outcome: { segments: calls.length, events: next.events } }
          : { carry: next };
      },
    };
    const done = new Map<string, number>();
    const onProcessed = (summary: InboxRunSummary) => {
      for (const item of summary.items) if (item.status === 'done') done.set(item.id, Date.now());
    };
    const inbox = { ...deps, segments, stream, segmentEvents: PER, streamFromBytes: LARGE };
    const feed = bigFeed();
    const rows = new TextDecoder().decode(feed).trimEnd().split('\n').length - 1;

    pause = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const workers = (['small', 'large'] as const).map(
      (name) => new InboxWorker(inbox, { clock, pollMs: 20, onProcessed, lane: { name, largeBytes: LARGE } }),
    );
    for (const w of workers) w.start();
    let big: Awaited<ReturnType<typeof accept>>;
    try {
      big = await accept(feed, 'feed', '2026-02-28-scan_dns-x-geo.csv');
      for (const w of workers) w.wake();
      // The first segment is committed (its cursor on the row) while the report's stream is held.
      await untilAsync(async () => (await progressOf(big.inboxId))?.consumed === PER);
      const mailItem = await accept(mail(4), 'smtp');
      for (const w of workers) w.wake();
      await until(() => done.has(mailItem.inboxId));
      expect(done.has(big.inboxId)).toBe(false);
      resume();
      await until(() => done.has(big.inboxId));
    } finally {
      resume();
      for (const w of workers) await w.stop();
    }
    const segmentsRun = Math.ceil(rows / PER);
    expect(calls.map((c) => c.events)).toEqual(
      Array.from({ length: segmentsRun }, (_, i) => Math.min(PER, rows - i * PER)),
    );
    // Each segment got the carry the one before returned; the last one knows it is the last.
    expect(calls.map((c) => (c.carry as { events: number } | null)?.events ?? null)).toEqual(
      Array.from({ length: segmentsRun }, (_, i) => (i === 0 ? null : i * PER)),
    );
    expect(calls.filter((c) => c.last)).toHaveLength(1);
    const row = await rowOf(big!.inboxId);
    expect(row).toMatchObject({ status: 'done', event_count: rows, report_status: 'parsed' });
    expect(row.outcome).toEqual({ segments: segmentsRun, events: rows });

    // A failure in the third segment of another report: the first two stay committed, the row waits for its
    // retry, and the retry goes on from the cursor instead of starting over.
    calls.length = 0;
    failOnCall = 3;
    pause = undefined;
    const again = await accept(
      bigFeed().map((b) => (b === 0x68 ? 0x6b : b)),
      'feed',
      '2026-02-28-scan_dns-y-geo.csv',
    );
    const failed = await processInbox(inbox, { limit: 10, clock });
    expect(failed.items.map((i) => i.status)).toEqual(['retry']);
    expect((await progressOf(again.inboxId))?.consumed).toBe(2 * PER);
    failOnCall = -1;
    await sql`update intake_inbox set claimed_until = null where id = ${again.inboxId}`.execute(ctx.store.db);
    const retried = await processInbox(inbox, { limit: 10, clock });
    expect(retried.items.map((i) => [i.status, i.events])).toEqual([['done', rows]]);
    // Calls: two committed, the failed third, then the retry from the third on.
    expect(calls.slice(3).map((c) => (c.carry as { events: number }).events)).toEqual(
      Array.from({ length: segmentsRun - 2 }, (_, i) => (i + 2) * PER),
    );
  });

  it('a stream that stops early is retried from the cursor, never taken for the report’s end; a report that parses differently on resume fails', async () => {
    const PER = 40;
    let mode: 'stop' | 'whole' | 'changed' = 'stop';
    // The real parse, except: `stop` ends after two chunks with a stopped chunk (a dead parsing thread),
    // `changed` alters every event (as if the parser had changed between two attempts).
    const stream: ReportStreamer = async function* (input) {
      let n = 0;
      for await (const chunk of streamReport(input)) {
        if (mode === 'stop' && ++n === 3) {
          yield {
            head: chunk.head,
            events: [],
            fingerprints: [],
            errors: [{ message: 'parsing stopped: the parsing thread failed: gone', location: 'report' }],
            stopped: true,
          };
          return;
        }
        if (mode !== 'changed') {
          yield chunk;
          continue;
        }
        const events = chunk.events.map((e) => ({ ...e, 'source.port': 5353 }));
        yield {
          ...chunk,
          events,
          fingerprints: events.map((e) => eventFingerprint(input.evidenceSha256, e)),
        };
      }
    };
    const committed: number[] = [];
    const segments: SegmentedProcessing = {
      accepts: () => true,
      async process(_trx, segment, carry) {
        const before = (carry as { events: number } | null)?.events ?? 0;
        committed.push(segment.events.length);
        return segment.end
          ? {
              carry: { events: before + segment.events.length },
              outcome: { events: before + segment.events.length },
            }
          : { carry: { events: before + segment.events.length } };
      },
    };
    const inbox = { ...deps, segments, stream, segmentEvents: PER, streamFromBytes: LARGE };
    const feed = bigFeed();
    const rows = new TextDecoder().decode(feed).trimEnd().split('\n').length - 1;
    const claimAgain = (id: string) =>
      sql`update intake_inbox set claimed_until = null where id = ${id}`.execute(ctx.store.db);

    const big = await accept(feed, 'feed', '2026-02-28-scan_dns-x-geo.csv');
    const stopped = await processInbox(inbox, { limit: 10, clock });
    expect(stopped.items.map((i) => i.status)).toEqual(['retry']);
    expect(stopped.items[0]?.error).toContain('the report stopped after 80 events: parsing stopped');
    expect(await rowOf(big.inboxId)).toMatchObject({ status: 'pending', progress: { consumed: PER } });

    mode = 'whole';
    await claimAgain(big.inboxId);
    const resumed = await processInbox(inbox, { limit: 10, clock });
    expect(resumed.items.map((i) => [i.status, i.events])).toEqual([['done', rows]]);
    expect(committed.reduce((a, b) => a + b, 0)).toBe(rows);

    // Another report: one segment committed, then it parses differently: failed, not skipped or repeated.
    committed.length = 0;
    mode = 'stop';
    const fresh = await accept(
      new TextEncoder().encode(new TextDecoder().decode(feed).replace(/h(\d+)\.example/g, 'g$1.example')),
      'feed',
      '2026-02-28-scan_dns-z-geo.csv',
    );
    await processInbox(inbox, { limit: 10, clock });
    mode = 'changed';
    await claimAgain(fresh.inboxId);
    const changed = await processInbox(inbox, { limit: 10, clock });
    expect(changed.items.map((i) => i.status)).toEqual(['failed']);
    expect(changed.items[0]?.error).toContain(
      'the report no longer parses as it did when its processing started',
    );
    expect(committed).toEqual([PER]);
  });

  async function rowOf(id: string) {
    return ctx.store.db
      .selectFrom('intake_inbox')
      .select(['status', 'event_count', 'report_status', 'outcome', 'progress'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  async function progressOf(id: string): Promise<{ consumed: number } | null> {
    return (await rowOf(id)).progress as { consumed: number } | null;
  }

  const accept = (bytes: Uint8Array, channel: 'smtp' | 'feed', fileName?: string) =>
    acceptReport(deps, { bytes, channel, receivedAt: clock.now(), ...(fileName ? { fileName } : {}) });
});

async function untilAsync(condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
