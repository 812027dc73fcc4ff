import { readFileSync } from 'node:fs';
import { gzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { checkParsedReport } from '../../test/support/parser-harness.js';
import { sha256Hex } from './evidence-store.js';
import { defaultMailLimits } from './mail/mail-limits.js';
import { defaultIntakeLimits, parseReport } from './parse-report.js';

const receivedAt = new Date('2026-01-15T12:00:00.000Z');
const fixture = (path: string) =>
  new Uint8Array(readFileSync(new URL(`../../test/fixtures/intake/${path}`, import.meta.url)));
const enc = (s: string) => new TextEncoder().encode(s.replace(/\r?\n/g, '\r\n'));

async function parse(
  bytes: Uint8Array,
  extra: { fileName?: string; channel?: 'smtp' | 'file' | 'form' } = {},
) {
  const report = await parseReport({
    bytes,
    receivedAt,
    channel: extra.channel ?? 'smtp',
    fileName: extra.fileName,
  });
  return checkParsedReport(report, { input: bytes });
}

function mailWithAttachment(
  name: string,
  type: string,
  content: Uint8Array,
  body = 'Please find the report attached.',
) {
  const b64 = Buffer.from(content).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  const head = [
    'From: Shadowserver <autoreports@shadowserver.example>',
    'To: abuse@hosting.example',
    'Subject: [Example Org] Shadowserver Sinkhole Events Report: 2026-01-15',
    'Message-ID: <ss-1@shadowserver.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="ss"',
    '',
    '--ss',
    'Content-Type: text/plain',
    '',
    body,
    '--ss',
    `Content-Type: ${type}; name="${name}"`,
    `Content-Disposition: attachment; filename="${name}"`,
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  return new Uint8Array(
    Buffer.concat([Buffer.from(head), Buffer.from(lines.join('\r\n')), Buffer.from('\r\n--ss--\r\n')]),
  );
}

const sinkholeName = '2026-01-15-event4_sinkhole-example_org-geo.csv';
const sinkholeCsv = () => fixture(`shadowserver/${sinkholeName}`);

describe('parseReport: machine formats in mail', () => {
  it('reads an ARF mail with the reporter from From:, the Message-ID and the evidence hash', async () => {
    const bytes = fixture('arf/rfc5965-example.eml');
    const report = await parse(bytes);
    expect(report).toMatchObject({
      format: 'arf',
      channel: 'smtp',
      status: 'parsed',
      receivedAt: '2026-01-15T12:00:00.000Z',
      evidenceSha256: sha256Hex(bytes),
      subject: 'FW: Earn money',
      messageId: 'fbl-20050308-1@example.com',
      reporter: { email: 'abusedesk@example.com', anonymous: false, automated: true },
    });
    expect(report.events).toHaveLength(1);
  });

  it.each([
    ['x-arf/v0.2-login-attack.eml', 'x-arf', 'brute-force'],
    ['x-arf/v0.1-phishing.eml', 'x-arf', 'phishing'],
    ['xarf/v4-attached.eml', 'xarf', 'spam'],
    ['spamcop/report-attached.eml', 'spamcop', 'spam'],
    ['arf/deviations-version-0.1.eml', 'arf', 'spam'],
  ])('detects %s as %s', async (path, format, type) => {
    const report = await parse(fixture(path));
    expect(report.format).toBe(format);
    expect(report.status).toBe('parsed');
    expect(report.events[0]?.['classification.type']).toBe(type);
    expect(report.reporter.automated).toBe(true);
  });

  it('marks a truncated ARF mail partial, keeping its event and the errors', async () => {
    const report = await parse(fixture('arf/truncated.eml'));
    expect(report.status).toBe('partial');
    expect(report.events).toHaveLength(1);
    expect(report.errors.map((e) => e.location)).toEqual(['2', 'message', '1']);
  });
});

describe('parseReport: attachments', () => {
  it('hands a plain CSV attachment to the Shadowserver parser, locations prefixed with the part', async () => {
    const report = await parse(mailWithAttachment(sinkholeName, 'text/csv', sinkholeCsv()));
    expect(report.format).toBe('shadowserver');
    expect(report.events.length).toBeGreaterThan(0);
    expect(report.events[0]?.['classification.type']).toBe('infected-system');
    expect(report.events[0]?.['raw.location']).toBe('2:2');
    expect(report.reporter).toMatchObject({ name: 'Shadowserver', automated: true, anonymous: false });
  });

  it('unpacks a zipped and a gzipped CSV attachment', async () => {
    const zipped = await parse(
      mailWithAttachment('report.zip', 'application/zip', zipSync({ [sinkholeName]: sinkholeCsv() })),
    );
    expect(zipped.format).toBe('shadowserver');
    expect(zipped.events[0]?.['raw.location']).toBe('2/1:2');
    const gzipped = await parse(
      mailWithAttachment(`${sinkholeName}.gz`, 'application/gzip', gzipSync(sinkholeCsv())),
    );
    expect(gzipped.format).toBe('shadowserver');
    expect(gzipped.events.length).toBe(zipped.events.length);
  });

  it('refuses a zipped bomb with a clear error and does not crash', async () => {
    const bomb = zipSync({ 'bomb.csv': new Uint8Array(20 * 1024 * 1024) }, { level: 9 });
    const report = await parse(mailWithAttachment('bomb.zip', 'application/zip', bomb, 'see attached'));
    expect(report.errors).toContainEqual({
      message: expect.stringMatching(/zip bomb refused/),
      location: '2',
    });
    expect(report.events.filter((e) => e['feed.name'] === 'shadowserver')).toEqual([]);
  });

  it('handles a 50 MB attachment, and refuses it clearly under a smaller part limit', async () => {
    const big = new Uint8Array(50 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
    const bytes = mailWithAttachment(
      'capture.bin',
      'application/octet-stream',
      big,
      'Host 192.0.2.80 attacked us, capture attached.',
    );
    const ok = await parse(bytes);
    expect(ok.errors).toEqual([]);
    expect(ok.events.some((e) => e['source.ip'] === '192.0.2.80')).toBe(true);

    const limits = { ...defaultIntakeLimits, mail: { ...defaultMailLimits, maxPartBytes: 10 * 1024 * 1024 } };
    const refused = await parseReport({ bytes, receivedAt, channel: 'smtp', limits });
    checkParsedReport(refused);
    expect(refused.errors).toContainEqual({
      message: expect.stringMatching(
        /"capture\.bin" .*exceeds the 10485760-byte part limit: kept in the evidence, not parsed/,
      ),
      location: '2',
    });
    const tooBig = await parseReport({
      bytes,
      receivedAt,
      channel: 'smtp',
      limits: { ...defaultIntakeLimits, mail: { ...defaultMailLimits, maxMessageBytes: 1024 * 1024 } },
    });
    checkParsedReport(tooBig);
    expect(tooBig.status).toBe('unparsed');
    expect(tooBig.errors[0]?.message).toMatch(/exceeds the 1048576-byte limit/);
  });
});

describe('parseReport: human complaints', () => {
  it('reads a complaint mail as email: body through the free-text parser, threading ids kept', async () => {
    const report = await parse(fixture('mime/multipart-nested.eml'));
    expect(report.format).toBe('email');
    expect(report.reporter).toEqual({
      name: 'Jürgen Müller',
      email: 'reporter@example.org',
      anonymous: false,
      automated: false,
    });
    expect(report.inReplyTo).toEqual(['case-7@hosting.example', 'case-6@hosting.example']);
    expect(report.events.some((e) => e['source.ip'] === '192.0.2.10')).toBe(true);
    // The body (part 1.1) and the attached CSV, which is no Shadowserver report, read as a text log (part 2).
    expect(report.events.map((e) => e['raw.location'])).toEqual(['1.1:1', '2:2']);
  });

  it('reads a DMCA notice mail as dmca with the notice elements', async () => {
    const notice = new TextDecoder()
      .decode(fixture('dmca/complete-photographer.txt'))
      .replace(/^Subject:.*\n+/, '');
    const bytes = enc(
      `From: Jane Doe <jane@janedoe-photo.example>\nSubject: DMCA notice\nTo: dmca@hosting.example\n\n${notice}`,
    );
    const report = await parse(bytes);
    expect(report.format).toBe('dmca');
    expect(report.dmca?.elements.signature).toBe(true);
    expect(report.events.map((e) => e['source.url'])).toContain(
      'https://cheap-prints.example.net/products/harbour-dawn-canvas',
    );
  });

  it('marks Auto-Submitted mail automated and a mail without identity anonymous', async () => {
    const auto = await parse(
      enc('From: robot@example.net\nAuto-Submitted: auto-generated\nSubject: x\n\nScan from 192.0.2.9'),
    );
    expect(auto.reporter).toMatchObject({ automated: true, anonymous: false });
    const anon = await parse(
      enc('Subject: complaint\nTo: abuse@hosting.example\n\n192.0.2.9 is scanning my network'),
    );
    expect(anon.reporter).toEqual({ anonymous: true, automated: false });
  });

  it('tolerates a truncated mail and a wrong charset, keeping what was readable', async () => {
    const truncated = await parse(fixture('mime/truncated.eml'));
    expect(truncated.status).not.toBe('unparsed');
    expect(truncated.errors.some((e) => /closing boundary/.test(e.message))).toBe(true);
    const wrong = await parse(fixture('mime/wrong-charset.eml'));
    expect(wrong.reporter.name).toBe('René');
    expect(wrong.errors.some((e) => /wrong charset declared/.test(e.message) && e.location === '1')).toBe(
      true,
    );
  });
});

describe('parseReport: files', () => {
  it('chooses the file parser by detection score', async () => {
    const json = await parse(fixture('xarf/v4-login-attack.json'), {
      fileName: 'v4-login-attack.json',
      channel: 'file',
    });
    expect(json.format).toBe('xarf');
    expect(json.file).toBe('v4-login-attack.json');
    const csv = await parse(sinkholeCsv(), { fileName: sinkholeName, channel: 'file' });
    expect(csv.format).toBe('shadowserver');
    expect(csv.reporter.automated).toBe(true);
    const zipped = await parse(zipSync({ [sinkholeName]: sinkholeCsv() }), {
      fileName: 'r.zip',
      channel: 'file',
    });
    expect(zipped.format).toBe('shadowserver');
    expect(zipped.events[0]?.['raw.location']).toBe(`${sinkholeName}:2`);
  });

  it('never throws: invalid JSON, binary garbage and empty input give unparsed reports with errors', async () => {
    const invalid = await parse(fixture('xarf/invalid.json'), { fileName: 'invalid.json', channel: 'file' });
    expect(invalid).toMatchObject({ format: 'xarf', status: 'unparsed' });
    const garbage = await parse(
      Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256),
      { channel: 'file' },
    );
    expect(garbage).toMatchObject({
      format: 'unknown',
      status: 'unparsed',
      errors: [{ message: 'format not recognised by any parser' }],
    });
    const empty = await parse(new Uint8Array(), { channel: 'file' });
    expect(empty).toMatchObject({
      status: 'unparsed',
      errors: [{ message: 'empty input', location: 'file' }],
    });
  });
});
