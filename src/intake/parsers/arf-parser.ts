import type { ClassificationType, Taxonomy } from '../../taxonomy/taxonomy.js';
import { clipRaw, type IntakeEvent } from '../event.js';
import type { MailFormatParser } from '../mail/mail-format-parser.js';
import { type MailHeaders, parseHeaderBlock } from '../mail/mail-header.js';
import type { MailMessage, MailPart } from '../mail/mail-message.js';
import {
  applySourceTime,
  asFqdn,
  domainOfAddress,
  firstIp,
  hostOfUrl,
  looksRedacted,
  mailFileParser,
} from '../mail/report-fields.js';
import type { FormatParser, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';

/**
 * ARF, the Abuse Reporting Format of feedback loops (RFC 5965; `auth-failure` from RFC 6591): a
 * `multipart/report; report-type=feedback-report` mail whose second part, `message/feedback-report`, holds
 * `Name: value` fields about the third part, the reported message (`message/rfc822` or
 * `text/rfc822-headers`).
 *
 * Real feedback loops deviate, and each deviation here is one we accept rather than reject:
 * - `Version: 0.1` (pre-RFC drafts, still sent by some large FBLs) or no Version at all;
 * - `Received-Date` instead of `Arrival-Date`;
 * - `Content-Type` parameters in any order, `report-type` quoted or not, a missing `;`;
 * - the feedback part sent as `text/plain`, found by its `Feedback-Type:` field;
 * - recipient addresses redacted (`redacted@…`, `xxxx@…`): kept as given and flagged `extra.redacted`;
 * - `Source-IP` with brackets or a trailing host name, or missing: then the reported message's topmost
 *   `Received: from … [ip]` is used and `extra.source_ip_from` says so.
 *
 * One event per report: `abusive-content/spam` for `abuse`, mapped by the table below for the other types.
 * `not-spam` feedback is not abuse and yields no event.
 */

const feedbackTypes: Readonly<Record<string, readonly [Taxonomy, ClassificationType] | null>> = {
  abuse: ['abusive-content', 'spam'],
  fraud: ['fraud', 'phishing'],
  virus: ['malicious-code', 'malware-distribution'],
  'auth-failure': ['fraud', 'masquerade'],
  dkim: ['fraud', 'masquerade'],
  other: ['abusive-content', 'spam'],
  opt_out: ['abusive-content', 'spam'],
  'opt-out': ['abusive-content', 'spam'],
  'not-spam': null,
};

const ARF_FEED = 'arf';

export const arfMailParser: MailFormatParser = {
  format: 'arf',
  detectMail(mail) {
    const root = mail.root;
    if (
      root.contentType === 'multipart/report' &&
      root.params['report-type']?.toLowerCase() === 'feedback-report'
    )
      return 1;
    const parts = mail.parts();
    if (parts.some((p) => p.contentType === 'message/feedback-report')) return 0.95;
    if (
      parts.some(
        (p) =>
          p.contentType === 'text/plain' && p.encodedSize < 65536 && /^Feedback-Type:/im.test(p.rawBody()),
      )
    )
      return 0.7;
    return 0;
  },
  parseMail(mail, { receivedAt }) {
    return parseArf(mail, receivedAt);
  },
};

export const arfParser: FormatParser = mailFileParser(arfMailParser, (head) => {
  if (/multipart\/report/i.test(head) && /report-type\s*=\s*"?feedback-report/i.test(head)) return 1;
  if (/message\/feedback-report/i.test(head)) return 0.95;
  return /^Feedback-Type:/im.test(head) && /^(?:Arrival|Received)-Date:|^Source-IP:/im.test(head) ? 0.7 : 0;
});

function parseArf(mail: MailMessage, receivedAt: Date): ParserOutput {
  const errors: ParseError[] = [];
  const parts = mail.parts();
  const feedbackPart =
    parts.find((p) => p.contentType === 'message/feedback-report') ??
    parts.find((p) => p.contentType === 'text/plain' && /^Feedback-Type:/im.test(p.text()));
  if (!feedbackPart) {
    errors.push({
      message: 'no message/feedback-report part: not an ARF report, or the part is missing',
      location: mail.root.path || 'message',
    });
    return { format: 'arf', events: [], errors, reporter: { automated: true } };
  }
  // The root part's path is empty: then the location is the message itself.
  const location = feedbackPart.path || 'message';
  const fields = headersOfText(feedbackPart.text());
  const feedbackType = (fields.get('feedback-type') ?? '').toLowerCase();
  if (!feedbackType)
    errors.push({ message: 'feedback report has no Feedback-Type field; treated as abuse', location });
  const mapped = feedbackTypes[feedbackType || 'abuse'];
  if (mapped === null) return { format: 'arf', events: [], errors, reporter: { automated: true } };
  const [taxonomy, type] = mapped ?? (['other', 'undetermined'] as const);

  const original = originalMessage(parts, feedbackPart);
  const extra: Record<string, unknown> = {
    feedback_type: feedbackType || 'abuse',
    ...optional('user_agent', fields.get('user-agent')),
    ...optional('arf_version', fields.get('version')),
    ...optional('original_mail_from', fields.get('original-mail-from')),
    ...optionalList('original_rcpt_to', fields.getAll('original-rcpt-to')),
    ...optional('original_envelope_id', fields.get('original-envelope-id')),
    ...optional('reporting_mta', fields.get('reporting-mta')),
    ...optional('incidents', fields.get('incidents')),
    ...optional('authentication_results', fields.get('authentication-results')),
    ...optionalList('reported_domain', fields.getAll('reported-domain')),
    ...optionalList('reported_uri', fields.getAll('reported-uri')),
    ...optional('removal_recipient', fields.get('removal-recipient')),
  };
  if (mapped === undefined) extra.unknown_feedback_type = true;
  if (original) extra.original_headers = headerRecord(original);
  const redacted = [
    fields.get('original-rcpt-to'),
    fields.get('removal-recipient'),
    original?.get('to'),
  ].some(looksRedacted);
  if (redacted) extra.redacted = true;

  const event: IntakeEvent = {
    'classification.taxonomy': taxonomy,
    'classification.type': type,
    'classification.identifier': feedbackType || 'abuse',
    'feed.name': ARF_FEED,
    'protocol.application': 'smtp',
    raw: clipRaw(feedbackPart.text()),
    'raw.location': location,
    extra,
  };
  const provider = reportingHost(fields.get('reporting-mta')) ?? domainOfAddress(mail.from?.address);
  if (provider) event['feed.provider'] = provider;

  const sourceIp = firstIp(fields.get('source-ip'));
  if (sourceIp) event['source.ip'] = sourceIp;
  else {
    const fromReceived = original ? ipFromReceived(original) : undefined;
    if (fromReceived) {
      event['source.ip'] = fromReceived;
      extra.source_ip_from = 'received';
    }
  }
  const port = Number(fields.get('source-port'));
  if (Number.isInteger(port) && port > 0 && port < 65536) event['source.port'] = port;
  const uri = fields.getAll('reported-uri').find((u) => /^https?:\/\//i.test(u));
  if (!event['source.ip']) {
    const domain = asFqdn(fields.get('reported-domain'));
    if (uri) event['source.url'] = uri;
    else if (domain) event['source.fqdn'] = domain;
  }
  if (!event['source.ip'] && !event['source.url'] && !event['source.fqdn']) {
    errors.push({
      message:
        'feedback report names no source: no Source-IP, no Received header with an address, no Reported-Domain/URI',
      location,
    });
    return { format: 'arf', events: [], errors, reporter: { automated: true } };
  }
  const arrival = fields.get('arrival-date') ?? fields.get('received-date') ?? original?.get('date');
  applySourceTime(event, arrival, receivedAt, errors, location);
  if (uri && event['source.url'] === undefined) extra.spamvertised_host = hostOfUrl(uri);
  return { format: 'arf', events: [event], errors, reporter: { automated: true } };
}

/** The reported message's headers: a `message/rfc822` part, `text/rfc822-headers`, or a header-looking third part. */
function originalMessage(parts: MailPart[], feedbackPart: MailPart): MailHeaders | undefined {
  const rfc822 = parts.find((p) => p.message !== undefined && p !== feedbackPart);
  if (rfc822?.message) return rfc822.message.headers;
  const headersPart =
    parts.find((p) => p.contentType === 'text/rfc822-headers') ??
    parts.find(
      (p) =>
        p !== feedbackPart &&
        p.path > feedbackPart.path &&
        !p.isMultipart &&
        /^(Received|From|Return-Path):/im.test(p.rawBody().slice(0, 4096)),
    );
  if (!headersPart) return undefined;
  return headersOfText(headersPart.text());
}

/** Header fields written as a text body; back to a binary string so 8-bit values decode like real headers. */
function headersOfText(text: string): MailHeaders {
  const binary = Buffer.from(text.replace(/^\s+/, ''), 'utf8').toString('latin1');
  return parseHeaderBlock(binary, 0, binary.length).headers;
}

/** The sending host's address from the topmost `Received: from … [ip]` (added by the reporter's own MX). */
function ipFromReceived(headers: MailHeaders): string | undefined {
  for (const received of headers.getAll('received')) {
    const bracket = /\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/.exec(received);
    const ip = firstIp(bracket?.[1]);
    if (ip) return ip;
  }
  return undefined;
}

function reportingHost(value: string | undefined): string | undefined {
  // `Reporting-MTA: dns; mail.example.com`
  return asFqdn(value?.split(';').pop());
}

const MAX_HEADERS = 60;

function headerRecord(headers: MailHeaders): Record<string, string | string[]> {
  const record = headers.toRecord(1000);
  const keys = Object.keys(record);
  if (keys.length <= MAX_HEADERS) return record;
  return Object.fromEntries(keys.slice(0, MAX_HEADERS).map((k) => [k, record[k]!]));
}

function optional(key: string, value: string | undefined): Record<string, string> {
  return value ? { [key]: value } : {};
}

function optionalList(key: string, values: string[]): Record<string, string[]> {
  return values.length > 0 ? { [key]: values } : {};
}
