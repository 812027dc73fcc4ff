import { createHash } from 'node:crypto';
import { AupError, isAupError } from '../../errors.js';
import { notifyWork } from '../../store/database.js';
import type { IntakeEvent } from '../event.js';
import type { Channel, ParsedReport, ParseError } from '../report.js';
import { type ReportChunk, type ReportHead, statusOf, streamReport } from '../report-stream.js';
import { finish, markDone, parseInputOf, readEvidence, retryOrFail, stillMine } from './inbox-row.js';
import {
  DEFAULT_INBOX_LARGE_BYTES,
  DEFAULT_LEASE_MS,
  DEFAULT_SEGMENT_EVENTS,
  type InboxItem,
  type InboxProcessorDeps,
  type ProcessedItem,
  type ProcessInboxOptions,
  type ReportSegment,
  type SegmentWorkAhead,
} from './inbox-types.js';

/**
 * Big reports, a segment per transaction (`InboxProcessorDeps.segments`): streamed from the evidence file
 * and committed a segment at a time with the row's cursor, so memory is bounded by a segment, a crash
 * resumes after the last committed one, and the other lane gets the store between segments.
 */

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

export function streamsIn(
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
export async function processInSegments(
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
  /** The buffered events' fingerprints, in the same order (`ReportChunk.fingerprints`). */
  let prints: string[] = [];
  let parseMs = 0;
  let pipelineMs = 0;
  let whole: ParsedReport | undefined;
  let readBytes: number | undefined;

  /**
   * The next segment's work that needs no transaction (`SegmentedProcessing.workAhead`), started once the
   * segment before it is decided and only its writes and commit are left. A failure there is no failure of
   * the report: the segment's own transaction then does the work.
   */
  let ahead: Promise<SegmentWorkAhead | undefined> | undefined;
  const workAhead = (): void => {
    // The buffer is the next segment whole only when it holds a segment's worth: more events follow it, or it
    // is the last. With fewer, the next segment takes events not parsed yet.
    if (ahead || !segments.workAhead || buffer.length !== perSegment) return;
    ahead = segments
      .workAhead({
        head: head!,
        events: [...buffer],
        fingerprints: [...prints],
        firstIndex: consumed - buffer.length,
      })
      .catch(() => undefined);
  };

  /** One segment's transaction. Returns the finished row, or `lost` when the claim is no longer ours. */
  const commit = async (
    events: IntakeEvent[],
    fingerprints: string[],
    end: ReportSegment['end'],
  ): Promise<ProcessedItem | null> => {
    const started = performance.now();
    const judged = await ahead;
    ahead = undefined;
    const outcome = await deps.db.transaction().execute(async (trx) => {
      if (!(await stillMine(trx, item, workerId))) return 'lost' as const;
      const done = await segments.process(trx, { head: head!, events, fingerprints, end }, carry, item, {
        ahead: judged,
        onDecided: workAhead,
      });
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
        await markDone(trx, item, at, {
          status: end.status,
          format: head!.format,
          events: consumed,
          errors: end.errors,
          outcome: done.outcome ?? {},
          progress,
        });
      }
      return done;
    });
    pipelineMs += performance.now() - started;
    if (outcome === 'lost') return { id: item.id, status: 'lost', events: 0 };
    carry = outcome.carry;
    try {
      // The parser reads ahead of the pipeline (a chunk or two): the committed events' share of what it read.
      const committed = consumed - buffer.length;
      const reached =
        readBytes === undefined || consumed === 0
          ? undefined
          : Math.round((readBytes * committed) / consumed);
      options.onSegment?.({ inboxId: item.id, events: committed, readBytes: reached });
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
      ...parseInputOf(deps, item, row),
      eventsPerChunk: perSegment,
    });
    let asked = performance.now();
    for await (const chunk of chunks) {
      parseMs += performance.now() - asked;
      readBytes = chunk.readBytes;
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
      if (chunk.fingerprints.length !== chunk.events.length) {
        throw new AupError(
          'AUP_ERR_INTERNAL',
          `a report chunk of ${chunk.events.length} events came with ${chunk.fingerprints.length} fingerprints`,
        );
      }
      errorCount += chunk.errors.length;
      for (const e of chunk.errors) if (errors.length < KEPT_ERRORS) errors.push(e);
      for (const [i, event] of chunk.events.entries()) {
        consumed += 1;
        if (consumed > skip) {
          buffer.push(event);
          prints.push(chunk.fingerprints[i]!);
        } else if (consumed === skip && resumed?.last !== undefined && eventDigest(event) !== resumed.last) {
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
        const segmentPrints = prints.slice(0, perSegment);
        buffer = buffer.slice(perSegment);
        prints = prints.slice(perSegment);
        const lost = await commit(segment, segmentPrints, undefined);
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
    const eventPrints = prints;
    buffer = [];
    prints = [];
    return (await commit(events, eventPrints, {
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
