import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdEmbeddedStore, runCli } from '../../../test/support/cli-backends.js';

/**
 * Through the public CLI on an on-disk embedded store in a temporary data directory (DATABASE_URL is
 * cleared for this file: the CLI would otherwise write into the server's public schema).
 */
const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-registry-cli-'));
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});
// The commands share one open store (test/support/cli-backends.ts), closed before the removal above.
holdEmbeddedStore(dataDir);

/** The CLI on this file's embedded store, with DATABASE_URL unset for the call. */
const run = (...argv: string[]) => runCli({ DATABASE_URL: undefined }, dataDir, argv);

describe('aupdesk registry generate', () => {
  it('writes the same CSV for the same seed, with the import header', async () => {
    const a = await run('registry', 'generate', '--customers', '25', '--seed', '5');
    const b = await run('registry', 'generate', '--customers', '25', '--seed', '5');
    const c = await run('registry', 'generate', '--customers', '25', '--seed', '6');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(a.out).not.toBe(c.out);
    const lines = a.out.trim().split('\n');
    expect(lines[0]).toMatch(/^customer,email,service,kind,resource,valid_from,valid_to,/);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(25);
  });

  it('refuses a bad count', async () => {
    const r = await run('registry', 'generate', '--customers', 'many');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--customers must be a positive whole number/);
  });
});

describe('aupdesk registry import and whois', () => {
  it('imports a generated registry, then finds the same file unchanged', async () => {
    const file = path.join(dataDir, 'demo.csv');
    const gen = await run(
      'registry',
      'generate',
      '--customers',
      '40',
      '--seed',
      '3',
      '--out',
      file,
      '--policy',
      'infince@2019-08-01',
    );
    expect(gen.code).toBe(0);
    const rows = (await readFile(file, 'utf8')).trim().split('\n').length - 1;
    const first = await run('registry', 'import', file);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`imported ${rows} of ${rows} rows from ${file} (0 failed)`);
    expect(first.out).toMatch(/customers: 40 created, 0 updated, 0 unchanged/);
    const again = await run('registry', 'import', file, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({
      imported: rows,
      changed: false,
      customers: { created: 0, updated: 0, unchanged: 40 },
      assignments: { created: 0, updated: 0, unchanged: rows },
    });
  });

  it('names each bad row on stderr, imports the good ones and exits 1', async () => {
    const r = await run('registry', 'import', 'test/fixtures/registry/bad-rows.csv');
    expect(r.code).toBe(1);
    expect(r.out).toContain('imported 1 of 12 rows from test/fixtures/registry/bad-rows.csv (11 failed)');
    expect(r.err).toContain(
      'test/fixtures/registry/bad-rows.csv: line 2: resource: bad prefix "192.0.2.1/24": host bits set: did you mean 192.0.2.0/24? [AUP_ERR_REGISTRY_ROW_INVALID]',
    );
    expect(r.err).toMatch(
      /line 11: 192\.0\.2\.11\/32 .* overlaps assignment \d+ .*\[AUP_ERR_REGISTRY_OVERLAP\]/,
    );
    expect(r.err.trim().split('\n')).toHaveLength(11);
  });

  it('refuses a file whose header lacks a required column', async () => {
    const file = path.join(dataDir, 'short-header.csv');
    await writeFile(
      file,
      'customer,email,service,resource,valid_from\nC1,a@b.example,S1,192.0.2.1,2024-01-01\n',
    );
    const r = await run('registry', 'import', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/line 1: the header lacks kind, valid_to .*\[AUP_ERR_REGISTRY_ROW_INVALID\]/);
  });

  it('answers whois with exactly the documented JSON keys, held or not', async () => {
    await run('registry', 'import', 'test/fixtures/registry/small-registry.csv');
    const held = await run('whois', '198.51.100.77', '--at', '2024-05-01', '--json');
    expect(held.code).toBe(0);
    const answer = JSON.parse(held.out);
    expect(Object.keys(answer)).toEqual([
      'customer',
      'service',
      'resource',
      'valid_from',
      'valid_to',
      'reason',
    ]);
    expect(answer).toMatchObject({
      customer: { ref: 'C002', name: 'Beta Networks B.V.' },
      service: { ref: 'S-VPS-2', kind: 'vps' },
      resource: '198.51.100.77/32',
      valid_from: '2023-01-01T00:00:00.000Z',
      valid_to: null,
      reason: null,
    });
    const old = JSON.parse((await run('whois', 'http://203.0.113.9/x', '--at', '2022-01-01', '--json')).out);
    expect(old).toMatchObject({ customer: { ref: 'C003' }, valid_to: '2023-06-01T00:00:00.000Z' });
    const none = JSON.parse((await run('whois', '8.8.8.8', '--json')).out);
    expect(none).toEqual({
      customer: null,
      service: null,
      resource: null,
      valid_from: null,
      valid_to: null,
      reason: 'unassigned',
    });
    const gap = JSON.parse((await run('whois', 'www.acme.example', '--at', '2020-01-01', '--json')).out);
    expect(gap.reason).toBe('not-held-at-that-time');
  });

  it('prints a readable answer and refuses garbage', async () => {
    const r = await run('whois', '2001:db8:1:2::abcd', '--at', '2024-06-01T12:00:00+02:00');
    expect(r.out).toBe(
      '2001:db8:1:2::abcd at 2024-06-01T10:00:00.000Z\n' +
        '  customer  C001  Acme Hosting GmbH (DE), active, noc@acme.example, abuse@acme.example\n' +
        '  service   S-VPS-1  vps, active, provisioning vm-1001\n' +
        `  resource  2001:db8:1:2::/64  from 2024-01-01T00:00:00.000Z, open-ended (assignment ${/assignment (\d+)/.exec(r.out)?.[1]})\n`,
    );
    const bad = await run('whois', 'not a host!', '--json');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/\[AUP_ERR_ATTRIBUTION_BAD_QUERY\]/);
    const badTime = await run('whois', '192.0.2.1', '--at', 'yesterday');
    expect(badTime.code).toBe(2);
  });
});
