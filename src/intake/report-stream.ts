import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Gunzip } from 'fflate';
import { isAupError } from '../errors.js';
import { detectFormat, MIN_SCORE, rankFileParsers } from './detect-format.js';
import type { IntakeEvent } from './event.js';
import { eventFingerprint } from './event-fingerprint.js';
import { archiveEntryRefusal, archiveKind, GzipEndCheck, gzipEntryName } from './mail/archive-extractor.js';
import {
  checkEvents,
  defaultIntakeLimits,
  type IntakeLimits,
  locatedIn,
  oversizeReport,
  parseReport,
  type ReportSubject,
  reportHead,
} from './parse-report.js';
import {
  createShadowserverReader,
  shadowserverParser,
  shadowserverReporter,
  windows1252Warning,
} from './parsers/shadowserver/shadowserver-parser.js';
import type { Channel, ParsedReport, ParseError, ReportHead } from './report.js';

export type { ReportHead } from './report.js';
export { statusOf } from './report.js';

/**
 * A report read as a stream of chunks, for a feed file too big to hold whole (issue 14): a million-row
 * Shadowserver CSV is 250 MB of text and a million event objects when parsed at once; streamed, memory holds
 * one chunk of events and one piece of the file.
 *
 * **Equivalence.** Concatenated over the chunks, the events are `parseReport`'s events for the same bytes,
 * exactly and in order, and so are the errors; every chunk carries the report's head (`parseReport`'s report
 * without events, errors and status) and `statusOf` over the totals is its status. Tests hold the two to it.
 *
 * **What streams.** A Shadowserver CSV, plain or gzipped, bigger than the sample. Which parser reads the file is
 * decided as `parseReport` decides it (`detectFormat`, or for a gzip file its entry by `rankFileParsers`), on
 * the first 64 KiB: every detector looks at no more than the first 16 KiB, so the verdict is the same. The CSV
 * is then read piece by piece through the Shadowserver parser's own row loop (`createShadowserverReader`): one
 * code path, the whole file's line numbers, records that span pieces read as one.
 *
 * **One look at the whole file first.** Two verdicts of `parseReport` depend on all the bytes: whether the text
 * is valid UTF-8 (else all of it is read as Windows-1252, with one warning), and for a gzip file whether it
 * inflates within the archive limits, completely and without corruption (a refused entry yields no events at
 * all). Events cannot be taken back once yielded, so the file is read (and inflated) once before the first chunk
 * to settle both, holding nothing: a second read of the file, the price of giving exactly what `parseReport`
 * gives. A gzip file that fails that look (over a limit, corrupt, truncated) is handed to `parseReport` whole,
 * which says why, within the same limits.
 *
 * **Limits** are `parseReport`'s: a non-mail file over `limits.maxFileBytes` is refused unread; a gzip file's
 * inflated size is held to the archive limits (`limits.mail.archive`: the entry size and the compression
 * ratio), as `parseReport` holds it, not to `maxFileBytes`.
 *
 * **Everything else** (mail, zip, other formats, files within the sample, UTF-16 text) is read whole and parsed
 * by `parseReport`, its events handed out in chunks: the same answer, without the memory bound.
 *
 * Differences from `parseReport`, both on broken input only: an event that fails the field dictionary becomes
 * an error after all the parser's errors in `parseReport`; here it waits for the last chunk too, but only up to
 * one chunk's worth (`eventsPerChunk` of them), after which they go out with their own chunk. And a quote left
 * open more than 16 MiB before the next quote counts as never closing (csv-record-reader.ts).
 */

export interface ReportChunk {
  readonly head: ReportHead;
  /**
   * This chunk's events, in input order. Concatenated over the chunks: parseReport's events, exactly. Each
   * has passed `eventSchema` (`checkEvents`) before it is handed out; the segmented pipeline relies on it and
   * does not check them again (report-segment.ts).
   */
  readonly events: IntakeEvent[];
  /**
   * Each event's fingerprint (`eventFingerprint` under the input's `evidenceSha256`), in the same order: made
   * where the events are parsed — on the parsing thread when the report is streamed there — so the pipeline
   * need not make them on the main thread (event-batch.ts).
   */
  readonly fingerprints: string[];
  /** This chunk's parse errors (locations are the whole file's line numbers). */
  readonly errors: ParseError[];
  /**
   * Set on a last chunk when the stream could not go on (the file became unreadable, the parsing thread died
   * or ran over its budget): its one error says why, and the rest of the report was never read. A consumer
   * that commits as it goes must not take this for the report's end.
   */
  readonly stopped?: true | undefined;
  /**
   * Bytes of the stored file read so far (of the compressed file, for a gzip one), when the report is
   * streamed: with the file's size, how far through it the report is (a progress bar's position).
   */
  readonly readBytes?: number | undefined;
}

export interface StreamReportInput {
  /** The evidence file on disk (EvidenceStore.pathFor / openReadStream make sure it exists). */
  readonly path: string;
  readonly fileName?: string | undefined;
  readonly contentType?: string | undefined;
  readonly channel: Channel;
  readonly receivedAt: Date;
  readonly evidenceSha256: string;
  readonly limits?: IntakeLimits | undefined;
  /** Rows per chunk (default 10_000). */
  readonly eventsPerChunk?: number | undefined;
}

export const DEFAULT_EVENTS_PER_CHUNK = 10_000;
/** How much of the file decides its format (inflated, for a gzip file); a file within it is parsed whole. */
const SAMPLE_BYTES = 64 * 1024;
/** Bytes read from the file at a time. */
const READ_BYTES = 64 * 1024;

/** What the look at the file decided. */
type Plan =
  | { readonly kind: 'whole' }
  | { readonly kind: 'report'; readonly report: ParsedReport }
  | {
      readonly kind: 'shadowserver';
      readonly gzip: boolean;
      /** The parser's name for the file (a gzip file's entry name), and the location prefix when gzipped. */
      readonly parserFileName: string | undefined;
      readonly prefix: string;
      readonly charset: 'utf-8' | 'windows-1252';
    };

/**
 * Yields the report chunk by chunk; at least one chunk, always (possibly with no events). Never throws for bad
 * input: like parseReport, problems become errors (a file that cannot be read, too: an `internal error`).
 */
export async function* streamReport(input: StreamReportInput): AsyncGenerator<ReportChunk> {
  const perChunk = Math.max(1, Math.floor(input.eventsPerChunk ?? DEFAULT_EVENTS_PER_CHUNK) || 1);
  const limits = input.limits ?? defaultIntakeLimits;
  let head: ReportHead | undefined;
  try {
    const plan = await planOf(input, limits);
    if (plan.kind === 'shadowserver') {
      head = reportHead(input, input.evidenceSha256, {
        format: 'shadowserver',
        reporter: shadowserverReporter,
      });
      yield* streamShadowserver(input, plan, head, perChunk);
      return;
    }
    const report =
      plan.kind === 'report'
        ? plan.report
        : await parseReport({
            bytes: await readFile(input.path),
            fileName: input.fileName,
            contentType: input.contentType,
            channel: input.channel,
            receivedAt: input.receivedAt,
            evidenceSha256: input.evidenceSha256,
            limits,
          });
    const { events, errors, status: _status, ...reportHeadOnly } = report;
    head = reportHeadOnly;
    yield* inChunks(head, events, errors, perChunk, input.evidenceSha256);
  } catch (error) {
    // The file went missing or unreadable, or a bug: the same words as parseReport's, in a last chunk that
    // keeps the head of the chunks already out.
    yield {
      head: head ?? reportHead(input, input.evidenceSha256, { format: 'unknown', reporter: {} }),
      events: [],
      fingerprints: [],
      errors: [
        {
          message: `${isAupError(error) ? '' : 'internal error: '}${error instanceof Error ? error.message : String(error)}`,
          location: 'report',
        },
      ],
      stopped: true,
    };
  }
}

/** A whole report's events and errors handed out `perChunk` at a time (one chunk when it has none). */
function* inChunks(
  head: ReportHead,
  events: readonly IntakeEvent[],
  errors: readonly ParseError[],
  perChunk: number,
  evidenceSha256: string,
): Generator<ReportChunk> {
  const chunks = Math.max(1, Math.ceil(events.length / perChunk), Math.ceil(errors.length / perChunk));
  for (let i = 0; i < chunks; i++) {
    const part = events.slice(i * perChunk, (i + 1) * perChunk);
    yield {
      head,
      events: part,
      fingerprints: fingerprintsOf(evidenceSha256, part),
      errors: errors.slice(i * perChunk, (i + 1) * perChunk),
    };
  }
}

function fingerprintsOf(evidenceSha256: string, events: readonly IntakeEvent[]): string[] {
  return events.map((event) => eventFingerprint(evidenceSha256, event));
}

async function planOf(input: StreamReportInput, limits: IntakeLimits): Promise<Plan> {
  const { sample, size } = await readSample(input.path);
  const subject: ReportSubject = input;
  if (archiveKind(sample) === 'gzip') {
    // parseReport: an archive is not mail; its compressed size is held to maxFileBytes, its entry to the archive limits.
    if (size > limits.maxFileBytes)
      return { kind: 'report', report: oversizeReport(subject, input.evidenceSha256, size, limits) };
    const entryName = gzipEntryName(input.fileName);
    const look = await lookAtGzip(input.path, entryName, size, limits);
    if (!look.ok || look.total <= SAMPLE_BYTES) return { kind: 'whole' };
    const entry = { bytes: look.sample, fileName: entryName, receivedAt: input.receivedAt };
    const best = rankFileParsers(entry)[0];
    if (!best || best.score < MIN_SCORE || best.parser !== shadowserverParser || archiveKind(look.sample))
      return { kind: 'whole' };
    if (isUtf16(look.sample)) return { kind: 'whole' };
    return {
      kind: 'shadowserver',
      gzip: true,
      parserFileName: entryName,
      prefix: entryName,
      charset: look.utf8 ? 'utf-8' : 'windows-1252',
    };
  }
  const detection = detectFormat({
    bytes: sample,
    fileName: input.fileName,
    contentType: input.contentType,
    receivedAt: input.receivedAt,
  });
  if (detection.kind === 'mail' || size <= SAMPLE_BYTES) return { kind: 'whole' };
  if (size > limits.maxFileBytes)
    return { kind: 'report', report: oversizeReport(subject, input.evidenceSha256, size, limits) };
  if (detection.kind !== 'file' || detection.parser !== shadowserverParser || isUtf16(sample))
    return { kind: 'whole' };
  const utf8 = await isUtf8File(input.path);
  return {
    kind: 'shadowserver',
    gzip: false,
    parserFileName: input.fileName,
    prefix: '',
    charset: utf8 ? 'utf-8' : 'windows-1252',
  };
}

async function readSample(path: string): Promise<{ sample: Uint8Array; size: number }> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const sample = new Uint8Array(Math.min(size, SAMPLE_BYTES));
    let at = 0;
    while (at < sample.length) {
      const { bytesRead } = await file.read(sample, at, sample.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return { sample: sample.subarray(0, at), size };
  } finally {
    await file.close();
  }
}

/** decodeText's rule: a UTF-16 BOM makes the text UTF-16 (not streamed: such files are rare and small). */
function isUtf16(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
  );
}

function fileBytes(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: READ_BYTES }) as AsyncIterable<Uint8Array>;
}

/** Whether the whole file is valid UTF-8 (decodeText's verdict), read in pieces and kept nowhere. */
async function isUtf8File(path: string): Promise<boolean> {
  return isUtf8Stream(fileBytes(path));
}

async function isUtf8Stream(pieces: AsyncIterable<Uint8Array>): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const piece of pieces) decoder.decode(piece, { stream: true });
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/**
 * Inflates a gzip file once, keeping only its first 64 KiB: whether `parseReport` would take all of it (within
 * the archive limits, complete, not corrupt), whether it is valid UTF-8, and the sample that decides its parser.
 */
async function lookAtGzip(
  path: string,
  entryName: string,
  compressed: number,
  limits: IntakeLimits,
): Promise<{ ok: boolean; utf8: boolean; sample: Uint8Array; total: number }> {
  const sample = new Uint8Array(SAMPLE_BYTES);
  let sampled = 0;
  let total = 0;
  let refused = false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let utf8 = true;
  const pieces = inflate(fileBytes(path), (inflatedSoFar) => {
    const over = archiveEntryRefusal(
      entryName,
      inflatedSoFar,
      compressed,
      limits.mail.archive,
      'inflates to',
    );
    if (over) refused = true;
    return over === undefined;
  });
  try {
    for await (const piece of pieces) {
      total += piece.length;
      if (sampled < SAMPLE_BYTES) {
        const take = piece.subarray(0, SAMPLE_BYTES - sampled);
        sample.set(take, sampled);
        sampled += take.length;
      }
      if (utf8) {
        try {
          decoder.decode(piece, { stream: true });
        } catch {
          utf8 = false;
        }
      }
    }
    if (utf8) {
      try {
        decoder.decode();
      } catch {
        utf8 = false;
      }
    }
  } catch {
    // Corrupt or truncated: parseReport says which, reading the file whole.
    return { ok: false, utf8, sample: sample.subarray(0, sampled), total };
  }
  return { ok: !refused && total > 0, utf8, sample: sample.subarray(0, sampled), total };
}

/**
 * A gzip stream inflated piece by piece with the inflater parseReport uses (fflate), so a damaged file gets the
 * same verdict. `allow(total)` is asked after each inflated piece; false stops inflating (an error is thrown). A
 * stream that ends before the gzip trailer throws too.
 */
async function* inflate(
  compressed: AsyncIterable<Uint8Array>,
  allow: (inflatedSoFar: number) => boolean = () => true,
): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  const gunzip = new Gunzip((piece, final) => {
    if (final) finished = true;
    total += piece.length;
    end.inflated(piece.length);
    if (!allow(total)) throw new Error('inflated past the archive limits');
    out.push(piece);
  });
  const end = new GzipEndCheck(gunzip);
  for await (const piece of compressed) {
    end.compressed(piece);
    gunzip.push(piece, false);
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  gunzip.push(new Uint8Array(0), true);
  yield* out;
  if (!(finished && end.whole()))
    throw new Error('gzip data is truncated: the stream ends before its trailer');
}

async function* streamShadowserver(
  input: StreamReportInput,
  plan: Extract<Plan, { kind: 'shadowserver' }>,
  head: ReportHead,
  perChunk: number,
): AsyncGenerator<ReportChunk> {
  const reader = createShadowserverReader(plan.parserFileName);
  if (plan.charset === 'windows-1252') reader.errors.push(windows1252Warning());
  const decoder = new TextDecoder(plan.charset);
  // Events the field dictionary refuses become errors after all the parser's own, as in parseReport (see above).
  const dropped: ParseError[] = [];
  let sent = false;
  const take = (final: boolean): ReportChunk | undefined => {
    const full = reader.events.length >= perChunk || reader.errors.length >= perChunk;
    if (!full && !final) return undefined;
    const events = reader.events.splice(0, perChunk);
    const errors = reader.errors.splice(0, perChunk);
    // Located first, checked second: a dropped event's error names the location the event had, as in parseReport.
    const located = plan.prefix ? locatedIn(plan.prefix, events, errors) : { events, errors };
    const checked = checkEvents(located.events);
    for (const error of checked.dropped) dropped.push(error);
    const last = final && reader.events.length === 0 && reader.errors.length === 0;
    const out = last || dropped.length > perChunk ? located.errors.concat(dropped.splice(0)) : located.errors;
    return {
      head,
      events: checked.events,
      fingerprints: fingerprintsOf(input.evidenceSha256, checked.events),
      errors: out,
      readBytes,
    };
  };
  let readBytes = 0;
  const counted = (async function* () {
    for await (const piece of fileBytes(input.path)) {
      readBytes += piece.length;
      yield piece;
    }
  })();
  const source = plan.gzip ? inflate(counted) : counted;
  for await (const bytes of source) {
    reader.push(decoder.decode(bytes, { stream: true }), false);
    for (let chunk = take(false); chunk; chunk = take(false)) {
      sent = true;
      yield chunk;
    }
  }
  reader.push(decoder.decode(), true);
  for (let chunk = take(false); chunk; chunk = take(false)) {
    sent = true;
    yield chunk;
  }
  // What is left (fewer than a chunk), or the one chunk a file without rows gives.
  const rest = take(true)!;
  if (!sent || rest.events.length > 0 || rest.errors.length > 0) yield rest;
}
