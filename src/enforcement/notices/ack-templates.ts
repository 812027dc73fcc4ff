import { caseTag } from './case-tag.js';
import { escapeHtml, textToHtml } from './html-escape.js';
import type { RenderedMail } from './notice-templates.js';

/** What became of a report; each outcome has its acknowledgement text. */
export const ackOutcomes = [
  'case-opened',
  'joined-case',
  'not-our-network',
  'too-old',
  'rejected-anonymous',
  'unparseable',
] as const;
export type AckOutcome = (typeof ackOutcomes)[number];

export interface AckContent {
  readonly outcome: AckOutcome;
  readonly providerName: string;
  readonly caseId?: string;
  /** The reporter's subject, quoted back so they can match the answer to their report. */
  readonly originalSubject?: string;
  readonly receivedAt: string;
  /** The judgement's or parser's reason, shown verbatim (why "too old", what could not be parsed). */
  readonly detail?: string;
}

const sentences: Record<AckOutcome, (c: AckContent) => string> = {
  'case-opened': (c) =>
    `Thank you for your report. We have opened case ${caseTag(c.caseId ?? '?')} and will act on it under our Acceptable Use Policy.`,
  'joined-case': (c) =>
    `Thank you for your report. It concerns a matter we are already handling as case ${caseTag(c.caseId ?? '?')}; your report has been added to it.`,
  'not-our-network': () =>
    'The address or domain in your report was not assigned to one of our customers at the time you give. Please check whom it belongs to (for example with a WHOIS query) and report it there.',
  'too-old': () => 'The activity you report is too old for us to act on.',
  'rejected-anonymous': () =>
    'Our Acceptable Use Policy does not allow us to act on anonymous complaints. Please send your report again with your name and contact details.',
  unparseable: () =>
    'We could not read your report. Please send it again as plain text, with the source address, the time (with time zone) and what happened.',
};

export function renderAck(content: AckContent): RenderedMail {
  const tag = content.caseId ? `${caseTag(content.caseId)} ` : '';
  const subject = `${tag}Re: ${content.originalSubject?.trim() || 'your abuse report'}`;
  const parts = [
    sentences[content.outcome](content),
    content.detail ? `Detail: ${content.detail}` : undefined,
    `Your report was received at ${content.receivedAt}.`,
    `This is an automatic message from the ${content.providerName} abuse desk; there is no need to reply to it.`,
  ].filter((p): p is string => p !== undefined);
  const text = `${parts.join('\n\n')}\n`;
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    ...parts.map((p) => textToHtml(p)),
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
