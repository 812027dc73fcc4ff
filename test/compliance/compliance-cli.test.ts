import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SimulationRow } from '../../src/enforcement/simulation/desk-simulator.js';
import { holdEmbeddedStore, runCli } from '../support/cli-backends.js';

/**
 * `aupdesk consent import <file>` on an embedded store in a temporary data directory, and
 * `aupdesk simulate --consents <file>`: a consented scan's row says `authorised`, the same scan a day later
 * opens a case.
 */
const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-compliance-cli-'));
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});
// The commands share one open store (test/support/cli-backends.ts), closed before the removal above.
holdEmbeddedStore(dataDir);

/** The CLI on this file's embedded store, with DATABASE_URL unset for the call. */
const run = (...argv: string[]) => runCli({ DATABASE_URL: undefined }, dataDir, argv);

const fixtures = 'test/fixtures/compliance';

describe('aupdesk consent', () => {
  it('imports a consent file once, lists it, refuses a bad file with the line, and revokes', async () => {
    expect((await run('registry', 'import', 'test/fixtures/scenarios/registry.csv')).code).toBe(0);
    const first = await run('consent', 'import', `${fixtures}/consents.csv`);
    expect(first).toMatchObject({ code: 0 });
    expect(first.out).toContain('recorded 1 consent(s)');
    const again = await run('consent', 'import', `${fixtures}/consents.csv`, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ created: [], existing: [{ service: 'labco-vps' }] });

    const listed = (await run('consent', 'list')).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(listed).toEqual([
      {
        id: 1,
        service: 'labco-vps',
        targets: ['203.0.113.0/28', '2001:db8:77::/48'],
        valid_from: '2026-12-03T00:00:00.000Z',
        valid_to: '2026-12-03T12:00:00.000Z',
        reference: 'SP-TICKET-4411 (signed letter of 2026-12-01)',
        revoked_at: null,
      },
    ]);

    const bad = path.join(dataDir, 'bad.csv');
    await writeFile(
      bad,
      'service,targets,valid_from,valid_to,reference\nlabco-vps,203.0.113.0/33,2026-12-03,2026-12-04,X\n',
    );
    const refused = await run('consent', 'import', bad);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/line 2: bad prefix "203.0.113.0\/33"/);

    const revoked = await run('consent', 'revoke', '1', '--reason', 'test cancelled by the customer');
    expect(JSON.parse(revoked.out)).toMatchObject({ id: 1 });
    expect(JSON.parse(revoked.out).revoked_at).not.toBeNull();
    const audit = await run('audit', 'list', '--kind', 'consent.revoked');
    expect(audit.code).toBe(0);
  }, 240_000);
});

describe('aupdesk simulate --consents', () => {
  const simulate = async (...extra: string[]) => {
    const r = await run(
      'simulate',
      '--policy',
      'policies/securepacket',
      '--registry',
      'test/fixtures/scenarios/registry.csv',
      '--events',
      `${fixtures}/consented-scans.jsonl`,
      '--until',
      '2026-12-10T00:00:00Z',
      ...extra,
    );
    const rows = r.out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as SimulationRow);
    return { ...r, rows };
  };

  it('marks the consented scan authorised and opens a case only for the one outside the window', async () => {
    const without = await simulate();
    expect(without.code).toBe(0);
    // Without the consent the first scan opens the case and the second joins it.
    expect(without.rows.find((r) => r.at === '2026-12-03T06:00:00.000Z')).toMatchObject({
      case: 'AUP-000001',
    });
    expect(without.rows.some((r) => r.state === 'authorised')).toBe(false);

    const withConsents = await simulate('--consents', `${fixtures}/consents.csv`);
    expect(withConsents.code).toBe(0);
    const first = withConsents.rows.find((r) => r.at === '2026-12-03T06:00:00.000Z');
    expect(first).toMatchObject({ case: null, customer: 'labco', service: 'labco-vps', state: 'authorised' });
    expect(first?.detail?.reason).toContain('SP-TICKET-4411');
    const cases = new Set(withConsents.rows.map((r) => r.case).filter((c) => c !== null));
    expect([...cases]).toEqual(['AUP-000001']);
    expect(withConsents.rows.find((r) => r.case === 'AUP-000001')?.at).toBe('2026-12-04T06:00:00.000Z');
  });

  it('refuses an unreadable or malformed consent file with a clear error', async () => {
    const missing = await simulate('--consents', `${fixtures}/nope.csv`);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/--consents .*nope\.csv: cannot read/);
    const bad = path.join(dataDir, 'bad-sim.csv');
    await writeFile(bad, 'service;targets\nx;y\n');
    const malformed = await simulate('--consents', bad);
    expect(malformed.code).not.toBe(0);
    expect(malformed.err).toMatch(/the header must be service,targets,valid_from,valid_to,reference/);
  });
});

describe('aupdesk sanctions screen', () => {
  it('prints one JSON line per match: the alias match and the near miss; the clean customer not at all', async () => {
    expect((await run('registry', 'import', `${fixtures}/sdn/registry.csv`)).code).toBe(0);
    const r = await run(
      'sanctions',
      'screen',
      '--sdn',
      `${fixtures}/sdn/sdn.csv`,
      '--alt',
      `${fixtures}/sdn/alt.csv`,
      '--add',
      `${fixtures}/sdn/add.csv`,
      '--json',
    );
    expect(r.code).toBe(1);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const line of lines)
      expect(Object.keys(line)).toEqual(['customer', 'name', 'entry', 'score', 'program']);
    expect(lines).toContainEqual({
      customer: 'northstar',
      name: 'NORTH STAR MARINE',
      entry: 10002,
      score: 1,
      program: 'IRAN, SDGT',
    });
    const near = lines.find((l) => l.customer === 'globaltek');
    expect(near).toMatchObject({ entry: 10003, program: 'SDGT' });
    expect(lines.some((l) => l.customer === 'meadow')).toBe(false);
    expect(r.err).toMatch(/possible match\(es\) to review/);
    const audit = await run('audit', 'list', '--kind', 'sanctions.screened');
    expect(audit.out).toContain('sanctions:sdn');
  }, 240_000);

  it('refuses a bad threshold or a file with a header row', async () => {
    const bad = await run('sanctions', 'screen', '--sdn', `${fixtures}/sdn/sdn.csv`, '--threshold', '2');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--threshold must be a number above 0 and at most 1/);
    const header = path.join(dataDir, 'sdn-header.csv');
    await writeFile(
      header,
      'ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\n',
    );
    const refused = await run('sanctions', 'screen', '--sdn', header);
    expect(refused.err).toMatch(/is this a header row/);
  });
});
