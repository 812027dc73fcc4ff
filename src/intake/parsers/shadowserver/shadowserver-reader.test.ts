import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HARNESS_RECEIVED_AT } from '../../../../test/support/parser-harness.js';
import { decodeText } from '../text/decode-text.js';
import { readCsvRecords } from './csv-record-reader.js';
import { createShadowserverReader, shadowserverParser } from './shadowserver-parser.js';

/**
 * Reading a CSV in pieces (the streamed report) must give what reading it whole gives, wherever the pieces are
 * cut: inside a quoted field, between a quote and its double, between CR and LF, in the middle of a BOM-less
 * header. Each test cuts at every position (or many) and compares with the whole-text read.
 */

/** Broken on purpose: quoted commas and newlines, doubled quotes, CRLF, blank lines, a short and a long row, quotes that never close. */
const TRICKY = [
  '',
  '"timestamp","ip","protocol","port","hostname","tag","asn","geo"',
  '"2026-01-15 00:00:00","192.0.2.1","udp",53,"a.example.net","openresolver",64496,"NL"',
  '"2026-01-15 00:00:01","192.0.2.2","udp",53,"b.example.net","open,resolver ""x""\r\nsecond line",64496,"NL"',
  '',
  '"2026-01-15 00:00:02","192.0.2.3","udp",53',
  '"2026-01-15 00:00:03","192.0.2.4","udp",53,"c","d",1,"NL","extra"',
  '"2026-01-15 00:00:04","192.0.2.5","udp",53,"h.example.net","unclosed',
  '"2026-01-15 00:00:05","192.0.2.6","udp",53,"e.example.net"x,"t",64496,"NL"',
  '"2026-01-15 00:00:06","not-an-ip","udp",53,"f.example.net","t",64496,"NL"',
  '"2026-01-15 00:00:07","192.0.2.8","udp",53,"g.example.net","t",64496,"NL"',
].join('\r\n');

function readWhole(text: string) {
  const out: unknown[] = [];
  readCsvRecords(text, {
    record: (fields, line, start, end) => out.push(['record', fields, line, text.slice(start, end)]),
    error: (message, line, start, end) => out.push(['error', message, line, text.slice(start, end)]),
  });
  return out;
}

function readInPieces(text: string, cuts: readonly number[]) {
  const out: unknown[] = [];
  let rest = '';
  let line = 1;
  const bounds = [...cuts, text.length];
  let from = 0;
  for (let k = 0; k < bounds.length; k++) {
    const buffer = rest + text.slice(from, bounds[k]);
    from = bounds[k]!;
    const at = readCsvRecords(
      buffer,
      {
        record: (fields, l, start, end) => out.push(['record', fields, l, buffer.slice(start, end)]),
        error: (message, l, start, end) => out.push(['error', message, l, buffer.slice(start, end)]),
      },
      0,
      { line, final: k === bounds.length - 1 },
    );
    rest = buffer.slice(at.next);
    line = at.line;
  }
  return out;
}

function parseInPieces(fileName: string, text: string, cuts: readonly number[]) {
  const reader = createShadowserverReader(fileName);
  const bounds = [...cuts, text.length];
  let from = 0;
  for (let k = 0; k < bounds.length; k++) {
    reader.push(text.slice(from, bounds[k]), k === bounds.length - 1);
    from = bounds[k]!;
  }
  return { events: reader.events, errors: reader.errors };
}

describe('csv record reader, in pieces', () => {
  it('gives the whole-text records and errors wherever the text is cut once', () => {
    const whole = readWhole(TRICKY);
    expect(whole.filter((r) => (r as unknown[])[0] === 'error')).toHaveLength(1);
    for (let cut = 0; cut <= TRICKY.length; cut++) expect(readInPieces(TRICKY, [cut])).toEqual(whole);
  });

  it('gives the whole-text records when cut into pieces of 1 to 9 characters', () => {
    const whole = readWhole(TRICKY);
    for (let size = 1; size < 10; size++) {
      const cuts: number[] = [];
      for (let at = size; at < TRICKY.length; at += size) cuts.push(at);
      expect(readInPieces(TRICKY, cuts)).toEqual(whole);
    }
  });

  it('does not wait for the end of the text to read the rows after a quote that never closes', () => {
    const records: number[] = [];
    const at = readCsvRecords(
      'a,"open\nb,c\nd,e\n',
      { record: (_f, line) => records.push(line), error: () => {} },
      0,
      { final: false, maxLookahead: 4 },
    );
    expect(records).toEqual([2, 3]);
    expect(at).toEqual({ next: 16, line: 4 });
  });
});

describe('shadowserver reader, in pieces', () => {
  const name = '2026-01-15-scan_dns-example_org-geo.csv';

  it('gives the parser’s events and errors for the tricky file wherever it is cut', async () => {
    const whole = await shadowserverParser.parse({
      bytes: new TextEncoder().encode(TRICKY),
      fileName: name,
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(whole.events).toHaveLength(5);
    expect(whole.errors.map((e) => e.location)).toEqual(['8', '9', '11']);
    for (let cut = 0; cut <= TRICKY.length; cut += 3) {
      const pieces = parseInPieces(name, TRICKY, [cut, Math.min(TRICKY.length, cut + 50)]);
      expect(pieces.events).toEqual(whole.events);
      expect(pieces.errors).toEqual(whole.errors);
    }
  });

  const dir = 'test/fixtures/intake/shadowserver';
  it.each(readdirSync(dir).filter((f) => f.endsWith('.csv')))(
    '%s in pieces of 37 characters',
    async (file) => {
      const bytes = readFileSync(`${dir}/${file}`);
      const whole = await shadowserverParser.parse({
        bytes,
        fileName: file,
        receivedAt: HARNESS_RECEIVED_AT,
      });
      const decoded = decodeText(bytes);
      const cuts: number[] = [];
      for (let at = 37; at < decoded.text.length; at += 37) cuts.push(at);
      const pieces = parseInPieces(file, decoded.text, cuts);
      expect(pieces.events).toEqual(whole.events);
      // The charset warning is the caller's (it decodes); the rest is the reader's.
      expect(pieces.errors).toEqual(whole.errors.filter((e) => !/not valid UTF-8/.test(e.message)));
    },
  );

  it('reports a file with no header once all pieces are in', () => {
    expect(parseInPieces(name, '\r\n\r\n', [1, 2]).errors).toEqual([
      { message: 'empty file: no CSV header', location: '1' },
    ]);
  });
});
