import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAupError } from '../errors.js';
import {
  loadPolicyDirectory,
  loadPolicyFile,
  loadPolicyTree,
  parsePolicySource,
  problemsOf,
  sha256Hex,
} from './policy-loader.js';
import type { PolicyProblem } from './policy-problems.js';

const fixtures = path.resolve('test/fixtures/policy');
const invalid = (name: string): string => path.join(fixtures, 'invalid', `${name}.yaml`);

async function problemsFor(file: string): Promise<{ code: string; problems: PolicyProblem[] }> {
  try {
    await loadPolicyFile(file);
  } catch (error) {
    if (!isAupError(error)) throw error;
    return { code: error.code, problems: problemsOf(error) };
  }
  throw new Error(`${file} loaded without error`);
}

describe('loadPolicyFile on malformed documents', () => {
  const cases: Array<{
    name: string;
    code: string;
    line: number;
    column: number;
    path: string;
    message: RegExp;
    expected?: RegExp;
  }> = [
    {
      name: 'bad-yaml',
      code: 'AUP_ERR_POLICY_YAML_SYNTAX',
      line: 22,
      column: 12,
      path: '(document)',
      message: /Missing closing "quote.*never closed/,
    },
    {
      name: 'unclosed-flow',
      code: 'AUP_ERR_POLICY_YAML_SYNTAX',
      line: 3,
      column: 1,
      path: '(document)',
      message: /Flow sequence/,
    },
    {
      name: 'unknown-key',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 25,
      column: 5,
      path: 'clauses[1].severty',
      message: /unknown key "severty"; did you mean "severity"\?/,
      expected: /one of: id, number, title/,
    },
    {
      name: 'wrong-type',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 29,
      column: 18,
      path: 'terms.enforcement.cure_period',
      message: /expected an ISO 8601 duration .* got number 3/,
    },
    {
      name: 'missing-required',
      code: 'AUP_ERR_POLICY_INVALID',
      // The enforcement mapping (its first key) is where the field belongs.
      line: 28,
      column: 5,
      path: 'terms.enforcement.notice_channel',
      message: /missing required field "notice_channel"/,
      expected: /one of: email, email-and-portal, none/,
    },
    {
      name: 'duplicate-clause-id',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 21,
      column: 9,
      path: 'clauses[1].id',
      message: /duplicate clause id "spam" \(first used by clauses\[0\]\)/,
    },
    {
      name: 'unreserved-remedy',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 38,
      column: 17,
      path: 'terms.enforcement.ladder[1].action',
      message: /uses remedy "block-traffic", which the policy does not reserve/,
    },
    {
      name: 'bad-duration',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 39,
      column: 15,
      path: 'terms.enforcement.ladder[1].wait',
      message: /ISO 8601 duration/,
    },
    {
      name: 'unknown-event-class',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 24,
      column: 14,
      path: 'clauses[1].covers[0]',
      message: /not a known event class.*did you mean "information-gathering\/scanner"/,
    },
    {
      name: 'duplicate-yaml-key',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 26,
      column: 5,
      path: 'clauses[1].severity',
      message: /duplicate key "severity" \(first given on line 25\)/,
    },
    {
      name: 'version-number',
      code: 'AUP_ERR_POLICY_INVALID',
      line: 7,
      column: 10,
      path: 'version',
      message: /expected a string, got number 1\.1 \(quote it: "1\.1"\)/,
    },
  ];

  it.each(cases)('$name → $path at line $line', async (c) => {
    const { code, problems } = await problemsFor(invalid(c.name));
    expect(code).toBe(c.code);
    const problem = problems.find((p) => p.path === c.path);
    expect(problem, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(problem).toMatchObject({ file: invalid(c.name), line: c.line, column: c.column });
    expect(problem?.message).toMatch(c.message);
    if (c.expected) expect(problem?.expected).toMatch(c.expected);
  });

  it('reports every problem of a file, not just the first', async () => {
    const { problems } = await problemsFor(invalid('wrong-type'));
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [29, 'terms.enforcement.cure_period'],
      [45, 'terms.complaints.honour_confidentiality_requests'],
    ]);
    expect(problems[1]?.message).toBe('expected boolean, got string "sometimes"');
  });

  it('names the unknown key and also the required field it replaced', async () => {
    const { problems } = await problemsFor(invalid('unknown-key'));
    expect(problems.map((p) => `${p.line}:${p.path}`)).toEqual([
      '21:clauses[1].severity',
      '25:clauses[1].severty',
    ]);
  });

  it('points a duplicate clause id at the duplicate and flags the section entry it orphaned', async () => {
    const { problems } = await problemsFor(invalid('duplicate-clause-id'));
    expect(problems.map((p) => `${p.line}:${p.path}`)).toEqual([
      '14:sections[0].clauses[1]',
      '21:clauses[1].id',
    ]);
  });

  it('puts the first problem and the count in the error message', async () => {
    await expect(loadPolicyFile(invalid('wrong-type'))).rejects.toThrow(
      /wrong-type\.yaml:29:18: terms\.enforcement\.cure_period: .* \(and 1 more problem\)$/,
    );
  });

  it('reports a missing file as unreadable', async () => {
    const { code, problems } = await problemsFor(path.join(fixtures, 'nope.yaml'));
    expect(code).toBe('AUP_ERR_POLICY_FILE_UNREADABLE');
    expect(problems[0]?.message).toMatch(/no such file/);
  });

  it('rejects bytes that are not UTF-8', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-policy-'));
    const file = path.join(dir, 'latin1.yaml');
    await writeFile(file, Buffer.from([0x74, 0x69, 0x74, 0x6c, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
    const { code, problems } = await problemsFor(file);
    expect(code).toBe('AUP_ERR_POLICY_FILE_UNREADABLE');
    expect(problems[0]?.message).toMatch(/UTF-8/);
  });

  it('rejects an empty file', () => {
    expect(() => parsePolicySource('# nothing\n', 'empty.yaml')).toThrow(/the file is empty/);
  });

  it('gives a date error in words', () => {
    const source = `schema: aupdesk/policy@1\npublished_at: 2024-13-45\n`;
    try {
      parsePolicySource(source, 'dates.yaml');
      expect.unreachable();
    } catch (error) {
      const p = problemsOf(error).find((x) => x.path === 'published_at');
      expect(p).toMatchObject({ line: 2, column: 15 });
      expect(p?.message).toMatch(/expected a date \(2024-01-31\) or a date-time with offset/);
    }
  });
});

describe('loadPolicyFile on valid documents', () => {
  it('returns the document, the exact source and its sha256', async () => {
    const loaded = await loadPolicyFile(path.join(fixtures, 'valid', 'examplehost.yaml'));
    expect(loaded.document.provider.id).toBe('examplehost');
    expect(loaded.document.version).toBe('2023-01-01');
    expect(loaded.document.published_at).toBe('2022-12-01T00:00:00Z');
    expect(loaded.document.clauses.map((c) => c.id)).toEqual([
      'spam',
      'forged-headers',
      'port-scans',
      'ddos',
      'open-relays',
      'copyright',
    ]);
    expect(loaded.sha256).toBe(sha256Hex(loaded.source));
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Defaults are applied.
    expect(loaded.document.terms.enforcement.case_window).toBe('P14D');
  });
});

describe('loadPolicyDirectory', () => {
  async function providerDir(name: string, files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(tmpdir(), 'aupdesk-policies-'));
    const dir = path.join(root, name);
    await mkdir(dir);
    for (const [file, from] of Object.entries(files)) await copyFile(from, path.join(dir, file));
    return dir;
  }

  it('orders versions by effective date', async () => {
    const history = await loadPolicyDirectory(path.join(fixtures, 'tree', 'examplehost'));
    expect(history.provider).toBe('examplehost');
    expect(history.versions.map((v) => v.document.version)).toEqual(['2023-01-01', '2024-03-01']);
  });

  it('requires the file name to be the version and the folder the provider id', async () => {
    const dir = await providerDir('otherhost', {
      'wrong-name.yaml': path.join(fixtures, 'valid', 'examplehost.yaml'),
    });
    try {
      await loadPolicyDirectory(dir);
      expect.unreachable();
    } catch (error) {
      const problems = problemsOf(error);
      expect(problems.map((p) => p.path).sort()).toEqual(['provider.id', 'version']);
      expect(problems.find((p) => p.path === 'version')?.message).toMatch(/belongs in 2023-01-01\.yaml/);
      expect(problems.find((p) => p.path === 'provider.id')?.message).toMatch(
        /does not match its folder "otherhost"/,
      );
      expect(problems.find((p) => p.path === 'version')?.line).toBe(14);
    }
  });

  it('rejects supersedes naming a version that is not earlier', async () => {
    const dir = await providerDir('examplehost', {
      '2024-03-01.yaml': path.join(fixtures, 'tree', 'examplehost', '2024-03-01.yaml'),
    });
    await expect(loadPolicyDirectory(dir)).rejects.toThrow(
      /supersedes "2023-01-01", which is not an earlier version/,
    );
  });

  it('collects problems of every file', async () => {
    const dir = await providerDir('minimal', {
      '1.0.yaml': path.join(fixtures, 'invalid', 'wrong-type.yaml'),
      '2.0.yaml': path.join(fixtures, 'invalid', 'bad-duration.yaml'),
    });
    try {
      await loadPolicyDirectory(dir);
      expect.unreachable();
    } catch (error) {
      expect(isAupError(error, 'AUP_ERR_POLICY_INVALID')).toBe(true);
      const files = new Set(problemsOf(error).map((p) => path.basename(p.file)));
      expect(files).toEqual(new Set(['1.0.yaml', '2.0.yaml']));
    }
  });

  it('loads a policies tree, one history per provider', async () => {
    const histories = await loadPolicyTree(path.join(fixtures, 'tree'));
    expect(histories.map((h) => [h.provider, h.versions.length])).toEqual([['examplehost', 2]]);
  });
});
