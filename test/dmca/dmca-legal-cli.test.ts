import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { counterText, noticeText } from './statute-texts.js';

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

const dir = mkdtempSync(path.join(tmpdir(), 'dmca-cli-'));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = memory();
  const err = memory();
  const code = await main(['--data', dir, ...args], { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('aupdesk dmca', () => {
  it('check --json prints kind, complete, elements and missing for a notice', async () => {
    const { code, out } = await run(['dmca', 'check', file('n.txt', noticeText(['good-faith'])), '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(out) as {
      kind: string;
      complete: boolean;
      missing: string[];
      elements: Record<string, unknown>;
    };
    expect(Object.keys(json)).toEqual(['kind', 'complete', 'elements', 'missing']);
    expect(json).toMatchObject({ kind: 'notice', complete: false, missing: ['good-faith'] });
    expect(Object.keys(json.elements)).toEqual([
      'signature',
      'work',
      'material',
      'contact',
      'good-faith',
      'accuracy-authority',
    ]);
  });

  it('check --counter reads a counter-notice, also from a saved mail', async () => {
    const eml = `From: Oskar Lind <oskar@shop-a.example>\r\nTo: dmca@desk.example.net\r\nSubject: counter\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${counterText('DMCA-000007').replace(/\n/g, '\r\n')}`;
    const { out } = await run(['dmca', 'check', file('c.eml', eml), '--counter', '--json']);
    expect(JSON.parse(out)).toMatchObject({
      kind: 'counter-notice',
      complete: true,
      missing: [],
      elements: { 'mistake-statement': { found: true }, 'jurisdiction-consent': { found: true } },
    });
  });

  it('restore-window --json gives business days 10 and 14, across Thanksgiving', async () => {
    const { out } = await run(['dmca', 'restore-window', '--received', '2026-11-20T16:00:00Z', '--json']);
    expect(JSON.parse(out)).toEqual({ earliest: '2026-12-07', latest: '2026-12-11' });
  });

  it('refuses a bad time and a missing file with a clear message', async () => {
    const bad = await run(['dmca', 'restore-window', '--received', 'next tuesday', '--json']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--received: expected an ISO 8601 date/);
    const missing = await run(['dmca', 'check', path.join(dir, 'nope.txt'), '--json']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/cannot read/);
  });
});

describe('aupdesk legal assess', () => {
  const request = {
    kind: 'subpoena',
    requester: 'Dana Whitfield',
    authority: 'Fed. R. Civ. P. 45',
    matter: { court: 'C.D. Cal.', case_number: '2:26-cv-04411', filed_at: '2026-09-14', pending: true },
    asks: ['subscriber name'],
    estimated_hours: 4,
  };

  it("decides by iITGEN's terms: $275/hour estimate, not confidential", async () => {
    const { code, out } = await run([
      'legal',
      'assess',
      '--policy',
      'policies/iitgen',
      '--request',
      file('r.json', JSON.stringify(request)),
      '--json',
    ]);
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(Object.keys(json)).toEqual(['decision', 'reasons', 'fee', 'requester_notices']);
    expect(json).toMatchObject({
      decision: 'accepted',
      fee: { hourly_rate: 275, currency: 'USD', estimated_hours: 4, estimate: 1100 },
    });
    expect(json.requester_notices[0]).toMatch(/not confidential and will be shared/);
  });

  it('refuses under iITGEN without a filed matter; Secure Packet accepts a police request with prior notice', async () => {
    const noMatter = file(
      'r2.json',
      JSON.stringify({ ...request, kind: 'law-enforcement-request', matter: null }),
    );
    const iitgen = JSON.parse(
      (
        await run([
          'legal',
          'assess',
          '--policy',
          'policies/iitgen/2018-02-24.yaml',
          '--request',
          noMatter,
          '--json',
        ])
      ).out,
    );
    expect(iitgen).toMatchObject({ decision: 'refused', fee: null });
    const sp = JSON.parse(
      (await run(['legal', 'assess', '--policy', 'policies/securepacket', '--request', noMatter, '--json']))
        .out,
    );
    expect(sp).toMatchObject({ decision: 'accepted', fee: null });
    expect(sp.requester_notices[0]).toMatch(/reasonable prior notice/);
  });

  it('names what is wrong with a request file', async () => {
    const res = await run([
      'legal',
      'assess',
      '--policy',
      'policies/iitgen',
      '--request',
      file('bad.json', '{"kind":"letter","asks":[]}'),
      '--json',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/kind: kind must be one of/);
    expect(res.err).toMatch(/requester/);
    const notJson = await run([
      'legal',
      'assess',
      '--policy',
      'policies/iitgen',
      '--request',
      file('bad2.json', '{kind:'),
      '--json',
    ]);
    expect(notJson.err).toMatch(/is not JSON/);
  });
});
