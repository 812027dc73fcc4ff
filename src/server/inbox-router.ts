import type { Kysely, Transaction } from 'kysely';
import { receivePrivacyMail } from '../compliance/privacy-request-repository.js';
import { type DmcaDeps, receiveDmca } from '../dmca/dmca-workflow.js';
import { policyHistories } from '../enforcement/pipeline/case-transition.js';
import type { LivePolicies } from '../enforcement/pipeline/live-policies.js';
import type { ReportDeps } from '../enforcement/pipeline/process-report.js';
import { inboxProcessorFor, inboxSegmentProcessorFor } from '../enforcement/pipeline/report-processor.js';
import { AupError } from '../errors.js';
import type {
  InboxItem,
  ProcessedOutcome,
  ReportProcessor,
  SegmentedProcessing,
} from '../intake/inbox/inbox-worker.js';
import { parseMail } from '../intake/mail/mail-message.js';
import { decodeText } from '../intake/parsers/text/decode-text.js';
import type { ParsedReport } from '../intake/report.js';
import { describeIssues, informationRequestSchema } from '../legal/information-request.js';
import { readLegalRequest } from '../legal/legal-mail-reader.js';
import { recordRequest } from '../legal/legal-workflow.js';
import type { Database } from '../store/schema.js';

/**
 * The composition root's routing of received items (DESIGN.md, level 10): a DMCA notice or counter-notice
 * (the `dmca` route: dmca@, copyright@, the /dmca form, the API; or any item the intake read as a DMCA
 * notice) goes to the DMCA procedure, an information request (the `legal` route) to the legal workflow, a
 * request about a minor's personal data (the `privacy` route) to compliance's privacy workflow, and
 * everything else to the desk pipeline. Each runs in the inbox's transaction, so the item's `done` and
 * the workflow's writes commit together.
 *
 * This is what keeps an incomplete notice away from the customer: the desk pipeline would open a case and
 * send a violation notice on any copyright event; the DMCA procedure first checks the statute's elements.
 */

export type RouterDeps = ReportDeps & Pick<DmcaDeps, 'timeZone'>;

export function routedInboxProcessor(
  deps: RouterDeps,
  live?: Pick<LivePolicies, 'refresh'>,
): ReportProcessor {
  const desk = inboxProcessorFor(deps, live);
  return async (trx, report, item) => {
    switch (workflowOf(item, report)) {
      case 'legal':
        return legal(trx, deps, report, item);
      case 'privacy':
        return privacy(trx, deps, report, item);
      case 'dmca':
        return dmca(trx, deps, report, item);
      case 'desk':
        return desk(trx, report, item);
    }
  };
}

/** Where an item goes: by its route, and a notice the intake read as DMCA goes to the DMCA procedure. */
function workflowOf(
  item: Pick<InboxItem, 'route'>,
  report: Pick<ParsedReport, 'format'>,
): 'legal' | 'privacy' | 'dmca' | 'desk' {
  if (item.route === 'legal') return 'legal';
  if (item.route === 'privacy') return 'privacy';
  if (item.route === 'dmca' || report.format === 'dmca') return 'dmca';
  return 'desk';
}

/**
 * Big reports processed a segment per transaction (inbox-worker.ts, report-segment.ts): only what goes to
 * the desk pipeline. A DMCA notice, a legal or privacy request is read whole by its workflow. `readAhead`:
 * the store on PostgreSQL, to judge a segment while the one before commits (`inboxSegmentProcessorFor`).
 */
export function routedSegments(
  deps: RouterDeps,
  live?: Pick<LivePolicies, 'refresh' | 'generation'>,
  readAhead?: Kysely<Database>,
): SegmentedProcessing {
  return {
    accepts: (item, head) => workflowOf(item, head) === 'desk',
    ...inboxSegmentProcessorFor(deps, live, readAhead),
  };
}

/** The text of a received item: a mail's text body, or the bytes as UTF-8 (form and API submissions). */
export async function itemText(deps: Pick<ReportDeps, 'evidence'>, report: ParsedReport): Promise<string> {
  if (!deps.evidence) throw new AupError('AUP_ERR_CONFIG_INVALID', 'routing needs the evidence store');
  return textOfBytes(await deps.evidence.get(report.evidenceSha256));
}

/** A mail's text body when the bytes are a message, else the bytes as text (`aupdesk dmca check` too). */
export function textOfBytes(bytes: Uint8Array): string {
  const head = new TextDecoder().decode(bytes.subarray(0, 2048));
  // A message has a header block first: a `Name: value` line before the first blank line.
  if (/^(?:[!-9;-~]+:[^\r\n]*\r?\n)+/.test(head) && /\r?\n\r?\n/.test(head)) {
    try {
      const mail = parseMail(bytes);
      const text = mail.textBody()?.text();
      if (text !== undefined) return text.slice(0, 256 * 1024);
    } catch {
      // Not a message after all: read it as text.
    }
  }
  return decodeText(bytes).text.slice(0, 256 * 1024);
}

async function dmca(
  trx: Transaction<Database>,
  deps: RouterDeps,
  report: ParsedReport,
  item: InboxItem,
): Promise<ProcessedOutcome> {
  const text = await itemText(deps, report);
  const outcome = await receiveDmca(trx, deps, {
    text,
    channel: report.channel,
    receivedAt: item.receivedAt,
    evidenceSha256: report.evidenceSha256,
    inboxId: item.id,
    replyAddress: report.reporter.email,
    replyName: report.reporter.name,
  });
  return {
    // A complete notice's takedown went through the desk pipeline: its report row carries the cases.
    ...(outcome.reportId !== undefined ? { reportId: outcome.reportId } : {}),
    workflow: 'dmca',
    dmca: outcome.ref,
    kind: outcome.kind,
    status: outcome.status,
    complete: outcome.complete,
    missing: [...outcome.missing],
    cases: [...outcome.cases],
    opened: [],
  };
}

async function legal(
  trx: Transaction<Database>,
  deps: RouterDeps,
  report: ParsedReport,
  item: InboxItem,
): Promise<ProcessedOutcome> {
  const text = await itemText(deps, report);
  const read = readLegalRequest(text, { name: report.reporter.name, email: report.reporter.email });
  const parsed = informationRequestSchema.safeParse(read);
  if (!parsed.success) {
    // The reader builds what the schema takes; a failure here is ours, and the item must not be lost.
    throw new AupError('AUP_ERR_INTAKE_UNPARSEABLE', `legal request: ${describeIssues(parsed.error)}`);
  }
  const record = await recordRequest(trx, deps, {
    request: parsed.data,
    channel: report.channel,
    receivedAt: item.receivedAt,
    evidenceSha256: report.evidenceSha256,
    body: text,
  });
  return { workflow: 'legal', request: record.ref, status: record.status, cases: [], opened: [] };
}

async function privacy(
  trx: Transaction<Database>,
  deps: RouterDeps,
  report: ParsedReport,
  item: InboxItem,
): Promise<ProcessedOutcome> {
  const text = await itemText(deps, report);
  const outcome = await receivePrivacyMail(
    trx,
    { policies: policyHistories(deps) },
    {
      text,
      subject: report.subject,
      from: { name: report.reporter.name, email: report.reporter.email },
      channel: report.channel,
      receivedAt: item.receivedAt,
      evidenceSha256: report.evidenceSha256,
    },
  );
  return {
    workflow: 'privacy',
    request: outcome.record.ref,
    status: outcome.record.status,
    recognised: outcome.recognised,
    missing: [...outcome.missing],
    cases: [],
    opened: [],
  };
}
