import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { EvidenceStore } from '../evidence-store.js';
import type { ReportParser } from '../parse-pool/parse-pool.js';
import { parseReport } from '../parse-report.js';
import { acceptReport, type IntakeInboxDeps } from './inbox-accept.js';
import { type InboxRunSummary, InboxWorker, processInbox } from './inbox-worker.js';

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

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
