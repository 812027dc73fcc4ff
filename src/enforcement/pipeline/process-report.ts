import type { Transaction } from 'kysely';
import { appendAudit, withAuditBatch } from '../../audit/audit-log.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import { insertReport, setReportOutcome } from '../../cases/report-repository.js';
import { AupError } from '../../errors.js';
import { type ParsedReport, parsedReportSchema } from '../../intake/report.js';
import type { Database } from '../../store/schema.js';
import { policyHistories } from './case-transition.js';
import { EventBatchRun } from './event-batch.js';
import type { EventOutcome, PipelineDeps, ReportDeps } from './pipeline-deps.js';
import { attachReply, findThread, type ReplyFacts, replyFacts } from './reply-threading.js';
import { type AckDecisionResult, acknowledgeReport } from './report-ack.js';
import { outcomesOf, type ReportOutcome } from './report-outcome.js';

export type { EventOutcome, PipelineDeps, ReportDeps } from './pipeline-deps.js';

/**
 * A parsed report → enforcement, in ONE transaction per report: the report row, then for each event
 * (set-based, a chunk of events at a time: event-batch.ts decides, case-batch.ts writes, with the results
 * of one event after another) attribution (in-memory snapshot, at the event's time;
 * attribution/attribute-event.ts) → the policy version binding that customer then and the judgement under it (judgement/judge-with-binding.ts; the simulator
 * uses the same two, so `aupdesk simulate` and the desk judge alike) → correlation into a case (open or
 * join) → the ladder engine → state, outbox actions, due step and audit entries; finally the reporter's
 * acknowledgement (through the outbox). A crash anywhere leaves nothing half-done: the evidence is already
 * durable (the channel stored it first) and the report can be processed again. A reply to one of our
 * notices threads to its case instead (reply-threading.ts).
 *
 * `processReport` opens that transaction; `processReportIn` runs in one the caller owns (the intake inbox).
 */

export interface ProcessReportResult {
  readonly reportId: number;
  readonly disposition:
    | 'events'
    | 'customer-reply'
    | 'reporter-reply'
    | 'auto-reply'
    | 'third-party-reply'
    | 'unparsed';
  readonly events: readonly EventOutcome[];
  /** Cases opened or joined, by reference. */
  readonly cases: readonly { readonly ref: string; readonly opened: boolean }[];
  readonly ack: AckDecisionResult | null;
  /** The case a reply threaded to. */
  readonly threadedTo?: string;
  /** What the report came to (the reports API's `outcome` filter), report-outcome.ts. */
  readonly outcomes: readonly ReportOutcome[];
}

const ACTOR = 'system:intake' as const;

export { reviewOf } from './case-batch.js';

export async function processReport(deps: PipelineDeps, input: ParsedReport): Promise<ProcessReportResult> {
  const report = validReport(input);
  // Read before the transaction: file I/O has no business holding the audit head lock.
  const facts = await mailFactsOf(deps, report);
  return deps.db.transaction().execute((trx) => processValidReport(trx, deps, report, facts));
}

/**
 * `processReport` inside a transaction the caller owns (the intake inbox's: the report's writes and the
 * inbox row's `done` then commit together). It takes no `db`: every read and write goes through `trx`.
 * A mail report's text (kept on its case when it is a reply) is read from `deps.evidence` here, before the
 * first write takes a lock.
 */
export async function processReportIn(
  trx: Transaction<Database>,
  deps: ReportDeps,
  input: ParsedReport,
): Promise<ProcessReportResult> {
  const report = validReport(input);
  return processValidReport(trx, deps, report, await mailFactsOf(deps, report));
}

/**
 * Every audit entry of the report (received, judgements, cases opened and joined, state changes, actions
 * enqueued, steps scheduled, the acknowledgement) is chained as it is decided and written in one statement
 * per 2,000 (withAuditBatch): the same chain as appending one by one, without a round trip per entry.
 */
function processValidReport(
  trx: Transaction<Database>,
  deps: ReportDeps,
  report: ParsedReport,
  facts: ReplyFacts,
): Promise<ProcessReportResult> {
  return withAuditBatch(trx, () => processInAuditBatch(trx, deps, report, facts));
}

async function processInAuditBatch(
  trx: Transaction<Database>,
  deps: ReportDeps,
  report: ParsedReport,
  facts: ReplyFacts,
): Promise<ProcessReportResult> {
  const body = facts.body;
  const snapshot = deps.snapshot();
  const now = deps.clock.now();
  const looksLikeMail = isMail(report);

  // Lock order: the audit head first (report.received), then case rows. Every writer of cases takes them
  // in this order (case-transition.ts), so two PostgreSQL workers cannot deadlock on them.
  const reportId = await recordReceipt(trx, report, now, {
    status: report.status,
    events: report.events.length,
    errors: report.errors.length,
  });
  const thread = looksLikeMail
    ? await findThread(trx, report, {
        secret: deps.replySecret,
        recipients: facts.recipients,
        acceptsCustomerDomain: (record) => acceptsCustomerDomain(deps, record),
      })
    : undefined;
  if (thread && thread.kind !== 'reporter-reply') {
    const disposition =
      thread.kind === 'reply'
        ? 'customer-reply'
        : thread.kind === 'third-party'
          ? 'third-party-reply'
          : 'auto-reply';
    const record = await attachReply(trx, deps, report, reportId, thread, body, now);
    await setReportOutcome(trx, reportId, {
      disposition,
      caseId: record.id,
      ackSuppressed: 'a reply on a case thread',
    });
    return { reportId, disposition, events: [], cases: [], ack: null, threadedTo: record.ref, outcomes: [] };
  }
  const disposition = thread ? 'reporter-reply' : report.events.length === 0 ? 'unparsed' : 'events';
  if (disposition !== 'events') await setReportOutcome(trx, reportId, { disposition });
  if (thread) await attachReply(trx, deps, report, reportId, thread, body, now);

  const run = new EventBatchRun(trx, deps, snapshot, report, reportId, now);
  await run.judgeEvents();
  const triaged = await run.triage.flush(trx, report, reportId, disposition, now);
  const ack = await acknowledgeReport(
    trx,
    report,
    reportId,
    { ...run.ackInput(), threaded: thread !== undefined },
    {
      now,
      ackPolicy: deps.ackPolicy,
      messageIdDomain: deps.messageIdDomain,
    },
  );
  await setReportOutcome(trx, reportId, {
    caseId: run.firstCaseId(),
    ackOutcome: ack.outcome,
    ackSuppressed: ack.suppressed ?? null,
  });
  return {
    reportId,
    disposition,
    events: run.outcomes,
    cases: run.caseList(),
    ack,
    ...(thread ? { threadedTo: thread.record.ref } : {}),
    outcomes: outcomesOf({ disposition, events: run.outcomes, triaged }),
  };
}

/**
 * The report row and its `report.received` audit entry, the first writes of a report (the entry locks the
 * audit head: lock order, head first). `counts`: its parse status and counts, or, for a report processed in
 * segments (report-segment.ts), that they come with its `report.completed` entry.
 */
export async function recordReceipt(
  trx: Transaction<Database>,
  report: ParsedReport,
  now: Date,
  counts: { status: string; events: number; errors: number } | { segmented: true },
): Promise<number> {
  const reportId = await insertReport(trx, report, { disposition: 'events', at: now });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'report.received',
    subject: `report:${reportId}`,
    payload: { evidence: report.evidenceSha256, format: report.format, channel: report.channel, ...counts },
  });
  return reportId;
}

/** The report checked against its schema (a caller's input is hostile until checked). */
export function validReport(input: ParsedReport): ParsedReport {
  const parsed = parsedReportSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AupError(
    'AUP_ERR_INPUT_INVALID',
    `parsed report ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`,
  );
}

function isMail(report: ParsedReport): boolean {
  return report.channel === 'smtp' || report.channel === 'imap';
}

/** A mail report's text (kept on the case when it is a reply); undefined for other channels. */
function mailFactsOf(deps: ReportDeps, report: ParsedReport): Promise<ReplyFacts> {
  return isMail(report)
    ? replyFacts(deps.evidence, report.evidenceSha256)
    : Promise.resolve({ body: undefined, recipients: [] });
}

/** The case's policy version says whether a reply from a customer address's domain is the customer's. */
function acceptsCustomerDomain(deps: ReportDeps, record: CaseRecord): boolean {
  for (const history of policyHistories(deps)) {
    if (history.provider !== record.providerId) continue;
    const version = history.versions.find((v) => v.document.version === record.policyVersion);
    return version?.document.terms.complaints.customer_replies_from_domain === true;
  }
  return false;
}
