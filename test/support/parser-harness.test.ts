import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipRaw, type IntakeEvent } from '../../src/intake/event.js';
import type { FormatParser, ParserOutput } from '../../src/intake/parser.js';
import type { ParseError } from '../../src/intake/report.js';
import { checkParser } from './parser-harness.js';

/** A tiny line parser (one IP per line) so the harness itself is tested against good and bad parsers. */
function lineParser(mutate: (e: IntakeEvent) => IntakeEvent = (e) => e): FormatParser {
  return {
    format: 'free-text',
    detect: (input) => (input.fileName?.endsWith('.ips') ? 0.9 : 0),
    parse(input): ParserOutput {
      const events: IntakeEvent[] = [];
      const errors: ParseError[] = [];
      new TextDecoder()
        .decode(input.bytes)
        .split('\n')
        .forEach((line, i) => {
          if (line === '') return;
          if (/^\d+\.\d+\.\d+\.\d+$/.test(line)) {
            events.push(
              mutate({
                'classification.taxonomy': 'information-gathering',
                'classification.type': 'scanner',
                'source.ip': line,
                'feed.name': 'test',
                raw: clipRaw(line),
                'raw.location': String(i + 1),
              }),
            );
          } else errors.push({ message: 'not an IPv4 address', location: String(i + 1), raw: line });
        });
      return { format: 'free-text', events, errors };
    },
  };
}

function fixture(content: string, expected?: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'harness-'));
  const file = path.join(dir, 'sample.ips');
  writeFileSync(file, content);
  if (expected !== undefined) writeFileSync(`${file}.expected.json`, JSON.stringify(expected));
  return file;
}

describe('parser harness', () => {
  it('accepts a parser that keeps every invariant and matches the expected file', async () => {
    const file = fixture('192.0.2.1\nbogus\n', {
      format: 'free-text',
      eventCount: 1,
      errors: [{ location: '2', message: 'IPv4' }],
    });
    const out = await checkParser(lineParser(), file);
    expect(out.events[0]?.['source.ip']).toBe('192.0.2.1');
  });

  it('rejects an event without raw.location', async () => {
    const parser = lineParser((e) => {
      const { 'raw.location': _l, ...without } = e;
      return without as IntakeEvent;
    });
    await expect(checkParser(parser, fixture('192.0.2.1\n'))).rejects.toThrow(/raw.location/);
  });

  it('rejects an event whose raw text is not in the input', async () => {
    const parser = lineParser((e) => ({ ...e, raw: 'invented' }));
    await expect(checkParser(parser, fixture('192.0.2.1\n'))).rejects.toThrow(/raw does not occur/);
  });

  it('rejects an event that fails the field dictionary', async () => {
    const parser = lineParser((e) => ({ ...e, 'source.port': 70000 }));
    await expect(checkParser(parser, fixture('192.0.2.1\n'))).rejects.toThrow(/eventSchema/);
  });

  it('rejects output that differs from the expected file', async () => {
    const file = fixture('192.0.2.1\n', { eventCount: 2 });
    await expect(checkParser(lineParser(), file)).rejects.toThrow(/eventCount/);
  });

  it('rejects a parser that does not recognise its own fixture', async () => {
    await expect(checkParser(lineParser(), fixture('192.0.2.1\n'), { fileName: 'x.txt' })).rejects.toThrow(
      /detect/,
    );
  });

  it('rejects silence on a non-empty input', async () => {
    await expect(checkParser(lineParser(), fixture('\n\n'))).rejects.toThrow(/neither events nor errors/);
  });
});
