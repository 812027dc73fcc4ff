import { beforeEach, expect, it } from 'vitest';
import { getCase } from '../../src/cases/case-repository.js';
import { getReport } from '../../src/cases/report-repository.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { parseReport } from '../../src/intake/parse-report.js';
import { makePolicy } from '../factories.js';
import { clockAt, historyOf, pipelineDeps, resetDesk, seedRegistry } from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * PostgreSQL `text` and `jsonb` refuse NUL (and `jsonb` lone surrogate escapes). A complaint carrying them
 * must still become a report and a case: the store gets a safe rendering (U+FFFD), the evidence keeps the
 * raw bytes.
 */

function hostileMail(): Uint8Array {
  const text = [
    'From: Reporter <nul@reporter.example>',
    'To: abuse@desk.example.net',
    'Subject: spam from 198.51.100.7 \u0000 with a NUL',
    'Date: Sun, 01 Mar 2026 11:00:00 +0000',
    'Message-ID: <nul-1@reporter.example>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'We received unsolicited bulk email (spam) from 198.51.100.7 on 2026-03-01 10:00 UTC.\u0000 Please stop the spam.',
    '',
  ].join('\r\n');
  return new TextEncoder().encode(text);
}

describeEachBackend('a complaint with NUL bytes', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  it('is stored with a safe rendering and opens a case', async () => {
    const policy = makePolicy();
    const snapshot = await seedRegistry(ctx.store, {
      customers: [{ ref: 'cust-a', emails: ['ops@a.example'] }],
      services: [{ ref: 'vps-a', customer: 'cust-a' }],
      assignments: [{ service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' }],
    });
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    const deps = pipelineDeps(ctx.store, snapshot, historyOf(policy), clock);
    const bytes = hostileMail();
    const parsed = await parseReport({
      bytes,
      channel: 'smtp',
      receivedAt: clock.now(),
      evidenceSha256: 'a'.repeat(64),
    });
    const result = await processReport(deps, parsed);
    expect(result.cases).toHaveLength(1);
    const report = await getReport(ctx.store.db, result.reportId);
    expect(report?.subject).toContain('with a NUL');
    expect(report?.subject).not.toContain('\u0000');
    expect(await getCase(ctx.store.db, result.cases[0]!.ref)).toBeDefined();
  });

  it('stores lone surrogates in text and jsonb without failing', async () => {
    const policy = makePolicy();
    const snapshot = await seedRegistry(ctx.store, {
      customers: [{ ref: 'cust-a', emails: ['ops@a.example'] }],
      services: [{ ref: 'vps-a', customer: 'cust-a' }],
      assignments: [{ service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' }],
    });
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    const deps = pipelineDeps(ctx.store, snapshot, historyOf(policy), clock);
    const parsed = await parseReport({
      bytes: hostileMail(),
      channel: 'smtp',
      receivedAt: clock.now(),
      evidenceSha256: 'b'.repeat(64),
    });
    const result = await processReport(deps, {
      ...parsed,
      subject: 'lone \ud800 surrogate',
      reporter: { ...parsed.reporter, name: 'Eve \udc00 \u0000' },
    });
    const report = await getReport(ctx.store.db, result.reportId);
    expect(report?.subject).toBe('lone \ufffd surrogate');
    expect((report?.reporter as { name?: string } | undefined)?.name).toBe('Eve \ufffd \ufffd');
  });
});
