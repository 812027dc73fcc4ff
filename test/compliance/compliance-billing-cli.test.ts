import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdEmbeddedStore, runCli } from '../support/cli-backends.js';

/**
 * `aupdesk compliance certify-request | certify | certify-list | certify-charge | sla-report` on an
 * embedded store in a temporary data directory.
 */
const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-compliance-billing-cli-'));
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});
// The commands share one open store (test/support/cli-backends.ts), closed before the removal above.
holdEmbeddedStore(dataDir);

/** The CLI on this file's embedded store, with DATABASE_URL unset for the call. */
const run = (...argv: string[]) => runCli({ DATABASE_URL: undefined }, dataDir, argv);

describe('aupdesk compliance', () => {
  it('requests a certification, lists it, records the answer, and refuses bad input', async () => {
    expect((await run('registry', 'import', 'test/fixtures/scenarios/registry.csv')).code).toBe(0);
    const due = new Date(Date.now() + 14 * 86_400_000).toISOString();
    const req = await run(
      'compliance',
      'certify-request',
      '--customer',
      'gamehost',
      '--due',
      due,
      '--fee',
      '250',
    );
    expect(req.code, req.err).toBe(0);
    const cert = JSON.parse(req.out) as { ref: string; fee: { currency: string; everyDays: number } };
    expect(cert.fee).toEqual({ amount: 250, currency: 'USD', everyDays: 30 });
    const list = await run('compliance', 'certify-list', '--customer', 'gamehost');
    expect(
      list.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { ref: string }).ref),
    ).toEqual([cert.ref]);
    // Not yet due: nothing charged.
    expect(await run('compliance', 'certify-charge')).toMatchObject({ code: 0, out: '' });
    const done = await run('compliance', 'certify', cert.ref, '--statement', 'signed certificate received');
    expect(done.code, done.err).toBe(0);
    expect(JSON.parse(done.out)).toMatchObject({ ref: cert.ref, statement: 'signed certificate received' });
    const unknown = await run(
      'compliance',
      'certify-request',
      '--customer',
      'nobody',
      '--due',
      due,
      '--fee',
      '1',
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain('nobody');
    const badDate = await run(
      'compliance',
      'certify-request',
      '--customer',
      'gamehost',
      '--due',
      'soon',
      '--fee',
      '1',
    );
    expect(badDate.code).not.toBe(0);
    expect(badDate.err).toContain('--due');
  });

  it('prints the SLA exclusion report as JSON and CSV', async () => {
    const json = await run('compliance', 'sla-report', '--from', '2026-12-01', '--to', '2027-01-01');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toEqual({
      from: '2026-12-01T00:00:00.000Z',
      to: '2027-01-01T00:00:00.000Z',
      customers: [],
    });
    const csv = await run('compliance', 'sla-report', '--from', '2026-12-01', '--to', '2027-01-01', '--csv');
    expect(csv.out).toBe('customer,service,case,start,end,hours,ongoing\r\n');
    const backwards = await run('compliance', 'sla-report', '--from', '2027-01-01', '--to', '2026-12-01');
    expect(backwards.code).not.toBe(0);
  });
});
