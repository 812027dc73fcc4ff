import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parsedReportSchema } from '../../intake/report.js';
import { main } from '../main.js';

const fixtures = path.resolve(new URL('../../../test/fixtures/intake', import.meta.url).pathname);

function memory(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = memory();
  const err = memory();
  const data = mkdtempSync(path.join(tmpdir(), 'parse-cli-'));
  const code = await main(['--data', data, 'parse', ...args], { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('aupdesk parse', () => {
  it('prints one JSON report per file with file, format, reporter, events and errors', async () => {
    const file = path.join(fixtures, 'arf/rfc5965-example.eml');
    const { code, out } = await run([file, '--json', '--received-at', '2026-01-15T12:00:00Z']);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line).slice(0, 1)).toEqual(['file']);
    expect(line).toMatchObject({
      file,
      format: 'arf',
      status: 'parsed',
      channel: 'file',
      receivedAt: '2026-01-15T12:00:00.000Z',
    });
    const { file: _file, ...report } = line;
    expect(parsedReportSchema.safeParse({ ...report, file: path.basename(file) }).success).toBe(true);
    expect((line.events as Record<string, unknown>[])[0]?.['source.ip']).toBe('192.0.2.1');
  });

  it('walks a directory of mixed files recursively, one line each, failing files included', async () => {
    const dirs = ['arf', 'x-arf', 'xarf', 'spamcop', 'mime'];
    const { code, out } = await run([...dirs.map((d) => path.join(fixtures, d)), '--json']);
    const expected = dirs.flatMap((d) =>
      readdirSync(path.join(fixtures, d)).filter((f) => !f.startsWith('.')),
    );
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; format: string; status: string });
    expect(lines).toHaveLength(expected.length);
    const byName = new Map(lines.map((l) => [path.basename(l.file), l]));
    expect(byName.get('v0.2-login-attack.eml')).toMatchObject({ format: 'x-arf', status: 'parsed' });
    expect(byName.get('v4-login-attack.json')).toMatchObject({ format: 'xarf', status: 'parsed' });
    expect(byName.get('report-inline.eml')).toMatchObject({ format: 'spamcop', status: 'parsed' });
    expect(byName.get('invalid.json')).toMatchObject({ format: 'xarf', status: 'unparsed' });
    expect(byName.get('malformed-no-feedback-part.eml')).toMatchObject({ format: 'arf', status: 'unparsed' });
    // Some inputs are malformed on purpose: exit 1 says so.
    expect(code).toBe(1);
  });

  it('prints a short human summary without --json', async () => {
    const { out } = await run([path.join(fixtures, 'spamcop/report-attached.eml')]);
    expect(out).toMatch(
      /report-attached\.eml: spamcop parsed, 2 events \(abusive-content\/spam\), 0 errors, from SpamCop \(automated\)/,
    );
  });

  it('yields a line for an unreadable path and stores evidence on request', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parse-in-'));
    const file = path.join(dir, 'complaint.txt');
    writeFileSync(file, 'Your customer 192.0.2.66 is brute-forcing our SSH server.');
    const { code, out } = await run([path.join(dir, 'missing.eml'), file, '--json', '--store-evidence']);
    expect(code).toBe(1);
    const [missing, complaint] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(missing).toMatchObject({
      status: 'unparsed',
      errors: [{ message: expect.stringMatching(/^cannot read: /), location: 'file' }],
    });
    expect(complaint).toMatchObject({
      format: 'free-text',
      evidenceSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('rejects a bad channel or receipt time as a usage error', async () => {
    expect((await run([fixtures, '--channel', 'pigeon'])).code).toBe(2);
    expect((await run([fixtures, '--received-at', 'yesterday'])).code).toBe(2);
  });
});
