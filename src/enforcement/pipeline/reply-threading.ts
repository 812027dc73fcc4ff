import type { Transaction } from 'kysely';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, getCase, survivingCase } from '../../cases/case-repository.js';
import { copyCaseState } from '../../cases/case-state.js';
import { addCaseMessage, findOutgoingByMessageIds } from '../../cases/message-repository.js';
import { reporterAddressesOfCase } from '../../cases/report-repository.js';
import { parseMail } from '../../intake/mail/mail-message.js';
import type { ParsedReport } from '../../intake/report.js';
import { customerContact } from '../../registry/customer-lookup.js';
import type { Database } from '../../store/schema.js';
import type { CaseMessageKind } from '../../store/tables/cases.table.js';
import { caseIdFromSubject } from '../notices/case-tag.js';
import { isReplyToken, replyTokenClaims } from '../notices/reply-token.js';
import { applyCaseTransition, type InTransactionDeps } from './case-transition.js';

/**
 * Replies that thread to a case. A mail whose In-Reply-To/References name one of our messages, or whose
 * subject carries a case tag (`[AUP-000123]`), belongs to that case (followed through merges). Threading
 * says which case a mail is about, never who wrote it: case tags are sequential and guessable, and our
 * notices' Message-IDs are seen by everyone on the thread. Who wrote it decides what it does:
 *  - an automatic answer (out-of-office, Auto-Submitted) is kept on the case and changes nothing;
 *  - a reporter answering our acknowledgement (or writing from a reporter address of the case) is kept on
 *    the case; its events are judged like any complaint (they join the same case);
 *  - the customer's reply moves the case to `customer-responded` for an analyst to review (the ladder
 *    waits). It counts as the customer's only when it is authenticated: it comes from an address the
 *    registry holds for the case's customer (or, where the policy's `customer_replies_from_domain` allows,
 *    from that address's domain) AND it is addressed to the case's Reply-To, which carries the per-case
 *    token only the notice's recipient saw (notices/reply-token.ts, compared in constant time);
 *  - anything else is a `third-party` message: kept on the case for analysts, shown as such, never shown
 *    to the customer as theirs, and it changes no state.
 */

export interface ReplyAuthContext {
  /** The desk secret the reply tokens derive from; absent, no reply can be authenticated. */
  readonly secret: Uint8Array | undefined;
  /** Where the mail was addressed (To, Cc, Delivered-To, X-Original-To). */
  readonly recipients: readonly string[];
  /** Whether the case's policy accepts replies from the domain of a customer address. */
  readonly acceptsCustomerDomain: (record: CaseRecord) => boolean;
}

export type ReplyAuthentication =
  | { readonly authenticated: true }
  | { readonly authenticated: false; readonly reason: string };

export interface ThreadMatch {
  readonly record: CaseRecord;
  readonly kind: Extract<CaseMessageKind, 'reply' | 'reporter-reply' | 'auto-reply' | 'third-party'>;
  /** How it was matched: `message-id` or `subject-tag`. */
  readonly by: 'message-id' | 'subject-tag';
  /** For a mail that would be the customer's reply: whether it proved to be. */
  readonly authentication?: ReplyAuthentication;
}

function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return (/<([^>]+)>/.exec(value)?.[1] ?? value).trim().toLowerCase();
}

export async function findThread(
  trx: Transaction<Database>,
  report: ParsedReport,
  auth: ReplyAuthContext,
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
  const authentication = await authenticateReply(trx, record, sender, auth);
  return { record, kind: authentication.authenticated ? 'reply' : 'third-party', by, authentication };
}

/** Sender held by the customer (or its domain, where allowed) and a valid token for this case. */
async function authenticateReply(
  trx: Transaction<Database>,
  record: CaseRecord,
  sender: string | undefined,
  auth: ReplyAuthContext,
): Promise<ReplyAuthentication> {
  if (sender === undefined) return { authenticated: false, reason: 'the mail names no sender address' };
  const contact = await customerContact(trx, record.customerRef);
  const held = (contact?.emails ?? []).map((e) => e.trim().toLowerCase());
  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);
  const fromCustomer =
    held.includes(sender) ||
    (auth.acceptsCustomerDomain(record) && held.some((e) => domainOf(e) === domainOf(sender)));
  if (!fromCustomer) {
    return {
      authenticated: false,
      reason: `${sender} is not an address the registry holds for ${record.customerRef}`,
    };
  }
  const secret = auth.secret;
  if (secret === undefined)
    return { authenticated: false, reason: 'no desk secret to check reply tokens with' };
  for (const claim of replyTokenClaims(auth.recipients)) {
    // Check every claim (no early exit on the case number) so timing says nothing about which part failed.
    if (!isReplyToken(secret, claim.caseNumber, claim.token)) continue;
    if (!/^[0-9]+$/.test(claim.caseNumber)) continue;
    const named = await survivingCase(trx, Number(claim.caseNumber));
    if (named?.id === record.id) return { authenticated: true };
  }
  return {
    authenticated: false,
    reason: "the mail does not carry this case's reply token (it was not sent to the notice's Reply-To)",
  };
}

export interface ReplyFacts {
  /** The text, bounded; undefined when it cannot be read. */
  readonly body: string | undefined;
  /** Where it was addressed: To, Cc, Delivered-To, X-Original-To (raw header values). */
  readonly recipients: readonly string[];
}

/** The reply's text and recipients, from the evidence; empty when it cannot be read. */
export async function replyFacts(
  evidence: { get(sha256: string): Promise<Uint8Array> } | undefined,
  sha256: string,
): Promise<ReplyFacts> {
  if (!evidence) return { body: undefined, recipients: [] };
  try {
    const mail = parseMail(await evidence.get(sha256));
    const text = mail.textBody()?.text();
    const recipients = ['to', 'cc', 'delivered-to', 'x-original-to'].flatMap((h) => mail.headers.getAll(h));
    return { body: text === undefined ? undefined : text.slice(0, 64 * 1024), recipients };
  } catch {
    // The thread keeps the subject and headers; the raw mail stays in the evidence store either way.
    return { body: undefined, recipients: [] };
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
      ...(match.authentication && !match.authentication.authenticated
        ? { unauthenticated: match.authentication.reason }
        : {}),
      messageId: report.messageId ?? null,
      evidence: report.evidenceSha256,
    },
  });
  if (match.kind !== 'reply') return record;
  const state = copyCaseState(record.state);
  state.customerRespondedAt = at.toISOString();
  const { record: saved } = await applyCaseTransition(trx, deps, record, state, now, {
    actor: 'system:intake',
    cause: 'customer-reply',
    audit: { report: reportId },
  });
  return saved;
}
