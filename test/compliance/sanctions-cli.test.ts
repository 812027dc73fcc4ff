import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

/**
 * `aupdesk sanctions import` on an embedded store: the list is stored, the possible matches are queued once
 * (a second import queues nothing), and a later `registry import` screens the new customers against it.
 */
let dataDir: string;
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  delete process.env.DATABASE_URL;
  dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-sanctions-cli-'));
});
afterAll(async () => {
  if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => {
    outText += d.toString();
  });
  err.on('data', (d: Buffer) => {
    errText += d.toString();
  });
  const code = await main(['--data', dataDir, ...argv], { out, err });
  return { code, out: outText, err: errText };
}

const sdn = 'test/fixtures/compliance/sdn';

describe('aupdesk sanctions import', () => {
  it('queues the possible matches once, and screens customers added later', async () => {
    expect((await run('registry', 'import', `${sdn}/registry.csv`)).code).toBe(0);
    const first = await run(
      'sanctions',
      'import',
      '--sdn',
      `${sdn}/sdn.csv`,
      '--alt',
      `${sdn}/alt.csv`,
      '--add',
      `${sdn}/add.csv`,
      '--json',
    );
    expect(first.code).toBe(1);
    const lines = first.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { customer: string; entry: number });
    expect(lines.map((m) => [m.customer, m.entry])).toEqual([
      ['northstar', 10002],
      ['globaltek', 10003],
    ]);
    expect(first.err).toContain('2 new to the review queue');

    const again = await run('sanctions', 'import', '--sdn', `${sdn}/sdn.csv`, '--alt', `${sdn}/alt.csv`);
    expect(again).toMatchObject({ code: 0, out: '' });

    const newcomer = path.join(dataDir, 'newcomer.csv');
    await writeFile(
      newcomer,
      'customer,email,service,kind,resource,valid_from,valid_to,customer_name,country\npetrov,ivan@petrov.example,petrov-vps,vps,192.0.2.24/29,2026-01-01,,Ivan Petrov,RU\n',
    );
    const added = await run('registry', 'import', newcomer);
    expect(added.code).toBe(0);
    expect(added.err).toContain('sanctions: 1 new possible match(es) queued for review');

    const bad = await run('sanctions', 'import', '--sdn', `${sdn}/registry.csv`);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('sdn.csv line 1');
  });
});
