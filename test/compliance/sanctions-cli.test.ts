import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdEmbeddedStore, runCli } from '../support/cli-backends.js';

/**
 * `aupdesk sanctions import` on an embedded store: the list is stored, the possible matches are queued once
 * (a second import queues nothing), and a later `registry import` screens the new customers against it.
 */
const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-sanctions-cli-'));
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});
// The commands share one open store (test/support/cli-backends.ts), closed before the removal above.
holdEmbeddedStore(dataDir);

/** The CLI on this file's embedded store, with DATABASE_URL unset for the call. */
const run = (...argv: string[]) => runCli({ DATABASE_URL: undefined }, dataDir, argv);

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
