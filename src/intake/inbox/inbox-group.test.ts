import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import type { Database } from '../../store/schema.js';
import { EvidenceStore } from '../evidence-store.js';
import type { ReportParser } from '../parse-pool/parse-pool.js';
import { parseReport } from '../parse-report.js';
import { acceptReport, type IntakeInboxDeps } from './inbox-accept.js';
import { type InboxItem, processInbox, type ReportProcessor } from './inbox-worker.js';

/**
 * Small rows completed a group per transaction (inbox-group.ts): each row's writes and its `done` commit
 * together and once; a row that fails is retried alone while the rest of its group is done; the group is
 * bounded by time; and the rows a round claimed are parsed ahead, all at once.
 */

const clock = { now: () => new Date('2026-03-01T10:00:00Z') };

const mail = (n: number): Uint8Array =>
  new TextEncoder().encode(
    `From: Reporter <noc@example.net>\r\nTo: abuse@desk.example\r\nSubject: spam from 192.0.2.${n}\r\n` +
      `Message-ID: <group-${n}@example.net>\r\nDate: Sat, 28 Feb 2026 22:20:00 +0000\r\n\r\n` +
      `Your host 192.0.2.${n} sent us spam on 2026-02-28 22:14 UTC.\r\n`,
  );

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-inbox-group-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describeEachBackend('inbox groups', (ctx) => {
  let deps: IntakeInboxDeps;
  let ids: string[];
  beforeEach(async () => {
    deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
    await sql`create table if not exists group_test_writes (inbox_id text primary key)`.execute(ctx.store.db);
    await sql`delete from group_test_writes`.execute(ctx.store.db);
    ids = [];
    for (let n = 1; n <= 6; n++)
      ids.push(
        (await acceptReport(deps, { bytes: mail(n), channel: 'smtp', receivedAt: clock.now() })).inboxId,
      );
  });

  /** A processor that writes a row per item in the inbox's transaction and notes which transaction it was. */
  function recordingProcessor(options: { failOn?: string; delayMs?: number } = {}) {
    const transactions: Array<Transaction<Database>> = [];
    const seen: string[] = [];
    const processReport: ReportProcessor = async (trx, _report, item: InboxItem) => {
      seen.push(item.id);
      if (!transactions.includes(trx)) transactions.push(trx);
      await sql`insert into group_test_writes (inbox_id) values (${item.id})`.execute(trx);
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (item.id === options.failOn) throw new Error('the pipeline refused this one');
      return { recorded: 'test' };
    };
    return { processReport, transactions, seen };
  }

  const written = async () =>
    (
      await sql<{ inbox_id: string }>`select inbox_id from group_test_writes order by inbox_id`.execute(
        ctx.store.db,
      )
    ).rows
      .map((r) => r.inbox_id)
      .sort((a, b) => Number(a) - Number(b));
  const statuses = async () =>
    (
      await ctx.store.db
        .selectFrom('intake_inbox')
        .select(['id', 'status', 'last_error'])
        .orderBy('id')
        .execute()
    ).map((r) => [String(r.id), r.status, r.last_error]);

  it('completes a burst of small rows in one transaction, each row done once with its writes', async () => {
    const p = recordingProcessor();
    const summary = await processInbox(
      { ...deps, processReport: p.processReport, groupMs: 60_000 },
      { limit: 10, clock },
    );
    expect(summary).toMatchObject({ claimed: 6, done: 6, retried: 0, failed: 0, lost: 0 });
    expect(p.transactions).toHaveLength(1);
    expect(p.seen).toEqual(ids);
    expect(await written()).toEqual(ids);
    expect(await statuses()).toEqual(ids.map((id) => [id, 'done', null]));
    // Each row's `done` (written for the group in one statement) says what its report came to.
    const facts = await ctx.store.db
      .selectFrom('intake_inbox')
      .select(['id', 'report_status', 'report_format', 'event_count', 'parse_errors', 'outcome'])
      .select(['processed_at', 'claimed_until', 'progress'])
      .orderBy('id')
      .execute();
    for (const [n, row] of facts.entries()) {
      const parsed = await parseReport({ bytes: mail(n + 1), channel: 'smtp', receivedAt: clock.now() });
      expect(row).toEqual({
        id: row.id,
        report_status: parsed.status,
        report_format: parsed.format,
        event_count: parsed.events.length,
        parse_errors: parsed.errors,
        outcome: { recorded: 'test' },
        processed_at: clock.now(),
        claimed_until: null,
        progress: null,
      });
    }
    // Nothing left to do, nothing done twice.
    expect(
      (await processInbox({ ...deps, processReport: p.processReport }, { limit: 10, clock })).claimed,
    ).toBe(0);
    expect(await written()).toEqual(ids);
  });

  it('with groupMs 0, a transaction per row', async () => {
    const p = recordingProcessor();
    await processInbox({ ...deps, processReport: p.processReport, groupMs: 0 }, { limit: 10, clock });
    expect(p.transactions).toHaveLength(6);
    expect(await written()).toEqual(ids);
  });

  it('ends a transaction once it has run groupMs, and takes the rest in the next', async () => {
    const p = recordingProcessor({ delayMs: 5 });
    const summary = await processInbox(
      { ...deps, processReport: p.processReport, groupMs: 1 },
      { limit: 10, clock },
    );
    expect(summary.done).toBe(6);
    // Every row takes 5 ms, so each transaction has run its 1 ms after its first row.
    expect(p.transactions).toHaveLength(6);
  });

  it('retries the row at fault alone; the rest of its group are done, their writes once', async () => {
    const bad = ids[2]!;
    const p = recordingProcessor({ failOn: bad });
    const summary = await processInbox(
      { ...deps, processReport: p.processReport, groupMs: 60_000 },
      { limit: 10, clock },
    );
    expect(summary).toMatchObject({ claimed: 6, done: 5, retried: 1, failed: 0 });
    expect(summary.items.find((i) => i.id === bad)).toMatchObject({
      status: 'retry',
      error: 'the pipeline refused this one',
    });
    // The group rolled back when the third row threw; the three it had taken ran again one by one.
    expect(p.transactions.length).toBeGreaterThan(1);
    expect(await written()).toEqual(ids.filter((id) => id !== bad));
    const rows = await statuses();
    expect(rows.filter(([, status]) => status === 'done').map(([id]) => id)).toEqual(
      ids.filter((id) => id !== bad),
    );
    expect(rows.find(([id]) => id === bad)).toEqual([bad, 'pending', 'the pipeline refused this one']);
  });

  it('parses the rows a round claimed all at once, ahead of their transactions', async () => {
    let inFlight = 0;
    let most = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const parse: ReportParser = async (input) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      if (inFlight === ids.length) release();
      // Parsed one after the other, the first would wait here for the others forever: a timeout ends it.
      await Promise.race([allStarted, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      inFlight -= 1;
      return parseReport(input);
    };
    const p = recordingProcessor();
    const summary = await processInbox(
      { ...deps, parse, processReport: p.processReport },
      { limit: 10, clock },
    );
    expect(summary.done).toBe(6);
    expect(most).toBe(ids.length);
  });

  it('drops a row another worker took meanwhile (lost), and completes the rest of its group', async () => {
    const taken = ids[3]!;
    // While the round parses, the row's claim passes to another worker (its lease ran out, say).
    const parse: ReportParser = async (input) => {
      if (new TextDecoder().decode(input.bytes).includes('<group-4@'))
        await sql`update intake_inbox set claimed_by = 'another-worker' where id = ${taken}`.execute(
          ctx.store.db,
        );
      return parseReport(input);
    };
    const p = recordingProcessor();
    const summary = await processInbox(
      { ...deps, parse, processReport: p.processReport, groupMs: 60_000 },
      { limit: 10, clock },
    );
    expect(summary).toMatchObject({ claimed: 6, done: 5, lost: 1 });
    expect(p.transactions).toHaveLength(1);
    expect(await written()).toEqual(ids.filter((id) => id !== taken));
    expect((await statuses()).find(([id]) => id === taken)).toEqual([taken, 'pending', null]);
  });

  it('retries a row whose parser threw, and completes the others', async () => {
    const bad = ids[1]!;
    let thrown = 0;
    const parse: ReportParser = async (input) => {
      const text = new TextDecoder().decode(input.bytes);
      if (text.includes('<group-2@') && thrown++ === 0) throw new Error('parse pool closed');
      return parseReport(input);
    };
    const p = recordingProcessor();
    const summary = await processInbox(
      { ...deps, parse, processReport: p.processReport },
      { limit: 10, clock },
    );
    expect(summary).toMatchObject({ done: 5, retried: 1 });
    expect(summary.items.find((i) => i.id === bad)).toMatchObject({
      status: 'retry',
      error: 'parse pool closed',
    });
  });
});
