import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';

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
  const code = await main(argv, { out, err });
  return { code, out: outText, err: errText };
}

const fx = 'test/fixtures/policy';

describe('aupdesk policy validate', () => {
  it('prints ok per file of a tree and exits 0', async () => {
    const r = await run('policy', 'validate', `${fx}/tree`);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      `ok ${fx}/tree/examplehost/2023-01-01.yaml (examplehost 2023-01-01, 6 clauses)\n` +
        `ok ${fx}/tree/examplehost/2024-03-01.yaml (examplehost 2024-03-01, 7 clauses)\n`,
    );
  });

  it('validates all five providers under policies/', async () => {
    const r = await run('policy', 'validate', 'policies');
    expect(r.code).toBe(0);
    const providers = new Set(
      r.out
        .trim()
        .split('\n')
        .map((l) => /^ok \S+ \((\S+) /.exec(l)?.[1]),
    );
    expect([...providers].sort()).toEqual(['iitgen', 'infince', 'influxis', 'injazat', 'securepacket']);
  });

  it('prints each problem as file:line:column: path: message and exits 1', async () => {
    const r = await run('policy', 'validate', `${fx}/valid/minimal.yaml`, `${fx}/invalid/wrong-type.yaml`);
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toEqual([
      `ok ${fx}/valid/minimal.yaml (minimal 1.0, 2 clauses)`,
      `${fx}/invalid/wrong-type.yaml:29:18: terms.enforcement.cure_period: expected an ISO 8601 duration such as P5D, PT72H or P90D, got number 3 (expected string)`,
      `${fx}/invalid/wrong-type.yaml:45:38: terms.complaints.honour_confidentiality_requests: expected boolean, got string "sometimes" (expected boolean)`,
      '',
    ]);
  });

  it('checks the folder layout when given a provider folder', async () => {
    const r = await run('policy', 'validate', `${fx}/valid`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${fx}/valid/minimal.yaml:7:1: version: the file name must be the version`);
  });

  it('reports a missing path', async () => {
    const r = await run('policy', 'validate', `${fx}/nope`);
    expect(r.code).toBe(1);
    expect(r.out).toBe(`${fx}/nope:1:1: (document): no such file or folder\n`);
  });
});

describe('aupdesk policy render', () => {
  it('renders Markdown and HTML', async () => {
    const md = await run('policy', 'render', `${fx}/valid/examplehost.yaml`, '--format', 'md');
    expect(md.code).toBe(0);
    expect(md.out.startsWith('# ExampleHost Acceptable Use Policy\n')).toBe(true);
    const html = await run('policy', 'render', `${fx}/valid/examplehost.yaml`, '--format', 'html');
    expect(html.out.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('rejects an unknown format and an invalid file', async () => {
    expect((await run('policy', 'render', `${fx}/valid/examplehost.yaml`, '--format', 'pdf')).code).toBe(2);
    const bad = await run('policy', 'render', `${fx}/invalid/bad-duration.yaml`);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad-duration.yaml:39:15: terms.enforcement.ladder[1].wait:');
  });
});

describe('aupdesk policy diff', () => {
  it('prints the changes and the verdict', async () => {
    const r = await run(
      'policy',
      'diff',
      `${fx}/tree/examplehost/2023-01-01.yaml`,
      `${fx}/tree/examplehost/2024-03-01.yaml`,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('examplehost 2023-01-01 → 2024-03-01');
    expect(r.out).toContain('  + botnets (Botnets and malware)');
    expect(r.out).toContain('    ! terms.enforcement.cure_period: "P5D" → "P3D" (shortened)');
    expect(r.out).toContain('verdict: material change\n  - clause "botnets" (Botnets and malware) added');
  });

  it('prints JSON with --json', async () => {
    const r = await run(
      'policy',
      'diff',
      `${fx}/tree/examplehost/2023-01-01.yaml`,
      `${fx}/tree/examplehost/2023-01-01.yaml`,
      '--json',
    );
    const diff = JSON.parse(r.out) as { verdict: { material: boolean } };
    expect(diff.verdict).toEqual({ material: false, reasons: [], editorial: [] });
  });
});

describe('aupdesk policy binding', () => {
  it('prints the binding version and the reason', async () => {
    const r = await run(
      'policy',
      'binding',
      '--policy',
      `${fx}/tree/examplehost`,
      '--customer-accepted',
      '2023-01-01',
      '--at',
      '2024-04-01T00:00:00Z',
    );
    expect(r.code).toBe(0);
    const [first, reason] = r.out.split('\n');
    expect(first).toBe('examplehost 2023-01-01');
    expect(reason).toMatch(/until 2024-05-30T00:00:00Z \(grace period\)/);
  });

  it('honours waivers and prints JSON', async () => {
    const r = await run(
      'policy',
      'binding',
      '--policy',
      `${fx}/tree/examplehost`,
      '--customer-accepted',
      '2023-01-01',
      '--waived',
      '2024-03-01',
      '--at',
      '2025-01-01',
      '--json',
    );
    expect(JSON.parse(r.out)).toMatchObject({
      provider: 'examplehost',
      version: '2023-01-01',
      waived: ['2024-03-01'],
    });
  });

  it('exits 2 when no version is in force', async () => {
    const r = await run('policy', 'binding', '--policy', `${fx}/tree/examplehost`, '--at', '2020-01-01');
    expect(r.code).toBe(2);
    expect(r.err).toContain('AUP_ERR_POLICY_NO_BINDING_VERSION');
  });
});

describe('aupdesk policy publish', () => {
  it('publishes a folder into the store, then reports it unchanged', async () => {
    const data = await mkdtemp(path.join(tmpdir(), 'aupdesk-cli-'));
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL; // the embedded store in a throw-away data directory
    try {
      const first = await run('--data', data, 'policy', 'publish', `${fx}/tree/examplehost`);
      expect(first.code).toBe(0);
      expect(first.out).toMatch(
        /^published examplehost 2023-01-01 [0-9a-f]{64}\npublished examplehost 2024-03-01 [0-9a-f]{64}\n {2}(no )?change notices: .*\n$/,
      );
      const again = await run('--data', data, 'policy', 'publish', `${fx}/tree/examplehost/2023-01-01.yaml`);
      expect(again.out).toMatch(/^unchanged examplehost 2023-01-01 /);
      const list = await run('--data', data, 'policy', 'list');
      expect(list.out.split('\n').filter(Boolean)).toHaveLength(2);
      const binding = await run(
        '--data',
        data,
        'policy',
        'binding',
        '--provider',
        'examplehost',
        '--at',
        '2024-03-01',
      );
      expect(binding.out.split('\n')[0]).toBe('examplehost 2024-03-01');
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});
