import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { inflatingMail } from '../support/inflating-mail.js';
import { complaintMail, type Desk, startDesk, stopDesk } from './e2e-support.js';

/**
 * Parsing runs in worker threads: while the desk reads a 3.6 MB mail whose gzip attachment inflates to
 * 200 MiB (inside every limit, so it is read to the end), `/healthz` and the case list keep answering, and
 * another complaint is taken by SMTP at once. With parsing on the main thread each of those waited for
 * the whole parse (19.9 s for a 240 MiB attachment, measured before the pool existed).
 *
 * The bound asserted is generous (p99 under 500 ms on a shared 2-core machine); the real figure is printed
 * and recorded by the pipeline benchmark (docs/benchmarks.md).
 */

const INFLATED_MIB = 200;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe('serve stays responsive while a huge attachment is parsed', () => {
  let desk: Desk;
  let apiKey: string;
  // A desk starts in seconds; on a shared machine under load it has taken over a minute.
  beforeAll(async () => {
    desk = await startDesk({
      postgres: false,
      start: '2026-11-20T09:00:00.000Z',
      smtpMaxMessageBytes: 10 * 1024 * 1024,
      env: { AUPDESK_PARSE_TIME_BUDGET_S: '600' },
    });
    apiKey = (
      await createApiKey(desk.handle.store.db, { name: 'responsive', role: 'analyst', now: desk.clock.now() })
    ).key;
  }, 240_000);
  afterAll(async () => {
    await stopDesk(desk);
  });

  it('/healthz and the case list answer quickly and SMTP takes mail during the parse', {
    timeout: 240_000,
  }, async () => {
    const db = desk.handle.store.db;
    const base = desk.handle.http!.url;
    const { mail } = inflatingMail(INFLATED_MIB, '<big-log-1@reporter-big.example>');
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: desk.handle.smtp!.port,
      secure: false,
      ignoreTLS: true,
    });
    const sent = await client.sendMail({
      envelope: { from: 'ops@reporter-big.example', to: ['abuse@desk-e2e.example'] },
      raw: mail,
    });
    expect(sent.response).toMatch(/^250 /);

    // The inbox worker (woken by the accept) claims the row and starts parsing.
    // The first row of the inbox: nothing else was sent yet.
    const bigRow = async () =>
      db.selectFrom('intake_inbox').selectAll().orderBy('id').limit(1).executeTakeFirstOrThrow();
    for (let i = 0; i < 300 && (await bigRow()).claimed_by === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await bigRow()).claimed_by).not.toBeNull();

    const health: number[] = [];
    const caseList: number[] = [];
    let smtpMs: number | undefined;
    const timed = async (url: string, headers: Record<string, string>, into: number[]) => {
      const t0 = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      into.push(performance.now() - t0);
      expect(res.status).toBe(200);
    };
    const started = performance.now();
    for (;;) {
      const row = await bigRow();
      if (row.status !== 'pending') break;
      if (performance.now() - started > 200_000) throw new Error('the big mail was not processed in 200 s');
      await timed(`${base}/healthz`, {}, health);
      await timed(`${base}/api/v1/cases`, { authorization: `Bearer ${apiKey}` }, caseList);
      if (smtpMs === undefined && health.length === 5) {
        const small = complaintMail('192.0.2.77', desk.clock.now(), 'during-parse');
        const t0 = performance.now();
        const info = await client.sendMail({
          from: '"Alice Reporter" <alice@reporter-e2e.example>',
          to: 'abuse@desk-e2e.example',
          subject: small.subject,
          text: small.text,
          messageId: small.messageId,
        });
        smtpMs = performance.now() - t0;
        expect(info.response).toMatch(/^250 /);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const parseMs = performance.now() - started;
    const done = await bigRow();
    expect(done.status).toBe('done');
    // Read in part: a complaint's text is read up to 200,000 lines (about 1.7 million here), and the report
    // says so; the rest stays in the evidence.
    expect(done.report_status).toBe('partial');
    expect(done.event_count).toBeGreaterThan(0);

    const figures = {
      parseMs: Math.round(parseMs),
      samples: health.length,
      healthP99: Math.round(percentile(health, 99)),
      caseListP99: Math.round(percentile(caseList, 99)),
      healthMax: Math.round(Math.max(...health)),
      smtpMs: Math.round(smtpMs ?? Number.NaN),
    };
    process.stdout.write(`parse responsiveness: ${JSON.stringify(figures)}\n`);
    // The parse takes seconds: many probes ran while it did.
    expect(health.length).toBeGreaterThanOrEqual(10);
    expect(percentile(health, 99)).toBeLessThan(500);
    expect(percentile(caseList, 99)).toBeLessThan(500);
    expect(smtpMs).toBeLessThan(2_000);
  });
});
