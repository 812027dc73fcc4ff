import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import { AupError, isAupError } from '../../errors.js';
import { newWorkerId } from '../../process-identity.js';
import { releaseLeasesOfGoneWorkers } from '../../store/claim-leases.js';
import { notifyWork } from '../../store/database.js';
import type { Database } from '../../store/schema.js';
import type { InboxKind } from '../../store/tables/intake.table.js';
import type { IntakeEvent } from '../event.js';
import type { EvidenceStore } from '../evidence-store.js';
import type { ReportParser, ReportStreamer } from '../parse-pool/parse-pool.js';
import { type IntakeLimits, parseReport } from '../parse-report.js';
import type { Channel, ParsedReport, ParseError } from '../report.js';
import { type ReportChunk, type ReportHead, statusOf, streamReport } from '../report-stream.js';
import { type InboxLogger, originalMessageIdOf, type SmtpEnvelope } from './inbox-accept.js';

/**
 * Working the intake inbox off (inbox-accept.ts takes items in): `processInbox` claims pending rows
 * (`FOR UPDATE SKIP LOCKED`, a lease), parses outside any transaction, then in one transaction re-checks its
 * claim (fenced by worker id and attempt), runs the pipeline's processor and marks the row done. A crash
 * anywhere before that commit leaves the row pending; when the lease runs out (or a restarted process
 * releases a dead one's claims, `expireInboxClaims`) the row is processed again from the start, so each
 * row's pipeline writes commit exactly once. Parse failures are not errors: the row is done with
 * `report_status = 'unparsed'` and the reasons, and the evidence stays. `InboxWorker` runs rounds of it.
 */

/** The clock shape the inbox needs (the enforcement Clock satisfies it). */
export interface InboxClock {
  now(): Date;
}

/** What a processor is told about the inbox row it handles. */
export interface InboxItem {
  readonly id: string;
  readonly evidenceSha256: string;
  readonly channel: Channel;
  readonly route: string | null;
  readonly kind: InboxKind;
  readonly envelope: SmtpEnvelope | null;
  readonly receivedAt: Date;
  readonly attempt: number;
}

/** What the pipeline reports back; stored as the row's `outcome` (JSON). */
export interface ProcessedOutcome {
  readonly reportId?: number | undefined;
  readonly [key: string]: unknown;
}

/**
 * The pipeline, run in the inbox's transaction: its writes and the row's `done` commit together. It is
 * called for complaints only (bounces and loops are recorded by the inbox itself).
 */
export type ReportProcessor = (
  trx: Transaction<Database>,
  report: ParsedReport,
  item: InboxItem,
) => Promise<ProcessedOutcome>;

/**
 * A report too big for one transaction, a segment at a time (the pipeline's report-segment.ts). `carry` is
 * what the previous segment returned (null for the first); the returned carry is committed with the
 * segment's writes as the row's progress, and comes back to the next segment — or, after a crash, to the
 * segment the next claim resumes with. The last segment (`end` set) returns the row's outcome.
 */
export interface SegmentedProcessing {
  /** Whether this item may be processed in segments (the router's desk route; not DMCA, legal, privacy). */
  accepts(item: InboxItem, head: ReportHead): boolean;
  process(
    trx: Transaction<Database>,
    segment: ReportSegment,
    carry: unknown,
    item: InboxItem,
  ): Promise<{ readonly carry: unknown; readonly outcome?: ProcessedOutcome | undefined }>;
}

export interface ReportSegment {
  readonly head: ReportHead;
  readonly events: readonly IntakeEvent[];
  /** On the last segment: what only the whole parse knows. */
  readonly end?:
    | {
        readonly status: ParsedReport['status'];
        readonly errors: readonly ParseError[];
        readonly errorCount: number;
      }
    | undefined;
}

/** Events per segment transaction (AUPDESK_PIPELINE_SEGMENT_EVENTS), default 10,000. */
export const DEFAULT_SEGMENT_EVENTS = 10_000;

export interface InboxProcessorDeps {
  readonly db: Kysely<Database>;
  readonly evidence: EvidenceStore;
  /** The pipeline; absent, rows are done once parsed (the parse result is recorded on the row). */
  readonly processReport?: ReportProcessor | undefined;
  /** Stable name of this worker (default `<host>:<pid>:<random>`). */
  readonly workerId?: string | undefined;
  /** How long a claim protects a row (default 2 min). */
  readonly leaseMs?: number | undefined;
  /** Claims after which a row that keeps failing is `failed` (default 5). */
  readonly maxAttempts?: number | undefined;
  readonly limits?: IntakeLimits | undefined;
  /**
   * Where reports are parsed: a `ParsePool` (worker threads, a budget per report) in `serve` and `ingest`;
   * absent, on this thread (`parseReport`), which is what small tools and tests want.
   */
  readonly parse?: ReportParser | undefined;
  /**
   * Segmented processing of big reports: a complaint that is not mail and at least `streamFromBytes` big
   * (default: the large lane's DEFAULT_INBOX_LARGE_BYTES) is parsed as a stream of chunks (`stream`: the
   * pool's threads; absent, `streamReport` on this thread) and processed `segmentEvents` events per
   * transaction, so its memory is bounded by a segment, a crash resumes after the last committed segment,
   * and the store is free between segments for the other lane. Absent: every report in one transaction.
   */
  readonly segments?: SegmentedProcessing | undefined;
  readonly stream?: ReportStreamer | undefined;
  readonly segmentEvents?: number | undefined;
  readonly streamFromBytes?: number | undefined;
}

export interface ProcessInboxOptions {
  readonly limit: number;
  readonly clock: InboxClock;
  /** Only rows of this lane (default: every row). */
  readonly lane?: InboxLane | undefined;
  /** After each committed segment of a report processed in segments: its events so far (a progress bar). */
  readonly onSegment?:
    | ((progress: { readonly inboxId: string; readonly events: number }) => void)
    | undefined;
}

/**
 * The inbox's two lanes, so a big feed report never holds up mail behind it: `serve` runs one worker per
 * lane, one taking the rows smaller than `largeBytes` (mail, forms, API complaints, small reports), the
 * other the rest (feed files, archives). Each works its own rows in arrival order; a report of a million
 * rows parses and runs in one lane while complaints keep flowing through the other. (On PostgreSQL the
 * two lanes' transactions run side by side; the embedded store runs one transaction at a time, so there a
 * complaint waits only while a big report's pipeline transaction is open, not while it is read or parsed.)
 */
export interface InboxLane {
  readonly name: 'small' | 'large';
  readonly largeBytes: number;
}

/** The size from which an inbox item goes to the large lane (AUPDESK_INBOX_LARGE_BYTES), default 1 MiB. */
export const DEFAULT_INBOX_LARGE_BYTES = 1024 * 1024;

export interface ProcessedItem {
  readonly id: string;
  readonly status: 'done' | 'failed' | 'retry' | 'lost';
  readonly reportStatus?: ParsedReport['status'] | undefined;
  readonly format?: string | undefined;
  readonly events: number;
  readonly error?: string | undefined;
  readonly reportId?: number | undefined;
  /** Where the time went, for the metrics and per-report rates: parsing, then the pipeline's transaction. */
  readonly timings?:
    | { readonly parseMs: number; readonly pipelineMs: number; readonly receivedAt: Date }
    | undefined;
}

export interface InboxRunSummary {
  claimed: number;
  done: number;
  /** Of `done`: reports that yielded nothing usable (kept, with their reasons). */
  unparsed: number;
  events: number;
  /** Left pending with backoff after a failure of the processor. */
  retried: number;
  failed: number;
  /** Outcomes dropped because another worker took the row after this one's lease ran out. */
  lost: number;
  items: ProcessedItem[];
}

const DEFAULT_LEASE_MS = 120_000;
const DEFAULT_MAX_ATTEMPTS = 5;

const processWorkerIds = new WeakMap<object, string>();

/**
 * Ends at `now` the claims on pending inbox rows held by workers that `isGone` says are gone (a process
 * that has the store to itself says that of every worker; others, of dead processes on their host), so the
 * rows are claimed again at once instead of after the lease. Their attempts are kept, so a message that
 * killed the worker on every attempt still ends `failed`. Returns the number of rows released.
 */
export async function expireInboxClaims(
  db: Kysely<Database>,
  now: Date,
  isGone: (workerId: string) => boolean,
): Promise<number> {
  return releaseLeasesOfGoneWorkers(
    db,
    { table: 'intake_inbox', status: 'pending', touchesUpdatedAt: false },
    now,
    isGone,
  );
}

/** One round: claim up to `limit` due rows and process each. */
export async function processInbox(
  deps: InboxProcessorDeps,
  options: ProcessInboxOptions,
): Promise<InboxRunSummary> {
  const workerId = deps.workerId ?? workerIdFor(deps);
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const summary: InboxRunSummary = {
    claimed: 0,
    done: 0,
    unparsed: 0,
    events: 0,
    retried: 0,
    failed: 0,
    lost: 0,
    items: [],
  };
  const now = options.clock.now();
  const claimed = await deps.db.transaction().execute(async (trx) => {
    // A row whose last allowed claim expired without an outcome (the worker died on it every time) is failed
    // rather than claimed again: a message that crashes the parser must not crash every worker forever.
    await trx
      .updateTable('intake_inbox')
      .set({
        status: 'failed',
        processed_at: now,
        claimed_by: null,
        claimed_until: null,
        last_error: sql<string>`coalesce(last_error, 'the worker died on every attempt (lease expired)')`,
      })
      .where('status', '=', 'pending')
      .where('attempts', '>=', maxAttempts)
      .where('claimed_until', '<=', now)
      .execute();
    return trx
      .updateTable('intake_inbox')
      .set({
        attempts: sql<number>`attempts + 1`,
        claimed_by: workerId,
        claimed_until: new Date(now.getTime() + leaseMs),
      })
      .where(
        'id',
        'in',
        trx
          .selectFrom('intake_inbox')
          .select('id')
          .where('status', '=', 'pending')
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
          .$if(options.lane?.name === 'small', (q) => q.where('size', '<', options.lane!.largeBytes))
          .$if(options.lane?.name === 'large', (q) => q.where('size', '>=', options.lane!.largeBytes))
          .orderBy('received_at')
          .orderBy('id')
          .limit(Math.max(1, options.limit))
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
  });
  claimed.sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || Number(a.id) - Number(b.id));
  summary.claimed = claimed.length;

  for (const row of claimed) {
    const item: InboxItem = {
      id: String(row.id),
      evidenceSha256: row.evidence_sha256,
      channel: row.channel as Channel,
      route: row.route,
      kind: row.kind,
      envelope: (row.envelope as SmtpEnvelope | null) ?? null,
      receivedAt: row.received_at,
      attempt: row.attempts,
    };
    const result = streamsIn(deps, item, row)
      ? await processInSegments(deps, item, row, workerId, options, maxAttempts)
      : await processOne(deps, item, row, workerId, options.clock, maxAttempts);
    summary.items.push(result);
    if (result.status === 'done') {
      summary.done += 1;
      summary.events += result.events;
      if (result.reportStatus === 'unparsed') summary.unparsed += 1;
    } else if (result.status === 'failed') summary.failed += 1;
    else if (result.status === 'retry') summary.retried += 1;
    else summary.lost += 1;
  }
  return summary;
}

function workerIdFor(deps: InboxProcessorDeps): string {
  let id = processWorkerIds.get(deps);
  if (!id) {
    id = newWorkerId();
    processWorkerIds.set(deps, id);
  }
  return id;
}

async function processOne(
  deps: InboxProcessorDeps,
  item: InboxItem,
  row: { file_name: string | null; content_type: string | null },
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
): Promise<ProcessedItem> {
  const read = await readEvidence(deps, item, workerId, clock, maxAttempts, () =>
    deps.evidence.get(item.evidenceSha256),
  );
  if ('done' in read) return read.done;
  const bytes = read.value;
  const parseStarted = performance.now();
  const report = await (deps.parse ?? parseReport)({
    bytes,
    fileName: row.file_name ?? undefined,
    contentType: row.content_type ?? undefined,
    channel: item.channel,
    receivedAt: item.receivedAt,
    evidenceSha256: item.evidenceSha256,
    limits: deps.limits,
  });
  const parseMs = performance.now() - parseStarted;
  try {
    const pipelineStarted = performance.now();
    const done = await finish(deps, item, workerId, clock, { report, bytes });
    const pipelineMs = performance.now() - pipelineStarted;
    return { ...done, timings: { parseMs, pipelineMs, receivedAt: item.receivedAt } };
  } catch (error) {
    return retryOrFail(deps, item, workerId, clock, maxAttempts, error);
  }
}

/**
 * The item's evidence (its bytes, or its checked file). Missing or corrupt evidence cannot get better by
 * retrying: the row fails for an analyst and is kept; any other failure (a disk hiccup) is retried.
 */
async function readEvidence<T>(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
  read: () => Promise<T>,
): Promise<{ readonly value: T } | { readonly done: ProcessedItem }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (isAupError(error, 'AUP_ERR_EVIDENCE_NOT_FOUND') || isAupError(error, 'AUP_ERR_EVIDENCE_CORRUPT')) {
      return { done: await finish(deps, item, workerId, clock, { failed: messageOf(error) }) };
    }
    return { done: await retryOrFail(deps, item, workerId, clock, maxAttempts, error) };
  }
}

/** The one transaction that completes a row: fence, the pipeline's writes, `done`. */
async function finish(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  result: { report: ParsedReport; bytes: Uint8Array } | { failed: string },
): Promise<ProcessedItem> {
  return deps.db.transaction().execute(async (trx) => {
    if (!(await stillMine(trx, item, workerId)))
      return { id: item.id, status: 'lost', events: 0 } satisfies ProcessedItem;
    const at = clock.now();
    if ('failed' in result) {
      await trx
        .updateTable('intake_inbox')
        .set({
          status: 'failed',
          last_error: result.failed.slice(0, 2000),
          processed_at: at,
          claimed_until: null,
        })
        .where('id', '=', item.id)
        .execute();
      return { id: item.id, status: 'failed', events: 0, error: result.failed } satisfies ProcessedItem;
    }
    const { report } = result;
    let outcome: ProcessedOutcome;
    if (item.kind === 'bounce') {
      // Recorded against the message it reports on (one of our notices, when the id is ours).
      outcome = { recorded: 'bounce', bounceOf: originalMessageIdOf(result.bytes) };
    } else if (item.kind !== 'complaint') {
      outcome = { recorded: item.kind };
    } else if (deps.processReport) {
      outcome = await deps.processReport(trx, report, item);
      // Workers of other processes (PostgreSQL) wake when this commits: notices may wait in the outbox.
      await notifyWork(trx);
    } else {
      outcome = { recorded: 'parsed' };
    }
    await trx
      .updateTable('intake_inbox')
      .set({
        status: 'done',
        processed_at: at,
        claimed_until: null,
        last_error: null,
        report_status: report.status,
        report_format: report.format,
        event_count: report.events.length,
        parse_errors: JSON.stringify(report.errors.slice(0, 100)),
        report_id: outcome.reportId ?? null,
        outcome: JSON.stringify(outcome),
      })
      .where('id', '=', item.id)
      .execute();
    return {
      id: item.id,
      status: 'done',
      reportStatus: report.status,
      format: report.format,
      events: report.events.length,
      reportId: outcome.reportId,
      ...(report.status === 'unparsed'
        ? { error: report.errors.map((e) => e.message).join('; ') || 'unparsed' }
        : {}),
    } satisfies ProcessedItem;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Big reports, a segment per transaction

/** At most this many parse errors are kept on the row and the report (the count is kept whole). */
const KEPT_ERRORS = 100;

/**
 * What the row's `progress` holds between segments: events consumed from the stream, the pipeline's carry,
 * and a digest of the last consumed event (a resumed run checks the report still parses the same).
 */
interface SegmentCursor {
  readonly consumed: number;
  readonly carry: unknown;
  readonly last?: string | undefined;
}

function cursorOf(progress: unknown): SegmentCursor | null {
  if (progress === null || progress === undefined || typeof progress !== 'object') return null;
  const { consumed, carry, last } = progress as { consumed?: unknown; carry?: unknown; last?: unknown };
  if (typeof consumed !== 'number' || !Number.isInteger(consumed) || consumed < 0) return null;
  return { consumed, carry, ...(typeof last === 'string' ? { last } : {}) };
}

function eventDigest(event: IntakeEvent): string {
  return createHash('sha256').update(JSON.stringify(event)).digest('hex');
}

function isMailChannel(channel: Channel): boolean {
  return channel === 'smtp' || channel === 'imap';
}

function streamsIn(
  deps: InboxProcessorDeps,
  item: InboxItem,
  row: { size: string | number; progress: unknown },
): boolean {
  if (!deps.segments || item.kind !== 'complaint' || isMailChannel(item.channel)) return false;
  // A row a segmented run already started goes on that way whatever the settings say now.
  if (cursorOf(row.progress)) return true;
  return Number(row.size) >= (deps.streamFromBytes ?? DEFAULT_INBOX_LARGE_BYTES);
}

/**
 * A big report streamed from its evidence file and processed a segment per transaction. Each transaction
 * re-checks the claim (worker id and attempt, as `finish` does), runs the segment, and commits its writes
 * with the cursor and a renewed lease; the last also marks the row done. A crash, a lost lease or a failed
 * segment leaves the committed segments committed: the next attempt parses the report again (the parse is a
 * pure function of the evidence) and skips the events the cursor says are done.
 */
async function processInSegments(
  deps: InboxProcessorDeps,
  item: InboxItem,
  row: { file_name: string | null; content_type: string | null; progress: unknown },
  workerId: string,
  options: ProcessInboxOptions,
  maxAttempts: number,
): Promise<ProcessedItem> {
  const segments = deps.segments!;
  const { clock } = options;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const perSegment = Math.max(1, deps.segmentEvents ?? DEFAULT_SEGMENT_EVENTS);
  const read = await readEvidence(deps, item, workerId, clock, maxAttempts, () =>
    deps.evidence.fileOf(item.evidenceSha256),
  );
  if ('done' in read) return read.done;
  const file = read.value;
  const resumed = cursorOf(row.progress);
  let carry: unknown = resumed?.carry ?? null;
  const skip = resumed?.consumed ?? 0;
  let consumed = 0;
  let errorCount = 0;
  const errors: ParseError[] = [];
  let head: ReportHead | undefined;
  let buffer: IntakeEvent[] = [];
  let parseMs = 0;
  let pipelineMs = 0;
  let whole: ParsedReport | undefined;

  /** One segment's transaction. Returns the finished row, or `lost` when the claim is no longer ours. */
  const commit = async (events: IntakeEvent[], end: ReportSegment['end']): Promise<ProcessedItem | null> => {
    const started = performance.now();
    const outcome = await deps.db.transaction().execute(async (trx) => {
      if (!(await stillMine(trx, item, workerId))) return 'lost' as const;
      const done = await segments.process(trx, { head: head!, events, end }, carry, item);
      await notifyWork(trx);
      const at = clock.now();
      const progress = JSON.stringify({
        consumed: consumed - buffer.length,
        carry: done.carry,
        ...(events.length > 0 ? { last: eventDigest(events[events.length - 1]!) } : {}),
      });
      if (!end) {
        await trx
          .updateTable('intake_inbox')
          .set({ progress, claimed_until: new Date(at.getTime() + leaseMs) })
          .where('id', '=', item.id)
          .execute();
      } else {
        await trx
          .updateTable('intake_inbox')
          .set({
            status: 'done',
            processed_at: at,
            claimed_until: null,
            last_error: null,
            report_status: end.status,
            report_format: head!.format,
            event_count: consumed,
            parse_errors: JSON.stringify(end.errors),
            report_id: done.outcome?.reportId ?? null,
            outcome: JSON.stringify(done.outcome ?? {}),
            progress,
          })
          .where('id', '=', item.id)
          .execute();
      }
      return done;
    });
    pipelineMs += performance.now() - started;
    if (outcome === 'lost') return { id: item.id, status: 'lost', events: 0 };
    carry = outcome.carry;
    try {
      options.onSegment?.({ inboxId: item.id, events: consumed - buffer.length });
    } catch {
      // A progress display that failed is no reason to take a committed segment for a failed one.
    }
    if (!end) return null;
    return {
      id: item.id,
      status: 'done',
      reportStatus: end.status,
      format: head!.format,
      events: consumed,
      reportId: outcome.outcome?.reportId,
      ...(end.status === 'unparsed'
        ? { error: end.errors.map((e) => e.message).join('; ') || 'unparsed' }
        : {}),
      timings: { parseMs, pipelineMs, receivedAt: item.receivedAt },
    };
  };

  try {
    const chunks = (deps.stream ?? streamReport)({
      path: file,
      fileName: row.file_name ?? undefined,
      contentType: row.content_type ?? undefined,
      channel: item.channel,
      receivedAt: item.receivedAt,
      evidenceSha256: item.evidenceSha256,
      limits: deps.limits,
      eventsPerChunk: perSegment,
    });
    let asked = performance.now();
    for await (const chunk of chunks) {
      parseMs += performance.now() - asked;
      // Not the report's end: the rest was never read. Committing it as the end would drop the rest for good;
      // the row is retried instead (from the cursor), and failed for an analyst after its last attempt.
      if (chunk.stopped) {
        throw new AupError(
          'AUP_ERR_INTAKE_UNPARSEABLE',
          `the report stopped after ${consumed} events: ${chunk.errors[0]?.message ?? 'no reason given'}`,
        );
      }
      if (head === undefined) {
        head = chunk.head;
        // Not for the desk (a DMCA notice, a legal request): the whole report, one transaction, as ever.
        if (!resumed && !segments.accepts(item, chunk.head)) whole = wholeOf(chunk);
      } else if (whole) {
        // One by one: a spread of a 100,000-element chunk overflows the stack.
        for (const event of chunk.events) whole.events.push(event);
        for (const error of chunk.errors) whole.errors.push(error);
      }
      if (whole) {
        asked = performance.now();
        continue;
      }
      errorCount += chunk.errors.length;
      for (const e of chunk.errors) if (errors.length < KEPT_ERRORS) errors.push(e);
      for (const event of chunk.events) {
        consumed += 1;
        if (consumed > skip) buffer.push(event);
        else if (consumed === skip && resumed?.last !== undefined && eventDigest(event) !== resumed.last) {
          // The report parses differently than when its first segments were committed (a parser changed
          // between the crash and the restart): going on from the cursor would skip or repeat events.
          return finish(deps, item, workerId, clock, {
            failed: `the report no longer parses as it did when its processing started: event ${skip} differs; its first ${skip} events are committed, the rest needs an analyst`,
          });
        }
      }
      // A segment goes once more events follow it, so the last segment is never empty when there are events.
      while (buffer.length > perSegment) {
        const segment = buffer.slice(0, perSegment);
        buffer = buffer.slice(perSegment);
        const lost = await commit(segment, undefined);
        if (lost) return lost;
      }
      asked = performance.now();
    }
    if (whole) {
      const report: ParsedReport = { ...whole, status: statusOf(whole.events.length, whole.errors.length) };
      return {
        ...(await finish(deps, item, workerId, clock, { report, bytes: new Uint8Array(0) })),
        timings: { parseMs, pipelineMs: 0, receivedAt: item.receivedAt },
      };
    }
    // streamReport yields at least one chunk; a streamer that yields none has nothing to record.
    if (head === undefined)
      throw new AupError('AUP_ERR_INTAKE_UNPARSEABLE', 'the report stream yielded no chunk');
    const events = buffer;
    buffer = [];
    return (await commit(events, {
      status: statusOf(consumed, errorCount),
      errors,
      errorCount,
    }))!;
  } catch (error) {
    if (isAupError(error, 'AUP_ERR_PARSE_POOL_CLOSED')) throw error;
    return retryOrFail(deps, item, workerId, clock, maxAttempts, error);
  }
}

function wholeOf(chunk: ReportChunk): { -readonly [K in keyof ParsedReport]: ParsedReport[K] } & {
  events: IntakeEvent[];
  errors: ParseError[];
} {
  return { ...chunk.head, status: 'parsed', events: [...chunk.events], errors: [...chunk.errors] };
}

/** The claim is still this worker's, this attempt's (the row locked until the transaction ends). */
async function stillMine(trx: Transaction<Database>, item: InboxItem, workerId: string): Promise<boolean> {
  const mine = await trx
    .selectFrom('intake_inbox')
    .select('id')
    .where('id', '=', item.id)
    .where('status', '=', 'pending')
    .where('claimed_by', '=', workerId)
    .where('attempts', '=', item.attempt)
    .forUpdate()
    .executeTakeFirst();
  return mine !== undefined;
}

async function retryOrFail(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
  error: unknown,
): Promise<ProcessedItem> {
  const message = messageOf(error).slice(0, 2000);
  const now = clock.now();
  const last = item.attempt >= maxAttempts;
  const backoffMs = Math.min(300_000, 1_000 * 2 ** Math.max(0, item.attempt - 1));
  const updated = await deps.db
    .updateTable('intake_inbox')
    .set(
      last
        ? { status: 'failed', last_error: message, processed_at: now, claimed_by: null, claimed_until: null }
        : { last_error: message, claimed_by: null, claimed_until: new Date(now.getTime() + backoffMs) },
    )
    .where('id', '=', item.id)
    .where('status', '=', 'pending')
    .where('claimed_by', '=', workerId)
    .where('attempts', '=', item.attempt)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return { id: item.id, status: 'lost', events: 0 };
  return { id: item.id, status: last ? 'failed' : 'retry', events: 0, error: message };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------------------
// Worker loop and queries

/**
 * Runs `processInbox` until stopped: a batch whenever `wake()` is called (channels call it after an accept)
 * or every `pollMs`. Store errors are logged and the loop carries on after a pause.
 */
export class InboxWorker {
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pending = false;

  constructor(
    private readonly deps: InboxProcessorDeps & { readonly logger?: InboxLogger | undefined },
    private readonly options: {
      clock: InboxClock;
      batch?: number;
      pollMs?: number;
      /** After a round that completed rows (committed): the next stage can wake instead of waiting its poll. */
      onProcessed?: (summary: InboxRunSummary) => void;
      /** Only this lane's rows (default: every row). */
      lane?: InboxLane;
      /** After each committed segment of a big report (ProcessInboxOptions.onSegment). */
      onSegment?: ProcessInboxOptions['onSegment'];
    },
  ) {}

  start(): void {
    if (this.running) throw new AupError('AUP_ERR_CONFIG_INVALID', 'inbox worker already started');
    this.running = this.loop();
  }

  /** Something was accepted: run a batch soon instead of waiting for the poll. */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(): Promise<void> {
    const batch = this.options.batch ?? 20;
    const pollMs = this.options.pollMs ?? 2_000;
    while (!this.stopped) {
      this.pending = false;
      let claimed = 0;
      try {
        const summary = await processInbox(this.deps, {
          limit: batch,
          clock: this.options.clock,
          lane: this.options.lane,
          onSegment: this.options.onSegment,
        });
        claimed = summary.claimed;
        if (summary.done > 0) this.options.onProcessed?.(summary);
        for (const item of summary.items) {
          if (item.status === 'failed')
            this.deps.logger?.error({ inbox: item.id, error: item.error }, 'intake item failed');
        }
      } catch (error) {
        this.deps.logger?.error({ error: messageOf(error) }, 'inbox processing round failed');
      }
      if (this.stopped) break;
      if (claimed > 0 || this.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
