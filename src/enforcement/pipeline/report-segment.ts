import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { appendAudit, withAuditBatch } from '../../audit/audit-log.js';
import { caseRefOf } from '../../cases/case-ref.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import { setReportOutcome } from '../../cases/report-repository.js';
import { AupError } from '../../errors.js';
import type { IntakeEvent } from '../../intake/event.js';
import type { ReportSegment, SegmentAhead, SegmentWorkAhead } from '../../intake/inbox/inbox-types.js';
import type { ParsedReport } from '../../intake/report.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { Database } from '../../store/schema.js';
import { triageReasons } from '../../store/tables/triage.table.js';
import { EventBatchRun } from './event-batch.js';
import { JudgedEvents } from './event-judging.js';
import type { ReportDeps } from './pipeline-deps.js';
import { recordReceipt, validReport } from './process-report.js';
import { acknowledgeReport } from './report-ack.js';
import { outcomesOf, reportOutcomes, TriageCollector } from './report-outcome.js';

/**
 * A report too big for one transaction, processed a segment at a time (issue 14). The inbox hands the
 * pipeline each segment of a streamed feed report (10,000 events by default) in a transaction of its own,
 * together with what the earlier segments carried forward; the segment's writes, the carry and the inbox
 * row's cursor commit together (inbox-worker.ts), so a worker that dies mid-report resumes after the last
 * committed segment and nothing is written twice.
 *
 * Per event the rules are those of `processReportIn` (event-batch.ts and case-batch.ts judge and write
 * every segment), so the cases, states, actions and idempotency keys are the same as processing the report
 * in one transaction. What differs is what only the whole report knows:
 * - the report row is written by the first segment, its parse status and errors by the last;
 * - its audit trail is `report.received` (no counts yet) … `report.completed` (events, errors, status);
 * - each triage reason's item gains each segment's events (one item per reason, as for any report);
 * - the acknowledgement, if any, is decided by the last segment from the carried cases and verdicts.
 * A mail is never processed this way (a reply must thread to its case in one piece): the inbox streams only
 * non-mail reports of at least its large-lane size.
 */

/** What one segment's transaction leaves for the next: stored as the inbox row's progress (JSON). */
export const segmentCarrySchema = z.object({
  reportId: z.number().int().positive(),
  /** Events of the report processed so far (the next segment's first index). */
  events: z.number().int().nonnegative(),
  /** Of those, events that were not duplicates of an earlier report (a report of duplicates only is not acknowledged). */
  judged: z.number().int().nonnegative(),
  opened: z.array(z.number().int().positive()),
  joined: z.array(z.number().int().positive()),
  verdicts: z.array(z.string().max(100)),
  details: z.array(z.tuple([z.string().max(100), z.string().max(4000)])),
  outcomes: z.array(z.enum(reportOutcomes)),
  triage: z.array(
    z.tuple([
      z.enum(triageReasons),
      z.object({ detail: z.string().max(4000), count: z.number().int().positive() }),
    ]),
  ),
});
export type SegmentCarry = z.infer<typeof segmentCarrySchema>;

/** What a processed report came to: the inbox row's `outcome`, as `inboxProcessorFor` gives it. */
export interface SegmentedOutcome {
  readonly reportId: number;
  readonly disposition: 'events' | 'unparsed';
  readonly cases: readonly string[];
  readonly opened: readonly string[];
  readonly outcomes: readonly string[];
  readonly events: number;
}

export interface SegmentResult {
  readonly carry: SegmentCarry;
  /** Set by the last segment. */
  readonly outcome?: SegmentedOutcome | undefined;
}

const ACTOR = 'system:intake' as const;

/** Reads a carry from the inbox row (hostile until checked: it is JSON in the store). */
export function segmentCarryOf(value: unknown): SegmentCarry | null {
  if (value === null || value === undefined) return null;
  const parsed = segmentCarrySchema.safeParse(value);
  if (!parsed.success) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `inbox progress of a segmented report: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** What a segment leaves its report's next segment, in this process (`SegmentCases`). */
export interface SegmentLeft {
  /** Its cases as it committed them. */
  readonly cases: ReadonlyMap<number, CaseRecord>;
  /** Its events' fingerprints and what they came to (`EventBatchRun.recorded`): the next segment, if it was
   * judged ahead, read the store before these were committed. */
  readonly recorded: ReadonlyMap<string, number | null>;
}

/** Reports whose cases a segment processor keeps for their next segment at once (a few run at a time). */
const KEPT_REPORTS = 8;

/**
 * The cases a report's last segment left, for its next one (`EventBatchRun.useCases`): a big report's
 * segments mostly reach the same cases, and reading them again was a tenth of a segment's time (7,625 cases
 * with their states, about 200 ms of each 10,000-event segment). Kept by a segment processor (one per
 * store), for a few reports. An entry is taken only by the segment whose carry says it follows the one that
 * left it — the inbox carries a segment's count on only once the segment has committed — so cases written
 * by a segment that rolled back are never reused; and a case changed since by anyone else is read again
 * (`openCasesFor`, by its version).
 */
export class SegmentCases {
  private readonly byReport = new Map<number, { events: number } & SegmentLeft>();

  /** What was left for the segment that starts after `events` events of the report (then forgotten). */
  take(reportId: number, events: number): SegmentLeft | undefined {
    const kept = this.byReport.get(reportId);
    this.byReport.delete(reportId);
    return kept?.events === events ? kept : undefined;
  }

  /** Keeps what a segment leaves, once `events` events of the report are processed. */
  keep(reportId: number, events: number, left: SegmentLeft): void {
    this.byReport.delete(reportId);
    this.byReport.set(reportId, { events, ...left });
    for (const oldest of this.byReport.keys()) {
      if (this.byReport.size <= KEPT_REPORTS) break;
      this.byReport.delete(oldest);
    }
  }

  forget(reportId: number): void {
    this.byReport.delete(reportId);
  }
}

/**
 * A segment's events judged before its transaction, while the segment before it writes and commits
 * (`SegmentedProcessing.workAhead`). Its reads see the store as the segment before left it uncommitted —
 * that is, without it — so it is used only with what that segment recorded (`SegmentLeft.recorded`), and
 * only if nothing it was judged under has changed since: the registry snapshot, the published policies
 * (`policies`, a count of their reloads), and its events and their place in the report.
 */
export class SegmentJudgedAhead implements SegmentWorkAhead {
  constructor(
    readonly events: readonly IntakeEvent[],
    readonly judged: JudgedEvents,
    readonly policies: number | undefined,
  ) {}

  /** Whether this is `segment`'s, judged under the snapshot and the policies in force now. */
  fits(
    segment: ReportSegment,
    firstIndex: number,
    snapshot: RegistrySnapshot,
    policies: number | undefined,
  ): boolean {
    const { input } = this.judged;
    if (input.firstIndex !== firstIndex || input.snapshot !== snapshot || this.policies !== policies)
      return false;
    if (segment.events.length !== this.events.length) return false;
    return segment.events.every((event, i) => event === this.events[i]);
  }
}

/** Judges `segment` ahead, reading through `reader` (the store, outside any transaction). */
export async function judgeSegmentAhead(
  reader: Kysely<Database>,
  deps: ReportDeps,
  segment: SegmentAhead,
  policies?: number,
): Promise<SegmentJudgedAhead> {
  const report = validSegment({
    head: segment.head,
    events: segment.events,
    fingerprints: segment.fingerprints,
  });
  const judged = await JudgedEvents.judge(reader, deps, {
    report,
    firstIndex: segment.firstIndex,
    fingerprints: segment.fingerprints,
    snapshot: deps.snapshot(),
    now: deps.clock.now(),
  });
  return new SegmentJudgedAhead(segment.events, judged, policies);
}

/**
 * One segment in the caller's transaction (the inbox row's): `earlier` is null for the first. `cases`: where
 * the processor keeps a report's cases from one segment to the next (absent: every segment reads them).
 * `ahead`: the segment judged before the transaction, with the policies' reload count now (`fits`).
 * `onDecided`: called once the events are decided and only the writes are left (`casesOfBatch`).
 */
export function processReportSegment(
  trx: Transaction<Database>,
  deps: ReportDeps,
  segment: ReportSegment,
  earlier: SegmentCarry | null,
  cases?: SegmentCases,
  options: AheadOptions = {},
): Promise<SegmentResult> {
  return withAuditBatch(trx, () => runSegment(trx, deps, segment, earlier, cases, options));
}

interface AheadOptions {
  readonly ahead?: { readonly judged: SegmentWorkAhead; readonly policies: number | undefined } | undefined;
  readonly onDecided?: (() => void) | undefined;
}

async function runSegment(
  trx: Transaction<Database>,
  deps: ReportDeps,
  segment: ReportSegment,
  earlier: SegmentCarry | null,
  cases: SegmentCases | undefined,
  { ahead, onDecided }: AheadOptions,
): Promise<SegmentResult> {
  const report = validSegment(segment);
  const snapshot = deps.snapshot();
  const firstIndex = earlier?.events ?? 0;
  const left = earlier ? cases?.take(earlier.reportId, earlier.events) : undefined;
  // Judged ahead: used when it is this segment's, judged under what is in force now, and the segment before
  // (whose rows its reads could not see) left its fingerprints in this process.
  const judged =
    ahead?.judged instanceof SegmentJudgedAhead &&
    left !== undefined &&
    ahead.judged.fits(segment, firstIndex, snapshot, ahead.policies)
      ? ahead.judged.judged
      : undefined;
  const now = judged?.input.now ?? deps.clock.now();
  const reportId = earlier?.reportId ?? (await recordReceipt(trx, report, now, { segmented: true }));
  const run = new EventBatchRun(trx, deps, snapshot, report, reportId, now, {
    firstIndex,
    fingerprints: segment.fingerprints,
  });
  if (earlier) run.restore(earlier);
  if (left) run.useCases(left.cases);
  await run.judgeEvents(judged && left ? { judged, committed: left.recorded } : undefined, onDecided);
  const triage = await run.triage.flushSegment(trx, report, reportId, new Map(earlier?.triage ?? []), now);
  const outcomes = new Set(earlier?.outcomes ?? []);
  for (const o of outcomesOf({ disposition: 'events', events: run.outcomes, triaged: false }))
    outcomes.add(o);
  const carried = run.carried();
  const carry: SegmentCarry = {
    reportId,
    events: (earlier?.events ?? 0) + report.events.length,
    judged: (earlier?.judged ?? 0) + run.outcomes.filter((o) => o.verdict !== 'duplicate').length,
    opened: [...carried.opened],
    joined: [...carried.joined],
    verdicts: [...carried.verdicts],
    details: carried.details.map(([v, r]) => [v, r.slice(0, 4000)] as [string, string]),
    outcomes: [...outcomes],
    triage: [...triage].map(([reason, t]) => [reason, { ...t, detail: t.detail.slice(0, 4000) }] as const),
  };
  if (!segment.end) {
    cases?.keep(reportId, carry.events, { cases: run.cases, recorded: run.recorded() });
    return { carry };
  }
  cases?.forget(reportId);
  return { carry, outcome: await complete(trx, deps, report, segment.end, carry, now) };
}

/** The last segment: the report's status and errors, triage for an unreadable one, the acknowledgement. */
async function complete(
  trx: Transaction<Database>,
  deps: ReportDeps,
  report: ParsedReport,
  end: NonNullable<ReportSegment['end']>,
  carry: SegmentCarry,
  now: Date,
): Promise<SegmentedOutcome> {
  const { reportId } = carry;
  const disposition = carry.events === 0 ? 'unparsed' : 'events';
  const whole: ParsedReport = { ...report, status: end.status, errors: [...end.errors] };
  const outcomes = new Set(carry.outcomes);
  const triaged =
    (await new TriageCollector().flush(trx, whole, reportId, disposition, now)) || carry.triage.length > 0;
  if (disposition === 'unparsed') outcomes.add('unparsed');
  if (triaged) outcomes.add('triage');
  const opened = new Set(carry.opened);
  const joined = carry.joined.filter((id) => !opened.has(id));
  const ack = await acknowledgeReport(
    trx,
    whole,
    reportId,
    {
      opened: carry.opened,
      joined,
      verdicts: new Set(carry.verdicts),
      details: new Map(carry.details),
      duplicatesOnly: carry.events > 0 && carry.judged === 0,
      threaded: false,
    },
    { now, ackPolicy: deps.ackPolicy, messageIdDomain: deps.messageIdDomain },
  );
  await setReportOutcome(trx, reportId, {
    disposition,
    caseId: carry.opened[0] ?? joined[0] ?? null,
    ackOutcome: ack.outcome,
    ackSuppressed: ack.suppressed ?? null,
    parse: { status: end.status, errors: whole.errors },
  });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'report.completed',
    subject: `report:${reportId}`,
    payload: {
      events: carry.events,
      errors: end.errorCount,
      status: end.status,
      opened: carry.opened.length,
      joined: joined.length,
    },
  });
  return {
    reportId,
    disposition,
    cases: [...carry.opened, ...joined].map(caseRefOf),
    opened: carry.opened.map(caseRefOf),
    outcomes: reportOutcomes.filter((o) => outcomes.has(o)),
    events: carry.events,
  };
}

/**
 * The segment as a report of its events, checked as `processReportIn` checks a whole one — but for its
 * events: those were each checked against `eventSchema` where they were parsed (`checkEvents` in
 * report-stream.ts, on the parsing thread; see `ReportChunk`), and the schema neither transforms nor
 * defaults a field, so checking them again here gave the same events at the main thread's cost (some 6 %
 * of what the pipeline allocated on a feed report).
 */
function validSegment(segment: ReportSegment): ParsedReport {
  const head = validReport({
    ...segment.head,
    status: segment.end?.status ?? 'parsed',
    events: [],
    errors: [...(segment.end?.errors ?? [])],
  });
  return { ...head, events: [...segment.events] };
}
