import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReport } from '../parse-report.js';
import { ParsePool, parsePoolOptionsFromEnv } from './parse-pool.js';

/**
 * The parse pool runs the same parser as the main thread, in worker threads, under a time and a memory
 * budget per report. Over budget, the report comes back `unparsed` with the reason, and the pool goes on
 * parsing the next one with a fresh thread.
 */

const HEADER = '"timestamp","ip","protocol","port","hostname","tag","asn","geo"';
function scanDnsCsv(rows: number): Uint8Array {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `"2026-01-15 ${String(i % 24).padStart(2, '0')}:00:00","192.0.${(i >> 8) & 255}.${i & 255}","udp",53,"host-${i}.example.net","openresolver",64496,"NL"`,
    );
  }
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n`);
}
const FILE = '2026-01-15-scan_dns-example_org-geo.csv';
const receivedAt = new Date('2026-01-15T12:00:00Z');

describe('ParsePool', () => {
  const pools: ParsePool[] = [];
  afterAll(async () => {
    for (const pool of pools) await pool.close();
  });

  it('gives the same report as parsing on the main thread, with one thread per core by default', async () => {
    const pool = new ParsePool();
    pools.push(pool);
    expect(pool.threads).toBe(availableParallelism());
    const input = { bytes: scanDnsCsv(500), fileName: FILE, channel: 'feed' as const, receivedAt };
    const inThread = await pool.parse(input);
    const onMain = await parseReport(input);
    expect(inThread.status).toBe('parsed');
    expect(inThread.format).toBe('shadowserver');
    expect(inThread.events).toHaveLength(500);
    expect(inThread).toEqual(onMain);
  });

  it('parses reports side by side and keeps each answer with its input', async () => {
    const pool = new ParsePool({ threads: 2 });
    pools.push(pool);
    const sizes = [3, 40, 1, 250, 7];
    const reports = await Promise.all(
      sizes.map((n) => pool.parse({ bytes: scanDnsCsv(n), fileName: FILE, channel: 'feed', receivedAt })),
    );
    expect(reports.map((r) => r.events.length)).toEqual(sizes);
  });

  it('marks a report over its time budget unparsed with the reason, then parses the next', async () => {
    const pool = new ParsePool({ threads: 1, timeBudgetMs: 150 });
    pools.push(pool);
    const big = await pool.parse({ bytes: scanDnsCsv(400_000), fileName: FILE, channel: 'feed', receivedAt });
    expect(big.status).toBe('unparsed');
    expect(big.events).toEqual([]);
    expect(big.errors).toEqual([
      {
        message: 'parsing stopped: over its time budget of 0.15 s (AUPDESK_PARSE_TIME_BUDGET_S)',
        location: 'report',
      },
    ]);
    expect(big.evidenceSha256).toMatch(/^[0-9a-f]{64}$/);
    // A thread's start-up can exceed 150 ms on a loaded machine: the next report gets a generous budget.
    const generous = new ParsePool({ threads: 1, timeBudgetMs: 60_000 });
    pools.push(generous);
    const small = await generous.parse({ bytes: scanDnsCsv(2), fileName: FILE, channel: 'feed', receivedAt });
    expect(small.status).toBe('parsed');
    expect(small.events).toHaveLength(2);
  });

  it('marks a report over its memory budget unparsed with the reason, and the pool recovers', async () => {
    const pool = new ParsePool({ threads: 1, memoryBudgetMb: 64, timeBudgetMs: 120_000 });
    pools.push(pool);
    // 600,000 events as objects need several hundred MiB of heap: far past 64.
    const big = await pool.parse({ bytes: scanDnsCsv(600_000), fileName: FILE, channel: 'feed', receivedAt });
    expect(big.status).toBe('unparsed');
    expect(big.errors.map((e) => e.message)).toEqual([
      'parsing stopped: over its memory budget of 64 MiB (AUPDESK_PARSE_MEMORY_MB)',
    ]);
    const next = await pool.parse({ bytes: scanDnsCsv(3), fileName: FILE, channel: 'feed', receivedAt });
    expect(next.status).toBe('parsed');
    expect(next.events).toHaveLength(3);
  }, 120_000);

  it('abandons a parse under way when closed, with an error rather than an unparsed report', async () => {
    const pool = new ParsePool({ threads: 1 });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (error: unknown) => error,
      );
    const parsing = outcome(
      pool.parse({ bytes: scanDnsCsv(300_000), fileName: FILE, channel: 'feed', receivedAt }),
    );
    const waiting = outcome(
      pool.parse({ bytes: scanDnsCsv(1), fileName: FILE, channel: 'feed', receivedAt }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await pool.close();
    expect(await parsing).toMatchObject({ code: 'AUP_ERR_PARSE_POOL_CLOSED' });
    expect(await waiting).toMatchObject({ code: 'AUP_ERR_PARSE_POOL_CLOSED' });
    await expect(
      pool.parse({ bytes: scanDnsCsv(1), fileName: FILE, channel: 'feed', receivedAt }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_PARSE_POOL_CLOSED' });
  });

  it('reads its settings from the environment and refuses nonsense', () => {
    expect(
      parsePoolOptionsFromEnv({
        AUPDESK_PARSE_THREADS: '3',
        AUPDESK_PARSE_TIME_BUDGET_S: '2.5',
        AUPDESK_PARSE_MEMORY_MB: '512',
      }),
    ).toEqual({ threads: 3, timeBudgetMs: 2500, memoryBudgetMb: 512 });
    expect(parsePoolOptionsFromEnv({})).toEqual({
      threads: undefined,
      timeBudgetMs: undefined,
      memoryBudgetMb: undefined,
    });
    expect(() => parsePoolOptionsFromEnv({ AUPDESK_PARSE_THREADS: 'lots' })).toThrow(/AUPDESK_PARSE_THREADS/);
    expect(() => parsePoolOptionsFromEnv({ AUPDESK_PARSE_MEMORY_MB: '8' })).toThrow(
      /AUPDESK_PARSE_MEMORY_MB/,
    );
  });
});
