import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { eventSchema, type IntakeEvent } from '../../src/intake/event.js';
import type { FormatParser, ParserInput, ParserOutput } from '../../src/intake/parser.js';
import { type ParsedReport, type ParseError, parsedReportSchema } from '../../src/intake/report.js';
import { isEventClass } from '../../src/taxonomy/taxonomy.js';

/**
 * The one shared check for every format parser (IntelMQ's parser test base, in vitest): a fixture goes in,
 * and whatever the parser is, the same invariants must hold:
 *
 * - every event passes `eventSchema` (the field dictionary) and carries a known taxonomy/type pair;
 * - every event is traceable to its raw input: `raw.location` is set, and `raw` (when set and not clipped)
 *   occurs in the decoded input (CRLF folded to LF on both sides), unless `rawInInput: false` for formats
 *   whose `raw` is a decoded MIME part rather than the bytes themselves;
 * - every error says where (`location`);
 * - the parser said something about a non-empty input (an event or an error: nothing silently ignored);
 * - `detect` recognises the fixture (score ≥ 0.5) unless told otherwise;
 * - when `<fixture>.expected.json` exists, the output matches it (see `ExpectedOutput`).
 *
 * Run with `AUPDESK_UPDATE_EXPECTED=1` to (re)write the `.expected.json` files from the current output; review
 * the diff before committing it, since an expectation written from the code proves nothing until read.
 */

export const HARNESS_RECEIVED_AT = new Date('2026-01-15T12:00:00.000Z');

/**
 * `<fixture>.expected.json`. Every key is optional; only the keys present are compared.
 * - `events`: compared exactly (order included), after JSON round-tripping the parser's events;
 * - `errors`: same count; each entry's `location` compared exactly, its `message` as a substring;
 * - `reporter`: the keys given are compared;
 * - `format`, `eventCount`, `errorCount`: compared exactly.
 */
export interface ExpectedOutput {
  format?: string;
  eventCount?: number;
  errorCount?: number;
  events?: IntakeEvent[];
  errors?: Array<{ location?: string; message?: string }>;
  reporter?: Record<string, unknown>;
}

export interface HarnessOptions {
  /** Overrides the file name given to the parser (default: the fixture's base name). */
  fileName?: string;
  contentType?: string;
  receivedAt?: Date;
  /** Minimum `detect` score required; `false` skips the detection check (e.g. for malformed fixtures). */
  detect?: number | false;
  /** Check that `raw` occurs in the decoded input (default true). */
  rawInInput?: boolean;
  /** Allow an output with neither events nor errors (default false). */
  allowEmpty?: boolean;
  /** Path of the expected file (default `<fixture>.expected.json`). */
  expectedPath?: string;
}

/** Reads a fixture (path absolute, or relative to the repository root) as a ParserInput. */
export function fixtureInput(fixture: string, options: HarnessOptions = {}): ParserInput {
  const file = resolveFixture(fixture);
  return {
    bytes: new Uint8Array(readFileSync(file)),
    fileName: options.fileName ?? path.basename(file),
    contentType: options.contentType,
    receivedAt: options.receivedAt ?? HARNESS_RECEIVED_AT,
  };
}

/** Parse a fixture with `parser` and check every invariant; returns the output for further assertions. */
export async function checkParser(
  parser: FormatParser,
  fixture: string,
  options: HarnessOptions = {},
): Promise<ParserOutput> {
  const file = resolveFixture(fixture);
  const input = fixtureInput(file, options);
  if (options.detect !== false) {
    const score = parser.detect(input);
    expect(score, `${parser.format}.detect(${path.basename(file)})`).toBeGreaterThanOrEqual(
      options.detect ?? 0.5,
    );
    expect(score).toBeLessThanOrEqual(1);
  }
  const output = await parser.parse(input);
  const text = decodeForTrace(input.bytes);
  assertEventInvariants(output.events, text, options);
  assertErrorInvariants(output.errors);
  if (!options.allowEmpty && input.bytes.length > 0) {
    expect(
      output.events.length + output.errors.length,
      `${parser.format} produced neither events nor errors for ${path.basename(file)}`,
    ).toBeGreaterThan(0);
  }
  compareExpected(output, options.expectedPath ?? `${file}.expected.json`);
  return output;
}

/**
 * The same invariants for a whole report from `parseReport` (mail or file): the report passes
 * `parsedReportSchema`, its events and errors hold the parser invariants, an `unparsed` report explains
 * itself with at least one error, and a `<fixture>.expected.json` (when given and present) matches.
 */
export function checkParsedReport(
  report: ParsedReport,
  options: { input?: Uint8Array; rawInInput?: boolean; expectedPath?: string } = {},
): ParsedReport {
  const checked = parsedReportSchema.safeParse(report);
  expect(checked.success, checked.success ? '' : JSON.stringify(checked.error.issues, null, 2)).toBe(true);
  assertEventInvariants(report.events, options.input ? decodeForTrace(options.input) : undefined, {
    rawInInput: options.rawInInput ?? false,
  });
  assertErrorInvariants(report.errors);
  if (report.status === 'unparsed')
    expect(report.errors.length, 'an unparsed report says why').toBeGreaterThan(0);
  if (report.status === 'partial')
    expect(report.errors.length, 'a partial report says what failed').toBeGreaterThan(0);
  if (options.expectedPath) compareExpected(report, options.expectedPath);
  return report;
}

export function assertEventInvariants(
  events: readonly IntakeEvent[],
  inputText: string | undefined,
  options: { rawInInput?: boolean } = {},
): void {
  events.forEach((event, i) => {
    const where = `event ${i} (${event['raw.location'] ?? 'no location'})`;
    const result = eventSchema.safeParse(event);
    expect(
      result.success,
      `${where} fails eventSchema: ${result.success ? '' : JSON.stringify(result.error.issues)}`,
    ).toBe(true);
    expect(
      isEventClass(`${event['classification.taxonomy']}/${event['classification.type']}`),
      `${where} is not classified in the taxonomy`,
    ).toBe(true);
    expect(event['raw.location'], `${where} has no raw.location`).toBeTruthy();
    const raw = event.raw;
    if (
      raw !== undefined &&
      inputText !== undefined &&
      options.rawInInput !== false &&
      !raw.endsWith('…[truncated]')
    ) {
      expect(inputText.includes(normaliseNewlines(raw)), `${where}: raw does not occur in the input`).toBe(
        true,
      );
    }
    // Events must survive the JSON line they are printed as (no Dates, no undefined inside extra arrays).
    expect(JSON.parse(JSON.stringify(event)), `${where} does not round-trip through JSON`).toEqual(event);
  });
}

export function assertErrorInvariants(errors: readonly ParseError[]): void {
  errors.forEach((error, i) => {
    expect(error.message, `error ${i} has no message`).toBeTruthy();
    expect(error.location, `error ${i} (${error.message}) has no location`).toBeTruthy();
  });
}

function compareExpected(
  output: Pick<ParserOutput, 'format' | 'events' | 'errors'> & { reporter?: unknown },
  expectedPath: string,
): void {
  if (process.env.AUPDESK_UPDATE_EXPECTED === '1') {
    const expected: ExpectedOutput = {
      format: output.format,
      events: JSON.parse(JSON.stringify(output.events)) as IntakeEvent[],
      errors: output.errors.map((e) => ({
        ...(e.location ? { location: e.location } : {}),
        message: e.message,
      })),
    };
    writeFileSync(expectedPath, `${JSON.stringify(expected, null, 2)}\n`);
    return;
  }
  if (!existsSync(expectedPath)) return;
  const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as ExpectedOutput;
  const name = path.basename(expectedPath);
  if (expected.format !== undefined) expect(output.format, `${name}: format`).toBe(expected.format);
  if (expected.eventCount !== undefined)
    expect(output.events.length, `${name}: eventCount`).toBe(expected.eventCount);
  if (expected.errorCount !== undefined)
    expect(output.errors.length, `${name}: errorCount`).toBe(expected.errorCount);
  if (expected.events !== undefined) {
    expect(JSON.parse(JSON.stringify(output.events)), `${name}: events`).toEqual(expected.events);
  }
  if (expected.errors !== undefined) {
    expect(output.errors.length, `${name}: error count`).toBe(expected.errors.length);
    expected.errors.forEach((want, i) => {
      const got = output.errors[i];
      if (want.location !== undefined)
        expect(got?.location, `${name}: errors[${i}].location`).toBe(want.location);
      if (want.message !== undefined)
        expect(got?.message, `${name}: errors[${i}].message`).toContain(want.message);
    });
  }
  if (expected.reporter !== undefined) {
    expect(output.reporter, `${name}: reporter`).toMatchObject(expected.reporter);
  }
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

function resolveFixture(fixture: string): string {
  return path.isAbsolute(fixture) ? fixture : path.resolve(repositoryRoot, fixture);
}

function decodeForTrace(bytes: Uint8Array): string {
  return normaliseNewlines(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
}

function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}
