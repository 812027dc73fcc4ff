import type { ReportProcessor } from '../../intake/inbox/inbox-worker.js';
import { processReportIn, type ReportDeps } from './process-report.js';

/**
 * The pipeline as the intake inbox's processor: the report's writes (report row, events, cases, outbox
 * actions, audit) run in the inbox's own transaction (`processReportIn`), so they and the inbox row's `done`
 * commit together — a report is processed exactly once even if the worker dies at any point.
 * It takes no `db`: the report touches nothing but the inbox's transaction.
 */
export function inboxProcessorFor(deps: ReportDeps): ReportProcessor {
  return async (trx, report) => {
    const result = await processReportIn(trx, deps, report);
    return {
      reportId: result.reportId,
      disposition: result.disposition,
      cases: result.cases.map((c) => c.ref),
      opened: result.cases.filter((c) => c.opened).map((c) => c.ref),
      ...(result.threadedTo ? { threadedTo: result.threadedTo } : {}),
    };
  };
}
