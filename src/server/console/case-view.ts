import { type AuditEntry, listAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import {
  type CaseMessage,
  type CaseNote,
  listCaseMessages,
  listCaseNotes,
} from '../../cases/message-repository.js';
import { type QueueRow, queueCases, reportIdsOfCase } from '../../cases/queries/case-queue.js';
import {
  getReport,
  listCaseEvents,
  type StoredCaseEvent,
  type StoredReport,
} from '../../cases/report-repository.js';
import { type ConsentEvidence, listConsentEvidence } from '../../compliance/consent-evidence.js';
import { type EnforcementDeps, policyOfCase } from '../../enforcement/pipeline/case-transition.js';
import type { EvidenceStore } from '../../intake/evidence-store.js';
import { parseMail } from '../../intake/mail/mail-message.js';
import type { Clause, PolicyDocument } from '../../policy/policy-schema.js';

/**
 * Everything a case page shows, read in one place for the console and the portal (the portal then shows
 * only what the binding policy lets the customer see). Evidence is parsed here into text: raw header
 * block, text body, the HTML body's source (as text, never rendered), attachment names and sizes. Bounded:
 * the first `MAX_REPORTS` reports, `MAX_TEXT` characters of each part.
 */

export const MAX_REPORTS = 20;
export const MAX_TEXT = 64 * 1024;

export interface EvidenceAttachment {
  readonly index: number;
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
}

export interface EvidenceView {
  readonly report: StoredReport;
  readonly reporter: { email?: string; name?: string; verified?: boolean };
  readonly size: number;
  /** False when the blob is missing from the evidence store. */
  readonly available: boolean;
  readonly isMail: boolean;
  readonly headers: string;
  readonly textBody: string;
  readonly htmlSource: string;
  readonly attachments: EvidenceAttachment[];
  readonly truncated: boolean;
}

export interface CaseView {
  readonly record: CaseRecord;
  readonly policy: PolicyDocument | undefined;
  readonly clause: Clause | undefined;
  readonly events: StoredCaseEvent[];
  readonly messages: CaseMessage[];
  readonly notes: CaseNote[];
  readonly audit: AuditEntry[];
  readonly evidence: EvidenceView[];
  readonly earlier: QueueRow[];
  /** Per-recipient consent evidence the customer sent (Secure Packet §4.3), oldest first. */
  readonly consentEvidence: ConsentEvidence[];
}

export async function loadCaseView(
  enforcement: EnforcementDeps,
  evidenceStore: EvidenceStore,
  record: CaseRecord,
  options: { audit: boolean; notes: boolean },
): Promise<CaseView> {
  const db = enforcement.db;
  let policy: PolicyDocument | undefined;
  try {
    policy = policyOfCase(enforcement, record);
  } catch {
    policy = undefined;
  }
  const [events, messages, notes, audit, reportIds, earlier, consentEvidence] = await Promise.all([
    listCaseEvents(db, { caseId: record.id }),
    listCaseMessages(db, record.id),
    options.notes ? listCaseNotes(db, record.id) : Promise.resolve([]),
    options.audit ? listAudit(db, { subject: caseSubject(record.id), limit: 500 }) : Promise.resolve([]),
    reportIdsOfCase(db, record.id),
    queueCases(db, { customerId: record.customerId, sort: 'opened', pageSize: 20 }),
    listConsentEvidence(db, record.id),
  ]);
  const evidence: EvidenceView[] = [];
  for (const id of reportIds.slice(0, MAX_REPORTS)) {
    const report = await getReport(db, id);
    if (report) evidence.push(await evidenceOf(evidenceStore, report));
  }
  return {
    record,
    policy,
    clause: policy?.clauses.find((c) => c.id === record.clauseId),
    events,
    messages,
    notes,
    audit,
    evidence,
    earlier: earlier.rows.filter((r) => r.id !== record.id),
    consentEvidence,
  };
}

export async function evidenceOf(store: EvidenceStore, report: StoredReport): Promise<EvidenceView> {
  const reporter = reporterOf(report.reporter);
  let bytes: Uint8Array;
  try {
    bytes = await store.get(report.evidenceSha256);
  } catch {
    return {
      report,
      reporter,
      size: 0,
      available: false,
      isMail: false,
      headers: '',
      textBody: '',
      htmlSource: '',
      attachments: [],
      truncated: false,
    };
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, MAX_TEXT * 4));
  const looksLikeMail = /^[\x21-\x39\x3b-\x7e]+:[ \t]/m.test(text.slice(0, 2000)) && /\r?\n\r?\n/.test(text);
  if (looksLikeMail) {
    try {
      const mail = parseMail(bytes);
      const textPart = mail.textBody();
      const htmlPart = mail.htmlBody();
      const attachments = mail.attachments().map((a, index) => ({
        index,
        fileName: a.fileName ?? `attachment-${index + 1}`,
        contentType: a.contentType,
        size: a.encodedSize,
      }));
      const textBody = textPart?.text() ?? '';
      const htmlSource = htmlPart?.text() ?? '';
      return {
        report,
        reporter,
        size: bytes.length,
        available: true,
        isMail: true,
        headers: mail.rawHeaderText().slice(0, MAX_TEXT),
        textBody: textBody.slice(0, MAX_TEXT),
        htmlSource: htmlSource.slice(0, MAX_TEXT),
        attachments,
        truncated: textBody.length > MAX_TEXT || htmlSource.length > MAX_TEXT,
      };
    } catch {
      // Not parseable as mail after all: shown as plain text below.
    }
  }
  return {
    report,
    reporter,
    size: bytes.length,
    available: true,
    isMail: false,
    headers: '',
    textBody: text.slice(0, MAX_TEXT),
    htmlSource: '',
    attachments: [],
    truncated: text.length > MAX_TEXT,
  };
}

/** An attachment's bytes (for download), by its index among the mail's attachments. */
export async function attachmentBytes(
  store: EvidenceStore,
  report: StoredReport,
  index: number,
): Promise<{ fileName: string; bytes: Uint8Array } | undefined> {
  const mail = parseMail(await store.get(report.evidenceSha256));
  const part = mail.attachments()[index];
  if (!part) return undefined;
  return { fileName: part.fileName ?? `attachment-${index + 1}`, bytes: part.bytes() };
}

function reporterOf(value: unknown): EvidenceView['reporter'] {
  if (value === null || typeof value !== 'object') return {};
  const r = value as Record<string, unknown>;
  return {
    ...(typeof r.email === 'string' ? { email: r.email } : {}),
    ...(typeof r.name === 'string' ? { name: r.name } : {}),
    ...(typeof r.verified === 'boolean' ? { verified: r.verified } : {}),
  };
}

/** A file name safe for Content-Disposition: ASCII fallback plus RFC 5987 UTF-8 form. */
export function contentDisposition(fileName: string): string {
  const cleaned = fileName.replace(/[\r\n"\\/<>]/g, '_').slice(0, 200) || 'evidence';
  const ascii = cleaned.replace(/[^\x20-\x7e]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(cleaned)}`;
}
