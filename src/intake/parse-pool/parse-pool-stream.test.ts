import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../evidence-store.js';
import { type ReportChunk, type StreamReportInput, streamReport } from '../report-stream.js';
import { ParsePool, type ReportStreamer } from './parse-pool.js';

/**
 * A report streamed through the pool: the same chunks as streaming it on the calling thread, handed over one at
 * a time; the thread's time budget runs only while it works; a consumer that breaks out frees its slot; over
 * budget the last chunk says why; a closed pool refuses.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'parse-pool-stream-'));
const HEADER = '"timestamp","ip","protocol","port","hostname","tag","asn","geo"';
const FILE = '2026-01-15-scan_dns-example_org-geo.csv';
const receivedAt = new Date('2026-01-15T12:00:00Z');

function scanDnsCsv(rows: number): Buffer {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `"2026-01-15 ${String(i % 24).padStart(2, '0')}:00:00","192.0.${(i >> 8) & 255}.${i & 255}","udp",53,"host-${i}.example.net","openresolver",64496,"NL"`,
    );
  }
  // One broken row, so errors travel too.
  lines.splice(7, 0, '"2026-01-15 00:00:00","not-an-address","udp",53,"x","openresolver",64496,"NL"');
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

let files = 0;
function stored(bytes: Uint8Array, fileName = FILE): StreamReportInput {
  const file = path.join(dir, `evidence-${files++}`);
  writeFileSync(file, bytes);
  return { path: file, fileName, channel: 'feed', receivedAt, evidenceSha256: sha256Hex(bytes) };
}

async function all(chunks: AsyncIterable<ReportChunk>): Promise<ReportChunk[]> {
  const out: ReportChunk[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (error: unknown) => error,
  );

describe('ParsePool.stream', () => {
  const pools: ParsePool[] = [];
  afterAll(async () => {
    for (const pool of pools) await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const poolOf = (options: ConstructorParameters<typeof ParsePool>[0]) => {
    const pool = new ParsePool(options);
    pools.push(pool);
    return pool;
  };

  it('gives the chunks streaming on the calling thread gives, for a gzipped feed file', async () => {
    const pool = poolOf({ threads: 1, timeBudgetMs: 60_000 });
    const input = { ...stored(gzipSync(scanDnsCsv(3000)), `${FILE}.gz`), eventsPerChunk: 400 };
    // Without a pool, the calling thread streams: streamReport is a ReportStreamer itself.
    const onThread: ReportStreamer = streamReport;
    const expected = await all(onThread(input));
    const inThread = await all(pool.stream(input));
    expect(expected.length).toBe(8);
    expect(expected.flatMap((c) => c.errors)).toHaveLength(1);
    expect(inThread).toEqual(expected);
  }, 60_000);

  it('parses the next chunk while the consumer works on the one it has', async () => {
    const pool = poolOf({ threads: 1, timeBudgetMs: 60_000 });
    await pool.warmUp();
    const input = { ...stored(scanDnsCsv(30_000)), eventsPerChunk: 10_000 };
    const chunks = pool.stream(input)[Symbol.asyncIterator]();
    const t0 = performance.now();
    const first = await chunks.next();
    const firstMs = performance.now() - t0;
    // The consumer works on the first chunk (commits a segment) for longer than the thread takes on a chunk.
    await new Promise((resolve) => setTimeout(resolve, Math.max(300, 2 * firstMs)));
    const t1 = performance.now();
    const second = await chunks.next();
    const secondMs = performance.now() - t1;
    // Made meanwhile: waiting for it took a fraction of what making the first did (without read-ahead, as much).
    expect(secondMs).toBeLessThan(firstMs / 4);
    let events = (first.value?.events.length ?? 0) + (second.value?.events.length ?? 0);
    for (let next = await chunks.next(); !next.done; next = await chunks.next())
      events += next.value.events.length;
    expect(events).toBe(30_000);
  }, 60_000);

  it('counts only the thread’s working time against the budget, not the consumer’s', async () => {
    const pool = poolOf({ threads: 1, timeBudgetMs: 4000 });
    // The thread's start-up (tsx compiling the parsers) is not what this test measures.
    await pool.warmUp();
    const input = { ...stored(scanDnsCsv(1200)), eventsPerChunk: 400 };
    const chunks: ReportChunk[] = [];
    for await (const chunk of pool.stream(input)) {
      chunks.push(chunk);
      // A slow consumer (a segment committed per chunk): 3 × 1.5 s of waiting, past the budget in sum.
      if (chunks.length <= 3) await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    expect(chunks.flatMap((c) => c.errors.map((e) => e.message))).not.toContainEqual(
      expect.stringMatching(/parsing stopped/),
    );
    expect(chunks.flatMap((c) => c.events)).toHaveLength(1200);
  }, 60_000);

  it('streams a file in a thread whose memory budget the whole parse of it overruns', async () => {
    const pool = poolOf({ threads: 1, memoryBudgetMb: 64, timeBudgetMs: 120_000 });
    const input = {
      ...stored(gzipSync(scanDnsCsv(200_000), { level: 1 }), `${FILE}.gz`),
      eventsPerChunk: 5000,
    };
    let events = 0;
    let biggest = 0;
    const stopped: string[] = [];
    for await (const chunk of pool.stream(input)) {
      events += chunk.events.length;
      biggest = Math.max(biggest, chunk.events.length);
      for (const error of chunk.errors)
        if (/parsing stopped/.test(error.message)) stopped.push(error.message);
    }
    expect(stopped).toEqual([]);
    expect(events).toBe(200_000);
    expect(biggest).toBe(5000);
    // The same file parsed whole in the same budget: well over a hundred MiB of events, past 64.
    const whole = await pool.parse({
      bytes: readFileSync(input.path),
      fileName: input.fileName,
      channel: 'feed',
      receivedAt,
    });
    expect(whole.errors.map((e) => e.message)).toEqual([
      'parsing stopped: over its memory budget of 64 MiB (AUPDESK_PARSE_MEMORY_MB)',
    ]);
  }, 120_000);

  it('frees its slot when the consumer breaks out: the next parse and stream run', async () => {
    const pool = poolOf({ threads: 1, timeBudgetMs: 60_000 });
    const input = { ...stored(scanDnsCsv(5000)), eventsPerChunk: 100 };
    let taken = 0;
    for await (const chunk of pool.stream(input)) {
      taken += chunk.events.length;
      if (taken >= 200) break;
    }
    expect(taken).toBe(200);
    const next = await pool.parse({ bytes: scanDnsCsv(3), fileName: FILE, channel: 'feed', receivedAt });
    expect(next.status).toBe('partial');
    expect(next.events).toHaveLength(3);
    const again = await all(pool.stream({ ...input, eventsPerChunk: 10_000 }));
    expect(again.flatMap((c) => c.events)).toHaveLength(5000);
  }, 60_000);

  it('a stream under way never holds up a whole parse: streams have a thread of their own', async () => {
    // One parse thread: a big report's stream holds its thread for as long as the pipeline takes (minutes),
    // and a mail's parse must not wait for it.
    const pool = poolOf({ threads: 1, timeBudgetMs: 60_000 });
    const stream = pool.stream({ ...stored(scanDnsCsv(5000)), eventsPerChunk: 100 })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    // The stream is now held between chunks (its consumer "committing"); a parse runs meanwhile.
    const parsed = await pool.parse({ bytes: scanDnsCsv(3), fileName: FILE, channel: 'feed', receivedAt });
    expect(parsed.events).toHaveLength(3);
    await stream.return?.(undefined);
  }, 60_000);

  it('ends with a chunk that says why when the thread runs over its time budget; what came before stands', async () => {
    const pool = poolOf({ threads: 1, timeBudgetMs: 150 });
    const input = { ...stored(scanDnsCsv(300_000)), eventsPerChunk: 1000 };
    const chunks = await all(pool.stream(input));
    const last = chunks.at(-1)!;
    expect(last.events).toEqual([]);
    expect(last.errors).toEqual([
      {
        message: 'parsing stopped: over its time budget of 0.15 s (AUPDESK_PARSE_TIME_BUDGET_S)',
        location: 'report',
      },
    ]);
    expect(last.stopped).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.stopped === undefined)).toBe(true);
    expect(last.head.evidenceSha256).toBe(input.evidenceSha256);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.head).toEqual(last.head);
    expect(chunks.flatMap((c) => c.events).length).toBeLessThan(300_000);
  }, 60_000);

  it('rejects with AUP_ERR_PARSE_POOL_CLOSED once closed, a stream under way too', async () => {
    const pool = new ParsePool({ threads: 1, timeBudgetMs: 60_000 });
    const input = { ...stored(scanDnsCsv(3000)), eventsPerChunk: 100 };
    const chunks = pool.stream(input)[Symbol.asyncIterator]();
    const first = await chunks.next();
    expect(first.done).toBe(false);
    const closing = pool.close();
    expect(await outcome(chunks.next())).toMatchObject({ code: 'AUP_ERR_PARSE_POOL_CLOSED' });
    await closing;
    expect(await outcome(all(pool.stream(input)))).toMatchObject({ code: 'AUP_ERR_PARSE_POOL_CLOSED' });
  }, 60_000);
});
