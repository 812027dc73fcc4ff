import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { eventFingerprint } from './event-fingerprint.js';
import { sha256Hex } from './evidence-store.js';
import { defaultIntakeLimits, type IntakeLimits, parseReport } from './parse-report.js';
import type { Channel } from './report.js';
import { type ReportChunk, type StreamReportInput, statusOf, streamReport } from './report-stream.js';

/**
 * A streamed report is parseReport's report in pieces: concatenated, the chunks' events and errors are its
 * events and errors, exactly and in order; each chunk's head is its head; statusOf over the totals is its
 * status. Files here are bigger than the 64 KiB sample (so the streamed path runs), cut into chunks of 7.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'report-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const receivedAt = new Date('2026-01-15T12:00:00.000Z');

const HEADER =
  '"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo","region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"';

/** scan_dns rows as bench/pipeline.bench.ts writes them, with every oddity real files have mixed in. */
function scanDnsLines(rows: number): string[] {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2026, 0, 15) + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const ip = `192.0.${(i >> 8) & 255}.${i & 255}`;
    switch (i % 97) {
      case 5: // a quoted field holding commas, doubled quotes and a newline
        lines.push(
          `"${t}","${ip}","udp",53,"q-${i}.example.net","openresolver","dnsmasq ""2.${i}"",\r\nbuilt, patched",64496,"NL","NOORD-HOLLAND","AMSTERDAM","1.5",,,517311,0,`,
        );
        break;
      case 17: // blank lines
        lines.push('', '');
        break;
      case 29: // ragged: cut after its last non-empty field
        lines.push(`"${t}","${ip}","udp",53`);
        break;
      case 41: // a field too many
        lines.push(`"${t}","${ip}","udp",53,"x","y","z",1,"NL","R","C","1",,,1,0,,"extra","more"`);
        break;
      case 53: // a bad address
        lines.push(
          `"${t}","192.0.2.${i}.9","udp",53,"bad.example.net","openresolver","v",64496,"NL",,,,,,,,`,
        );
        break;
      case 67: // a quote that never closes on its line
        lines.push(`"${t}","${ip}","udp",53,"open-${i}.example.net","openresolver","dnsmasq`);
        break;
      default:
        lines.push(
          `"${t}","${ip}","udp",53,"h-${i}.example.net","openresolver","dnsmasq-2.${i % 90}",64496,"NL","NOORD-HOLLAND","AMSTERDAM","${(i % 97) / 10 + 1}",,,517311,0,`,
        );
    }
  }
  return lines;
}

function scanDnsCsv(rows: number, options: { bom?: boolean; eol?: string } = {}): Buffer {
  const eol = options.eol ?? '\r\n';
  return Buffer.from(`${options.bom ? '\uFEFF' : ''}${scanDnsLines(rows).join(eol)}${eol}`);
}

let files = 0;
function write(bytes: Uint8Array): string {
  const file = path.join(dir, `input-${files++}`);
  writeFileSync(file, bytes);
  return file;
}

async function collect(input: StreamReportInput): Promise<ReportChunk[]> {
  const chunks: ReportChunk[] = [];
  for await (const chunk of streamReport(input)) chunks.push(chunk);
  return chunks;
}

interface Case {
  readonly bytes: Uint8Array;
  readonly fileName?: string | undefined;
  readonly contentType?: string | undefined;
  readonly channel?: Channel;
  readonly limits?: IntakeLimits | undefined;
}

/** Streams the bytes from a file and parses them whole; checks the two agree; returns both for more checks. */
async function expectSameAsParseReport(c: Case, eventsPerChunk = 7) {
  const base = {
    fileName: c.fileName,
    contentType: c.contentType,
    channel: c.channel ?? ('feed' as const),
    receivedAt,
    evidenceSha256: sha256Hex(c.bytes),
    limits: c.limits,
  };
  const chunks = await collect({ ...base, path: write(c.bytes), eventsPerChunk });
  const report = await parseReport({ ...base, bytes: c.bytes });
  const { events, errors, status, ...head } = report;
  expect(chunks.length).toBeGreaterThanOrEqual(1);
  for (const chunk of chunks) {
    expect(chunk.head).toEqual(head);
    expect(chunk.events.length).toBeLessThanOrEqual(eventsPerChunk);
  }
  const streamedEvents = chunks.flatMap((chunk) => chunk.events);
  const streamedErrors = chunks.flatMap((chunk) => chunk.errors);
  expect(streamedEvents).toEqual(events);
  // Each event's fingerprint with it, as the pipeline would make it from the event.
  expect(chunks.flatMap((chunk) => chunk.fingerprints)).toEqual(
    events.map((e) => eventFingerprint(base.evidenceSha256, e)),
  );
  expect(streamedErrors).toEqual(errors);
  expect(statusOf(streamedEvents.length, streamedErrors.length)).toBe(status);
  return { chunks, report };
}

const FILE = '2026-01-15-scan_dns-example_org-geo.csv';

describe('streamReport on Shadowserver CSV', () => {
  it('gives parseReport’s events and errors, chunk by chunk, for a CRLF file with a BOM and broken rows', async () => {
    const bytes = scanDnsCsv(2000, { bom: true });
    expect(bytes.length).toBeGreaterThan(200 * 1024);
    const { chunks, report } = await expectSameAsParseReport({ bytes, fileName: FILE });
    expect(report.format).toBe('shadowserver');
    expect(report.status).toBe('partial');
    // Every oddity occurs, so the comparison above covered it.
    const messages = report.errors.map((e) => e.message);
    expect(messages.some((m) => /fields, header has/.test(m))).toBe(true);
    expect(messages.some((m) => /unterminated quoted field/.test(m))).toBe(true);
    expect(messages.some((m) => /bad source\.ip/.test(m))).toBe(true);
    expect(report.events.some((e) => e.extra?.dns_version === 'dnsmasq "2.5",\r\nbuilt, patched')).toBe(true);
    expect(report.events.length).toBeGreaterThan(1800);
    expect(chunks.length).toBeGreaterThan(report.events.length / 7);
    // The whole file's line numbers: the last row is on the file's last line.
    expect(report.events.at(-1)?.['raw.location']).toBe(
      String(scanDnsLines(2000).join('\n').split('\n').length),
    );
  });

  it('gives the same for LF line ends without a BOM, and for big chunks', async () => {
    await expectSameAsParseReport({ bytes: scanDnsCsv(1500, { eol: '\n' }), fileName: FILE }, 10_000);
    await expectSameAsParseReport({ bytes: scanDnsCsv(1500, { eol: '\n' }), fileName: FILE }, 250);
  });

  it('gives the same for the gzipped file, its locations prefixed with the entry as parseReport does', async () => {
    const bytes = gzipSync(scanDnsCsv(2000, { bom: true }));
    const { report } = await expectSameAsParseReport({ bytes, fileName: `${FILE}.gz` });
    expect(report.format).toBe('shadowserver');
    expect(report.events[0]?.['raw.location']).toBe(`${FILE}:2`);
  });

  it('says how far through the stored file each chunk is: to its last byte, of the compressed file when gzipped', async () => {
    for (const bytes of [scanDnsCsv(3000), gzipSync(scanDnsCsv(30_000))]) {
      const chunks = await collect({
        path: write(bytes),
        fileName: bytes[0] === 0x1f ? `${FILE}.gz` : FILE,
        channel: 'feed',
        receivedAt,
        evidenceSha256: sha256Hex(bytes),
        eventsPerChunk: 500,
      });
      const read = chunks.map((c) => c.readBytes ?? -1);
      expect(read.every((n, i) => n > 0 && (i === 0 || n >= read[i - 1]!))).toBe(true);
      expect(read.at(-1)).toBe(bytes.length);
      expect(read[0]).toBeLessThan(bytes.length);
    }
  });

  it('recognises the file by its header when the name says nothing', async () => {
    const { report } = await expectSameAsParseReport({ bytes: scanDnsCsv(1000), fileName: 'upload.bin' });
    expect(report.format).toBe('shadowserver');
    await expectSameAsParseReport({ bytes: gzipSync(scanDnsCsv(1000)) });
  });

  it('decodes a file with one byte of Windows-1252 in it as Windows-1252 throughout, as parseReport', async () => {
    const text = scanDnsCsv(1200);
    // é in Windows-1252, in the last row: only a look at the whole file knows before the first chunk.
    const bytes = Buffer.concat([
      text,
      Buffer.from('"2026-01-15 23:00:00","192.0.2.200","udp",53,"caf'),
      Buffer.from([0xe9]),
      Buffer.from('.example.net","openresolver"\r\n'),
    ]);
    const { report } = await expectSameAsParseReport({ bytes, fileName: FILE });
    expect(report.errors[0]?.message).toMatch(/not valid UTF-8/);
    await expectSameAsParseReport({ bytes: gzipSync(bytes), fileName: `${FILE}.gz` });
  });

  it('stops at a header without the required columns, as parseReport', async () => {
    const lines = ['"timestamp","protocol","port"'];
    for (let i = 0; i < 4000; i++) lines.push(`"2026-01-15 00:00:00","udp",${i}`);
    const { report } = await expectSameAsParseReport({
      bytes: Buffer.from(lines.join('\n')),
      fileName: FILE,
    });
    expect(report.status).toBe('unparsed');
    expect(report.errors).toHaveLength(1);
  });

  const fixtures = 'test/fixtures/intake/shadowserver';
  const names = readdirSync(fixtures).filter((f) => f.endsWith('.csv'));
  it.each(names)('gives the same for fixture %s grown past the sample, plain and gzipped', async (name) => {
    const bytes = readFileSync(path.join(fixtures, name));
    const nl = bytes.indexOf(0x0a);
    const rows = bytes.subarray(nl + 1);
    const parts = [bytes];
    let size = bytes.length;
    while (size < 80 * 1024) {
      // A fixture that ends without a line end gets one before its rows repeat.
      if (parts.at(-1)?.at(-1) !== 0x0a) parts.push(Buffer.from('\r\n'));
      parts.push(rows);
      size += rows.length + 2;
    }
    const grown = Buffer.concat(parts);
    await expectSameAsParseReport({ bytes: grown, fileName: name }, 5);
    await expectSameAsParseReport({ bytes: gzipSync(grown), fileName: `${name}.gz` }, 5);
  });
});

describe('streamReport under the limits', () => {
  const small = (maxFileBytes: number, maxEntryBytes = defaultIntakeLimits.mail.archive.maxEntryBytes) => ({
    ...defaultIntakeLimits,
    maxFileBytes,
    mail: { ...defaultIntakeLimits.mail, archive: { ...defaultIntakeLimits.mail.archive, maxEntryBytes } },
  });

  it('refuses a file over maxFileBytes without events, as parseReport', async () => {
    const bytes = scanDnsCsv(1000);
    const { report } = await expectSameAsParseReport({ bytes, fileName: FILE, limits: small(100 * 1024) });
    expect(report.errors[0]?.message).toMatch(/exceeds the 102400-byte limit/);
    await expectSameAsParseReport({
      bytes: gzipSync(scanDnsCsv(20_000)),
      fileName: `${FILE}.gz`,
      limits: small(100 * 1024),
    });
  });

  it('refuses a gzip file that inflates past the archive entry limit, as parseReport', async () => {
    const bytes = gzipSync(scanDnsCsv(3000));
    const { report } = await expectSameAsParseReport({
      bytes,
      fileName: `${FILE}.gz`,
      limits: small(1 << 30, 200 * 1024),
    });
    expect(report.events).toEqual([]);
    expect(report.errors[0]?.message).toMatch(/over the 204800-byte limit/);
  });

  it('gives what a truncated gzip file held before the cut, as parseReport', async () => {
    const whole = gzipSync(scanDnsCsv(3000));
    const { report } = await expectSameAsParseReport({
      bytes: whole.subarray(0, whole.length - 2000),
      fileName: `${FILE}.gz`,
    });
    expect(report.events.length).toBeGreaterThan(100);
    expect(report.errors[0]?.message).toMatch(/truncated/);
  });

  it('says a gzip file cut anywhere is truncated, as parseReport, even where the inflater ends cleanly', async () => {
    const whole = gzipSync(scanDnsCsv(400));
    const clean: number[] = [];
    for (let k = 0; k < 60; k++) {
      const at = 20 + Math.floor(((whole.length - 28) * k) / 60);
      const { chunks } = await expectSameAsParseReport(
        { bytes: whole.subarray(0, at), fileName: `${FILE}.gz` },
        500,
      );
      if (!chunks.some((c) => c.errors.some((e) => /truncated/.test(e.message)))) clean.push(at);
    }
    expect(clean).toEqual([]);
  });

  it('yields one chunk with the reason, never throws, when the file cannot be read', async () => {
    const chunks = await collect({
      path: path.join(dir, 'missing'),
      channel: 'feed',
      receivedAt,
      evidenceSha256: 'a'.repeat(64),
    });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.events).toEqual([]);
    expect(chunks[0]?.errors).toEqual([
      { message: expect.stringMatching(/^internal error: ENOENT/), location: 'report' },
    ]);
    expect(chunks[0]?.head.format).toBe('unknown');
  });
});

describe('streamReport on other inputs', () => {
  it('gives an ARF mail as parseReport’s report in chunks', async () => {
    const bytes = readFileSync('test/fixtures/intake/arf/rfc5965-example.eml');
    const { chunks, report } = await expectSameAsParseReport({ bytes, channel: 'smtp' }, 1);
    expect(report.format).toBe('arf');
    expect(report.messageId).toBeDefined();
    expect(chunks).toHaveLength(Math.max(1, report.events.length, report.errors.length));
  });

  it('gives an IntelMQ file as parseReport’s report in chunks, small or past the sample', async () => {
    const bytes = readFileSync('test/fixtures/intake/intelmq/cert-feed.jsonl');
    const { report } = await expectSameAsParseReport({ bytes, fileName: 'cert-feed.jsonl' }, 2);
    expect(report.format).toBe('intelmq');
    const big = Buffer.concat(Array.from({ length: Math.ceil((100 * 1024) / bytes.length) }, () => bytes));
    const grown = await expectSameAsParseReport({ bytes: big, fileName: 'cert-feed.jsonl' }, 3);
    expect(grown.report.events.length).toBeGreaterThan(report.events.length);
  });

  it('gives an empty file one chunk without events', async () => {
    const { chunks } = await expectSameAsParseReport({ bytes: new Uint8Array(0), fileName: FILE });
    expect(chunks).toHaveLength(1);
  });
});
