import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { expect } from 'vitest';
import { isAupError } from '../../src/errors.js';
import { parseMail } from '../../src/intake/mail/mail-message.js';
import { parseReport } from '../../src/intake/parse-report.js';
import type { FormatParser } from '../../src/intake/parser.js';
import {
  assertErrorInvariants,
  assertEventInvariants,
  checkParsedReport,
  HARNESS_RECEIVED_AT,
} from './parser-harness.js';

/**
 * Property-based fuzzing of the intake on top of the parser harness: arbitrary bytes, and mutations of every
 * fixture (bytes flipped, cut, repeated, spliced with the characters formats break on), must never escape as
 * an exception, never take longer than a time bound per input, and always give a report that explains itself
 * (parsed, partial, or unparsed with reasons). A domain error (`AupError`) from a parser is a reason, not a
 * crash; any other exception, or an `internal error:` in a report (parseReport's catch-all), is a finding.
 *
 * The number of runs per property comes from AUPDESK_FUZZ_RUNS (the default suite keeps it small; `npm run
 * fuzz` raises it), the seed from AUPDESK_FUZZ_SEED (fast-check prints the seed and path of any failure).
 */

export const FUZZ_RUNS = Number(process.env.AUPDESK_FUZZ_RUNS ?? 15);
export const FUZZ_SEED =
  process.env.AUPDESK_FUZZ_SEED === undefined ? undefined : Number(process.env.AUPDESK_FUZZ_SEED);
/** Per input: a parser that needs longer than this on a few KiB has a pathological path (or hangs). */
export const FUZZ_TIME_BOUND_MS = Number(process.env.AUPDESK_FUZZ_TIME_BOUND_MS ?? 2_000);

export function fuzzParameters(): fc.Parameters<unknown> {
  return { numRuns: FUZZ_RUNS, ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }), endOnFailure: true };
}

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Fixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly isMail: boolean;
}

/** Every intake fixture (not the expectations), as bytes. */
export function intakeFixtures(): Fixture[] {
  const out: Fixture[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (!entry.endsWith('.expected.json'))
        out.push({
          name: path.relative(root, full),
          bytes: new Uint8Array(readFileSync(full)),
          isMail: entry.endsWith('.eml'),
        });
    }
  };
  walk(path.join(root, 'test/fixtures/intake'));
  walk(path.join(root, 'test/fixtures/hostile'));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const SPECIALS = [
  '\r\n',
  '\n\n',
  '\r\n\r\n',
  '"',
  '""',
  ',',
  ';',
  ':',
  '\u0000',
  '=?utf-8?B?',
  '=?iso-2022-jp?Q?=1B$B?=',
  '?=',
  '--',
  'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  '=\r\n',
  '{',
  '}',
  '[',
  ']',
  '\\u0000',
  '\\ud800',
  '<',
  '>',
  '\ufeff',
  '\ud800',
  '2026-13-45 25:61:61',
  '999.999.999.999',
  '198.51.100.0/24',
  'http://',
  ' \t',
  'a'.repeat(300),
].map((s) => new TextEncoder().encode(s));

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'cut'; at: number }
  | { kind: 'drop'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 80 }),
    times: fc.integer({ min: 2, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.constantFrom(...SPECIALS), fc.uint8Array({ maxLength: 16 })),
  }),
);

function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = bytes.slice();
      copy[at % bytes.length] = m.byte;
      return copy;
    }
    case 'cut':
      return bytes.slice(0, at);
    case 'drop':
      return concat([bytes.slice(0, at), bytes.slice(at + m.length)]);
    case 'repeat': {
      const piece = bytes.slice(at, at + m.length);
      return concat([bytes.slice(0, at), ...Array(m.times).fill(piece), bytes.slice(at)]);
    }
    case 'insert':
      return concat([bytes.slice(0, at), m.bytes, bytes.slice(at)]);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A fixture with 1–8 mutations applied in turn. */
export function mutatedFixture(
  fixtures: readonly Fixture[],
): fc.Arbitrary<{ fixture: Fixture; bytes: Uint8Array }> {
  return fc
    .record({
      index: fc.nat({ max: fixtures.length - 1 }),
      mutations: fc.array(mutationArb, { minLength: 1, maxLength: 8 }),
    })
    .map(({ index, mutations }) => {
      const fixture = fixtures[index]!;
      return { fixture, bytes: mutations.reduce(applyMutation, fixture.bytes) };
    });
}

/** Arbitrary bytes, sometimes behind a mail header block or a CSV header, so parsers get past detection. */
export function arbitraryInput(): fc.Arbitrary<Uint8Array> {
  const prefixes = [
    '',
    'From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="x"\r\n\r\n--x\r\n',
    '"timestamp","ip","protocol","port","hostname","tag"\n',
    '{"feed":{"name":"x"},"source":{"ip":"',
    '-----BEGIN PGP SIGNED MESSAGE-----\n',
  ].map((s) => new TextEncoder().encode(s));
  return fc
    .tuple(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 4096 }))
    .map(([prefix, body]) => concat([prefix, body]));
}

async function timed<T>(what: string, run: () => Promise<T> | T): Promise<T> {
  // Parsing is CPU-bound: give the event loop a turn between inputs, or a long run starves vitest's worker
  // RPC ("Timeout calling onTaskUpdate").
  await new Promise((resolve) => setImmediate(resolve));
  const started = performance.now();
  const result = await run();
  const took = performance.now() - started;
  expect(took, `${what} took ${Math.round(took)} ms (bound ${FUZZ_TIME_BOUND_MS} ms)`).toBeLessThan(
    FUZZ_TIME_BOUND_MS,
  );
  return result;
}

/** One parser on one input: detect and parse never throw (but domain errors), and the output holds. */
export async function fuzzParserOnce(
  parser: FormatParser,
  bytes: Uint8Array,
  fileName?: string,
): Promise<void> {
  const input = { bytes, fileName, receivedAt: HARNESS_RECEIVED_AT };
  const score = await timed(`${parser.format}.detect`, () => parser.detect(input));
  expect(score).toBeGreaterThanOrEqual(0);
  expect(score).toBeLessThanOrEqual(1);
  let output: Awaited<ReturnType<FormatParser['parse']>>;
  try {
    output = await timed(`${parser.format}.parse`, () => parser.parse(input));
  } catch (error) {
    if (isAupError(error)) return;
    throw error;
  }
  assertEventInvariants(output.events, undefined);
  assertErrorInvariants(output.errors);
}

/** The whole intake on one input: a report that explains itself, no internal error. */
export async function fuzzReportOnce(
  bytes: Uint8Array,
  options: { fileName?: string; mail: boolean },
): Promise<void> {
  const report = await timed('parseReport', () =>
    parseReport({
      bytes,
      channel: options.mail ? 'smtp' : 'file',
      ...(options.fileName === undefined ? {} : { fileName: options.fileName }),
      receivedAt: HARNESS_RECEIVED_AT,
    }),
  );
  checkParsedReport(report);
  const internal = report.errors.find((e) => e.message.startsWith('internal error:'));
  expect(internal?.message, 'a parser threw something other than a domain error').toBeUndefined();
  expect(['parsed', 'partial', 'unparsed']).toContain(report.status);
}

/** The MIME reader on one input: parses, and every accessor answers without throwing. */
export async function fuzzMailOnce(bytes: Uint8Array): Promise<void> {
  await timed('parseMail', () => {
    let mail: ReturnType<typeof parseMail>;
    try {
      mail = parseMail(bytes);
    } catch (error) {
      if (isAupError(error)) return;
      throw error;
    }
    void mail.subject;
    void mail.from;
    void mail.replyTo;
    void mail.messageId;
    void mail.inReplyTo;
    void mail.references;
    void mail.headers.toRecord();
    void mail.date;
    void mail.autoSubmitted;
    void mail.textBody()?.text();
    void mail.htmlBody()?.text();
    for (const part of mail.parts()) {
      void part.isAttachment;
      void part.bytes();
    }
    for (const part of mail.attachments()) void part.bytes();
    for (const error of mail.errors) expect(error.message).toBeTruthy();
  });
}
