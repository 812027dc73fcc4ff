import type { NoticePayload, NoticeTemplate } from '../planned-action.js';
import { caseTag } from './case-tag.js';
import { escapeHtml, textToHtml } from './html-escape.js';

/**
 * The customer notices, per template. Each renders to a subject, a plain-text body and an HTML body built
 * from the same blocks (the HTML only escapes and wraps the text), so the two parts never say different
 * things. The case tag `[AUP-<case>]` (case-tag.ts) opens every subject: replies that keep it thread to the
 * case.
 */

export interface EvidenceItem {
  readonly observedAt: string;
  /** `taxonomy/type`, e.g. abusive-content/spam. */
  readonly eventClass: string;
  /** The address, host or URL observed. */
  readonly source: string;
  readonly reporter?: { readonly name?: string; readonly email?: string; readonly organisation?: string };
  /** The complaint as received (text), when it may be shared. */
  readonly excerpt?: string;
}

export interface NoticeContext {
  readonly customerName?: string;
  readonly serviceLabel?: string;
  readonly evidence: readonly EvidenceItem[];
  /** Where the customer answers (the abuse desk's address). */
  readonly replyTo: string;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const titles: Record<NoticeTemplate, string> = {
  'violation-notice': 'Notice of acceptable use policy violation',
  'warning-notice': 'Further warning: acceptable use policy violation',
  'suspension-notice': 'Service suspended: acceptable use policy violation',
  'termination-notice': 'Service terminated: acceptable use policy violation',
  'block-notice': 'Traffic blocked: acceptable use policy violation',
  'content-removal-notice': 'Content removed: acceptable use policy violation',
  'fee-notice': 'Fee charged: acceptable use policy violation',
  'reinstatement-notice': 'Service reinstated',
  'cured-notice': 'Case closed: violation cured',
  'dismissal-notice': 'Case closed: no further action',
};

const opening: Record<NoticeTemplate, string> = {
  'violation-notice':
    'We have received information that the service named below has been used in violation of our Acceptable Use Policy.',
  'warning-notice':
    'The violation described below continues. This is a further warning under our Acceptable Use Policy.',
  'suspension-notice': 'Because of the violation described below, we have suspended the service named below.',
  'termination-notice':
    'Because of the violation described below, we have terminated the service named below.',
  'block-notice':
    'Because of the violation described below, we have blocked traffic to and from the addresses named below.',
  'content-removal-notice':
    'Because of the violation described below, we have removed the content named below.',
  'fee-notice':
    'Because of the violation described below, a fee has been charged to your account in accordance with your service contract.',
  'reinstatement-notice': 'The service named below has been reinstated.',
  'cured-notice': 'We consider the violation described below cured. The case is closed.',
  'dismissal-notice': 'After review, we are taking no further action on the case below. The case is closed.',
};

const remedyWords: Record<string, string> = {
  warn: 'send a further warning',
  notify: 'send a further notice',
  suspend: 'suspend the service',
  'deny-service': 'stop providing the service',
  fee: 'charge a fee',
  'remove-content': 'remove the content',
  'block-traffic': 'block the traffic',
  terminate: 'terminate the service',
  'report-to-authorities': 'report the matter',
};

/** `2026-03-09 09:00 UTC (2026-03-09T09:00:00.000Z)`: absolute, unambiguous, in UTC. */
export function formatDeadline(iso: string): string {
  const date = new Date(iso);
  const readable = `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
  return `${readable} (${date.toISOString()})`;
}

function redact(text: string, reporter: EvidenceItem['reporter']): string {
  let out = text;
  for (const value of [reporter?.email, reporter?.name, reporter?.organisation]) {
    if (value && value.trim().length > 2) out = out.split(value).join('[reporter withheld]');
  }
  // Any address in a Received/From/Reply-To line of the quoted complaint would name the reporter too.
  out = out.replace(/^(from|reply-to|sender|return-path|to|cc):.*$/gim, '$1: [reporter withheld]');
  return out;
}

/** The evidence as the policy's confidentiality term allows the customer to see it. */
export function evidenceSummary(payload: NoticePayload, evidence: readonly EvidenceItem[]): string {
  if (evidence.length === 0) return 'Evidence: held on file for this case.';
  const lines: string[] = [];
  evidence.forEach((item, index) => {
    lines.push(`${index + 1}. ${item.observedAt} ${item.eventClass} from ${item.source}`);
    if (payload.shareWithCustomer === 'shared' && item.reporter) {
      const who = [item.reporter.name, item.reporter.organisation, item.reporter.email]
        .filter(Boolean)
        .join(', ');
      if (who) lines.push(`   Reported by: ${who}`);
    }
    if (payload.shareWithCustomer !== 'summary-only' && item.excerpt) {
      const body =
        payload.shareWithCustomer === 'shared' ? item.excerpt : redact(item.excerpt, item.reporter);
      lines.push('   Complaint as received:');
      lines.push(
        ...body
          .trim()
          .split('\n')
          .slice(0, 60)
          .map((l) => `   | ${l}`),
      );
    }
  });
  if (payload.shareWithCustomer === 'reporter-redacted') lines.push('The reporter’s identity is withheld.');
  if (payload.shareWithCustomer === 'summary-only') lines.push('The complaints themselves are not shared.');
  return lines.join('\n');
}

function blocks(payload: NoticePayload, ctx: NoticeContext): string[] {
  const out: string[] = [];
  out.push(ctx.customerName ? `Dear ${ctx.customerName},` : 'Dear customer,');
  out.push(opening[payload.template]);
  out.push(
    [
      `Case: ${caseTag(payload.caseId)}`,
      `Service: ${ctx.serviceLabel ?? payload.serviceId}`,
      `Policy: ${payload.policy.providerName} ${payload.policy.title}, version ${payload.policy.version}`,
    ].join('\n'),
  );
  if (payload.template !== 'reinstatement-notice') {
    for (const clause of payload.clauses) {
      const number = clause.number ? `${clause.number} ` : '';
      out.push(`The policy says (${number}${clause.title}):\n"${clause.text}"`);
    }
  }
  if (payload.stepText) out.push(payload.stepText);
  if (payload.fee)
    out.push(`Fee: ${payload.fee.amount.toFixed(2)} ${payload.fee.currency} (${payload.fee.basis})`);
  if (payload.reason) out.push(`Reason: ${payload.reason}`);
  if (
    ['violation-notice', 'warning-notice', 'suspension-notice', 'block-notice'].includes(payload.template)
  ) {
    out.push(evidenceSummary(payload, ctx.evidence));
  }
  if (payload.obligation && payload.deadline) {
    out.push(
      `${payload.obligation.title}: the policy requires you to "${payload.obligation.text}" Send us that evidence by ${formatDeadline(payload.deadline)}: for each recipient named in the complaint, the address, when and from where consent was given, how it was obtained and how the address was confirmed. You can upload it in the customer portal or reply to this message.`,
    );
  }
  if (payload.deadline) {
    const then = payload.nextRemedy
      ? ` If it is not, we may ${remedyWords[payload.nextRemedy] ?? payload.nextRemedy}.`
      : '';
    out.push(
      `Please stop the activity and tell us what you have done by ${formatDeadline(payload.deadline)}.${then}`,
    );
  }
  if (
    !payload.slaCreditEligible &&
    ['suspension-notice', 'termination-notice', 'block-notice'].includes(payload.template)
  ) {
    out.push(
      'Under the policy, no service level credit is available for interruptions resulting from a policy breach.',
    );
  }
  out.push(
    `Reply to this message (keep ${caseTag(payload.caseId)} in the subject) or write to ${ctx.replyTo}.\n\n${payload.policy.providerName} abuse desk`,
  );
  return out;
}

export function renderNotice(payload: NoticePayload, ctx: NoticeContext): RenderedMail {
  const subject = noticeSubject(payload);
  const parts = blocks(payload, ctx);
  const text = `${parts.join('\n\n')}\n`;
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    ...parts.map((p) => textToHtml(p)),
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

/**
 * The notice's subject line alone, as `renderNotice` writes it: what the case thread records when a notice
 * is queued (the pipeline queues thousands; rendering their bodies only to read the subject was most of
 * that cost).
 */
export function noticeSubject(payload: NoticePayload): string {
  const clause = payload.clauses[0]?.title;
  return `${caseTag(payload.caseId)} ${titles[payload.template]}${clause ? `: ${clause}` : ''}`;
}
