import type { Transaction } from 'kysely';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, getCase, survivingCase } from '../../cases/case-repository.js';
import { addCaseMessage, findOutgoingByMessageIds } from '../../cases/message-repository.js';
import { reporterAddressesOfCase } from '../../cases/report-repository.js';
import { parseMail } from '../../intake/mail/mail-message.js';
import type { ParsedReport } from '../../intake/report.js';
import type { Database } from '../../store/schema.js';
import type { CaseMessageKind } from '../../store/tables/cases.table.js';
import { caseIdFromSubject } from '../notices/case-tag.js';
import { applyCaseTransition, type InTransactionDeps } from './case-transition.js';

/**
 * Replies that thread to a case. A mail whose In-Reply-To/References name one of our messages, or whose
 * subject carries a case tag (`[AUP-000123]`), belongs to that case (followed through merges). Who wrote it
 * decides what it does:
 *  - an automatic answer (out-of-office, Auto-Submitted) is kept on the case and changes nothing;
 *  - a reporter answering our acknowledgement (or writing from a reporter address of the case) is kept on
 *    the case; its events are judged like any complaint (they join the same case);
 *  - anyone else is the customer: the reply is kept on the case and the case goes to `customer-responded`
 *    for an analyst to review (the ladder waits), instead of a new case being opened from its text.
 */

export interface ThreadMatch {
  readonly record: CaseRecord;
  readonly kind: Extract<CaseMessageKind, 'reply' | 'reporter-reply' | 'auto-reply'>;
  /** How it was matched: `message-id` or `subject-tag`. */
  readonly by: 'message-id' | 'subject-tag';
}

function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return (/<([^>]+)>/.exec(value)?.[1] ?? value).trim().toLowerCase();
}

export async function findThread(
  trx: Transaction<Database>,
  report: ParsedReport,
): Promise<ThreadMatch | undefined> {
  if (report.channel === 'feed' || report.channel === 'detection') return undefined;
  let caseId: number | undefined;
  let answersAck = false;
  let by: ThreadMatch['by'] = 'message-id';
  const referenced = await findOutgoingByMessageIds(trx, report.inReplyTo ?? []);
  if (referenced.length > 0) {
    caseId = referenced[0]!.caseId;
    answersAck = referenced.every((m) => m.kind === 'ack');
  } else if (report.subject) {
    const tag = caseIdFromSubject(report.subject);
    if (tag !== undefined && /^[0-9]+$/.test(tag)) {
      const found = await getCase(trx, Number(tag));
      if (found) {
        caseId = found.id;
        by = 'subject-tag';
      }
    }
  }
  if (caseId === undefined) return undefined;
  const record = await survivingCase(trx, caseId);
  if (!record) return undefined;
  if (report.reporter.automated) return { record, kind: 'auto-reply', by };
  const sender = addressOf(report.reporter.email);
  if (
    answersAck ||
    (sender !== undefined && (await reporterAddressesOfCase(trx, record.id)).includes(sender))
  ) {
    return { record, kind: 'reporter-reply', by };
  }
  return { record, kind: 'reply', by };
}

/** The reply's text, from the evidence (bounded), for the case thread; undefined when it cannot be read. */
export async function replyBody(
  evidence: { get(sha256: string): Promise<Uint8Array> } | undefined,
  sha256: string,
): Promise<string | undefined> {
  if (!evidence) return undefined;
  try {
    const mail = parseMail(await evidence.get(sha256));
    const text = mail.textBody()?.text();
    return text === undefined ? undefined : text.slice(0, 64 * 1024);
  } catch {
    // The thread keeps the subject and headers; the raw mail stays in the evidence store either way.
    return undefined;
  }
}

/** Attaches the reply to its case; a customer's reply moves the case to review through the engine. */
export async function attachReply(
  trx: Transaction<Database>,
  deps: InTransactionDeps,
  report: ParsedReport,
  reportId: number,
  match: ThreadMatch,
  body: string | undefined,
  now: Date,
): Promise<CaseRecord> {
  const receivedAt = new Date(report.receivedAt);
  const at = receivedAt.getTime() > now.getTime() ? now : receivedAt;
  const record = (await getCase(trx, match.record.id, { forUpdate: true })) ?? match.record;
  await addCaseMessage(trx, {
    caseId: record.id,
    direction: 'in',
    kind: match.kind,
    messageId: report.messageId ?? null,
    inReplyTo: report.inReplyTo?.[0] ?? null,
    subject: report.subject ?? null,
    body: body ?? null,
    sender: report.reporter.email ?? report.reporter.name ?? null,
    reportId,
    at,
  });
  await appendAudit(trx, {
    at: now,
    actor: 'system:intake',
    kind: 'case.message',
    subject: caseSubject(record.id),
    payload: {
      case: record.ref,
      report: reportId,
      kind: match.kind,
      matchedBy: match.by,
      messageId: report.messageId ?? null,
      evidence: report.evidenceSha256,
    },
  });
  if (match.kind !== 'reply') return record;
  const state = structuredClone(record.state);
  state.customerRespondedAt = at.toISOString();
  const { record: saved } = await applyCaseTransition(trx, deps, record, state, now, {
    actor: 'system:intake',
    cause: 'customer-reply',
    audit: { report: reportId },
  });
  return saved;
}
