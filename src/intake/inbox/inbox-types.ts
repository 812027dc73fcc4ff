import type { Kysely, Transaction } from 'kysely';
import type { StoreKind } from '../../store/database.js';
import type { Database } from '../../store/schema.js';
import type { InboxKind } from '../../store/tables/intake.table.js';
import type { IntakeEvent } from '../event.js';
import type { EvidenceStore } from '../evidence-store.js';
import type { ReportParser, ReportStreamer } from '../parse-pool/parse-pool.js';
import type { IntakeLimits } from '../parse-report.js';
import type { Channel, ParsedReport, ParseError } from '../report.js';
import type { ReportHead } from '../report-stream.js';
import type { SmtpEnvelope } from './inbox-accept.js';

/**
 * The intake inbox's vocabulary: what a processor is told of an item and answers, the dependencies and
 * options of a round (inbox-worker.ts), and what a round reports.
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
    options?: SegmentProcessOptions,
  ): Promise<{ readonly carry: unknown; readonly outcome?: ProcessedOutcome | undefined }>;
  /**
   * The part of a segment's work that needs no transaction (judging its events), done for the next segment
   * while this one's last statements and its commit run on the store, so the two work at once. Absent: none
   * is done ahead (the embedded store, which runs in this process on one connection, gains nothing by it).
   */
  workAhead?(segment: SegmentAhead): Promise<SegmentWorkAhead>;
}

export interface SegmentProcessOptions {
  /** What `workAhead` made of this segment's events, if it did: the processor checks it is theirs and still
   * good, and otherwise does the work itself. */
  readonly ahead?: SegmentWorkAhead | undefined;
  /** Called once the processor has decided the segment's events and only the store's work is left: the
   * moment to start the next segment's `workAhead` without slowing this one down. */
  readonly onDecided?: (() => void) | undefined;
}

/** The next segment, as it is known while the one before it commits: its `end` is not known yet. */
export interface SegmentAhead {
  readonly head: ReportHead;
  readonly events: readonly IntakeEvent[];
  readonly fingerprints: readonly string[];
  /** The report's index of `events[0]`: the events processed once the segment before commits. */
  readonly firstIndex: number;
}

/** What a segment processor did ahead with a segment's events (opaque to the inbox). */
export interface SegmentWorkAhead {
  readonly events: readonly IntakeEvent[];
}

export interface ReportSegment {
  readonly head: ReportHead;
  /** As the report stream handed them out: each already checked against `eventSchema` (`ReportChunk`). */
  readonly events: readonly IntakeEvent[];
  /** Each event's fingerprint, in the same order (`ReportChunk.fingerprints`: made on the parsing thread). */
  readonly fingerprints: readonly string[];
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
  /**
   * How long one transaction goes on taking small rows (inbox-group.ts), ms: the rows of a burst share
   * their transaction's cost, and on the embedded store a mail being accepted waits at most about this long
   * for the store. 0: a transaction per row. Default DEFAULT_INBOX_GROUP_MS.
   */
  readonly groupMs?: number | undefined;
}

export interface ProcessInboxOptions {
  readonly limit: number;
  readonly clock: InboxClock;
  /** Only rows of this lane (default: every row). */
  readonly lane?: InboxLane | undefined;
  /** After each committed segment of a report processed in segments: its events so far (a progress bar). */
  readonly onSegment?:
    | ((progress: {
        readonly inboxId: string;
        readonly events: number;
        /** About how far into the stored file the committed events reach, in bytes, when the parser says. */
        readonly readBytes?: number | undefined;
      }) => void)
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

/** How long a transaction of the inbox goes on taking small rows (AUPDESK_INBOX_GROUP_MS), default 50 ms. */
export const DEFAULT_INBOX_GROUP_MS = 50;

/**
 * The group's length for a store: 50 ms on the embedded one, whose one connection a mail being accepted
 * waits for; 200 ms on PostgreSQL, where the intake has connections of its own and only the audit head
 * waits (the whole-desk benchmark: 73 complaints/s at 50 ms, 84 at 200).
 */
export function inboxGroupMsFor(store: StoreKind): number {
  return store === 'postgres' ? 200 : DEFAULT_INBOX_GROUP_MS;
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

/** How long a claim protects a row (default 2 min); a segment's commit renews it. */
export const DEFAULT_LEASE_MS = 120_000;
/** Claims after which a row that keeps failing is `failed`. */
export const DEFAULT_MAX_ATTEMPTS = 5;
