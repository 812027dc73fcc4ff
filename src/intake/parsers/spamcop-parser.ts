import { clipRaw, type IntakeEvent } from '../event.js';
import type { MailFormatParser } from '../mail/mail-format-parser.js';
import { type MailHeaders, parseHeaderBlock } from '../mail/mail-header.js';
import type { MailMessage } from '../mail/mail-message.js';
import { applySourceTime, asFqdn, firstIp, hostOfUrl, mailFileParser } from '../mail/report-fields.js';
import type { FormatParser, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';

/**
 * SpamCop reports (spamcop.net): a mail from `<id>@reports.spamcop.net` with the subject
 * `[SpamCop (<first link or domain>) id:<report id>]<original subject>` and a short text body:
 *
 *     Email from 192.0.2.33 / Wed, 14 Jan 2026 09:00:00 -0000
 *     https://www.spamcop.net/sc?id=z…
 *
 *     Spamvertised web site: http://customer.example/offer
 *     http://customer.example/offer is 198.51.100.80; Wed, 14 Jan 2026 09:05:00 GMT
 *
 * followed by the spam itself, either as a `message/rfc822` part or inline after `[ Offending message ]`.
 * Each `Email from` line is one `abusive-content/spam` event (identifier `spam-source`); each spamvertised site
 * one more (identifier `spamvertised`, with the address SpamCop resolved it to). `raw.location` is
 * `<part>:<line>`.
 */

const SUBJECT = /\[SpamCop \(([^)]*)\) id:(\d+)\]\s*(.*)$/i;
const EMAIL_FROM = /^\s*Email from ([0-9A-Fa-f.:]+)\s*\/\s*(.+?)\s*$/;
const SPAMVERTISED = /^\s*Spamvertised web site:\s*(\S+)\s*$/i;
const RESOLVED = /^\s*(\S+) is ([0-9A-Fa-f.:]+);\s*(.+?)\s*$/;
const OFFENDING = /^\s*\[\s*Offending message\s*\]\s*$/i;

const FEED = 'spamcop';

export const spamcopMailParser: MailFormatParser = {
  format: 'spamcop',
  detectMail(mail) {
    if (SUBJECT.test(mail.subject ?? '')) return 1;
    if (/@(reports\.)?spamcop\.net$/i.test(mail.from?.address ?? '')) return 0.9;
    const body = mail.textBody();
    return body &&
      /SpamCop/i.test(body.rawBody().slice(0, 2000)) &&
      /^Email from \S+ \//m.test(body.rawBody())
      ? 0.8
      : 0;
  },
  parseMail(mail, { receivedAt }) {
    return parseSpamcop(mail, receivedAt);
  },
};

export const spamcopParser: FormatParser = mailFileParser(spamcopMailParser, (head) => {
  if (/^Subject:.*\[SpamCop \(/im.test(head)) return 1;
  if (/^From:.*@(reports\.)?spamcop\.net/im.test(head)) return 0.9;
  return /SpamCop/.test(head) && /^Email from \S+ \//m.test(head) ? 0.8 : 0;
});

function parseSpamcop(mail: MailMessage, receivedAt: Date): ParserOutput {
  const errors: ParseError[] = [];
  const body = mail.textBody();
  const reporter = { automated: true, organisation: 'SpamCop' };
  if (!body) {
    errors.push({ message: 'SpamCop report without a text body', location: mail.root.path || 'message' });
    return { format: 'spamcop', events: [], errors, reporter };
  }
  const subject = SUBJECT.exec(mail.subject ?? '');
  const common: Record<string, unknown> = {};
  if (subject) {
    common.spamcop_report_id = subject[2];
    if (subject[1]) common.spamcop_reference = subject[1];
    if (subject[3]) common.original_subject = subject[3];
  }
  const lines = body.text().split(/\r?\n/);
  const offendingAt = lines.findIndex((l) => OFFENDING.test(l));
  const reportLines = offendingAt < 0 ? lines : lines.slice(0, offendingAt);
  const original = originalHeaders(mail, lines, offendingAt);
  if (original) common.original_headers = original.toRecord(1000);

  const events: IntakeEvent[] = [];
  reportLines.forEach((line, i) => {
    const location = `${body.path}:${i + 1}`;
    const from = EMAIL_FROM.exec(line);
    if (from) {
      const ip = firstIp(from[1]);
      if (!ip) {
        errors.push({
          message: `"Email from" names no valid IP address: ${JSON.stringify(from[1])}`,
          location,
          raw: line,
        });
        return;
      }
      const event = base('spam-source', line, location, common);
      event['source.ip'] = ip;
      event['protocol.application'] = 'smtp';
      const tracking = reportLines[i + 1]?.trim();
      if (tracking && /^https?:\/\/(www\.)?spamcop\.net\//i.test(tracking)) {
        event.extra = { ...event.extra, tracking_url: tracking };
      }
      applySourceTime(event, from[2], receivedAt, errors, location);
      events.push(event);
      return;
    }
    const site = SPAMVERTISED.exec(line);
    if (site) {
      const url = site[1]!;
      const event = base('spamvertised', line, location, common);
      event['source.url'] = url.slice(0, 8192);
      const host = hostOfUrl(url);
      const fqdn = asFqdn(host);
      if (fqdn) event['source.fqdn'] = fqdn;
      else if (firstIp(host)) event['source.ip'] = firstIp(host)!;
      let when: string | undefined;
      for (const next of reportLines.slice(i + 1, i + 5)) {
        const resolved = RESOLVED.exec(next);
        if (resolved && resolved[1] === url) {
          const ip = firstIp(resolved[2]);
          if (ip) event['source.ip'] = ip;
          when = resolved[3];
          break;
        }
      }
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !fqdn) {
        errors.push({
          message: `spamvertised site ${JSON.stringify(url)} is not a URL`,
          location,
          raw: line,
        });
        return;
      }
      applySourceTime(event, when, receivedAt, errors, location);
      events.push(event);
    }
  });
  if (events.length === 0 && errors.length === 0) {
    errors.push({
      message: 'SpamCop report without an "Email from <ip> / <date>" or "Spamvertised web site:" line',
      location: body.path || 'message',
    });
  }
  return { format: 'spamcop', events, errors, reporter };
}

function base(
  identifier: string,
  line: string,
  location: string,
  common: Record<string, unknown>,
): IntakeEvent {
  return {
    'classification.taxonomy': 'abusive-content',
    'classification.type': 'spam',
    'classification.identifier': identifier,
    'feed.name': FEED,
    'feed.provider': 'SpamCop',
    raw: clipRaw(line),
    'raw.location': location,
    extra: { ...common },
  };
}

/** The spam SpamCop forwards: an attached message/rfc822, or the headers after `[ Offending message ]`. */
function originalHeaders(mail: MailMessage, lines: string[], offendingAt: number): MailHeaders | undefined {
  const attached = mail.parts().find((p) => p.message !== undefined);
  if (attached?.message) return attached.message.headers;
  if (offendingAt < 0) return undefined;
  const text = Buffer.from(
    lines
      .slice(offendingAt + 1)
      .join('\n')
      .replace(/^\s+/, ''),
    'utf8',
  ).toString('latin1');
  const block = parseHeaderBlock(text, 0, text.length);
  return block.headers.list.length > 0 ? block.headers : undefined;
}
