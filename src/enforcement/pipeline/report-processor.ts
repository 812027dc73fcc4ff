import type { Kysely } from 'kysely';
import type { ReportProcessor, SegmentedProcessing } from '../../intake/inbox/inbox-worker.js';
import type { Database } from '../../store/schema.js';
import type { LivePolicies } from './live-policies.js';
import { processReportIn, type ReportDeps } from './process-report.js';
import { judgeSegmentAhead, processReportSegment, SegmentCases, segmentCarryOf } from './report-segment.js';

/**
 * The pipeline as the intake inbox's processor: the report's writes (report row, events, cases, outbox
 * actions, audit) run in the inbox's own transaction (`processReportIn`), so they and the inbox row's `done`
 * commit together — a report is processed exactly once even if the worker dies at any point.
 * It takes no `db`: the report touches nothing but the inbox's transaction.
 */
export function inboxProcessorFor(deps: ReportDeps, live?: Pick<LivePolicies, 'refresh'>): ReportProcessor {
  return async (trx, report) => {
    // A version published meanwhile (by any process) binds this report's events: a one-row check.
    if (live) await live.refresh(trx);
    const result = await processReportIn(trx, deps, report);
    return {
      reportId: result.reportId,
      disposition: result.disposition,
      cases: result.cases.map((c) => c.ref),
      opened: result.cases.filter((c) => c.opened).map((c) => c.ref),
      outcomes: result.outcomes,
      ...(result.threadedTo ? { threadedTo: result.threadedTo } : {}),
    };
  };
}

/**
 * The pipeline as the inbox's segment processor (report-segment.ts): a big report a segment per inbox
 * transaction, with the carry the inbox keeps between them. `accepts` is the router's to say.
 * `readAhead`: the store, to judge each segment outside any transaction while the one before it commits
 * (`workAhead`); given on PostgreSQL only, where the server writes one segment on its own core while this
 * process judges the next. The embedded store runs in this process, on its one connection: nothing to gain.
 */
export function inboxSegmentProcessorFor(
  deps: ReportDeps,
  live?: Pick<LivePolicies, 'refresh' | 'generation'>,
  readAhead?: Kysely<Database>,
): Pick<SegmentedProcessing, 'process' | 'workAhead'> {
  // A report's cases from one segment to the next, in this process (report-segment.ts).
  const cases = new SegmentCases();
  return {
    async process(trx, segment, carry, _item, options = {}) {
      if (live) await live.refresh(trx);
      const result = await processReportSegment(trx, deps, segment, segmentCarryOf(carry), cases, {
        ...(options.ahead ? { ahead: { judged: options.ahead, policies: live?.generation } } : {}),
        onDecided: options.onDecided,
      });
      return {
        carry: result.carry,
        ...(result.outcome ? { outcome: { ...result.outcome } } : {}),
      };
    },
    ...(readAhead
      ? { workAhead: (segment) => judgeSegmentAhead(readAhead, deps, segment, live?.generation) }
      : {}),
  };
}
