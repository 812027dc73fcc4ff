import { isIP } from 'node:net';
import type { IntakeEvent } from '../event.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';
import { parseSourceTime } from '../source-time.js';
import type { MailFormatParser } from './mail-format-parser.js';
import { parseMail } from './mail-message.js';

/** Small field helpers shared by the mail-borne format parsers (ARF, X-ARF, XARF, Spamcop). */

const IPV4_IN_TEXT =
  /(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.])/;
const IPV6_CANDIDATE = /[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?/gi;

/** The first IP address (v4 or v6) in a piece of text (`[192.0.2.1]`, `192.0.2.1 (host)`, `IPv6:2001:db8::1`). */
export function firstIp(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const trimmed = text.trim().replace(/^\[|\]$/g, '');
  if (isIP(trimmed)) return normaliseIp(trimmed);
  for (const m of text.matchAll(IPV6_CANDIDATE)) {
    if (m[0].includes('::') || m[0].split(':').length >= 8) {
      if (isIP(m[0]) === 6) return normaliseIp(m[0]);
    }
  }
  const v4 = IPV4_IN_TEXT.exec(text);
  return v4 ? v4[0] : undefined;
}

export function normaliseIp(ip: string): string {
  return isIP(ip) === 6 ? ip.toLowerCase() : ip;
}

const FQDN = /^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}\.?$/i;

/** A host name as the event schema accepts it (lower-case, no trailing dot), or undefined. */
export function asFqdn(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const host = value.trim().replace(/\.$/, '').toLowerCase();
  return host.length <= 253 && host.includes('.') && FQDN.test(host) && !isIP(host) ? host : undefined;
}

export function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '') || undefined;
  } catch {
    return undefined;
  }
}

/** `domain` of an e-mail address. */
export function domainOfAddress(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf('@') ?? -1;
  return at < 0 ? undefined : asFqdn(address!.slice(at + 1));
}

/**
 * Sets `time.source` from a raw source time (UTC; `extra.assumed_utc` when it named no zone), else from the
 * receipt time (`extra.time_source: "received"`); an unreadable time is an error at `location`.
 */
export function applySourceTime(
  event: IntakeEvent,
  raw: string | undefined,
  receivedAt: Date,
  errors: ParseError[],
  location: string,
): void {
  const extra = event.extra ?? {};
  event.extra = extra;
  const parsed = parseSourceTime(raw);
  if (parsed) {
    event['time.source'] = parsed.iso;
    if (parsed.assumedUtc) extra.assumed_utc = true;
    return;
  }
  if (raw !== undefined && raw.trim() !== '') {
    errors.push({
      message: `unreadable time ${JSON.stringify(raw.slice(0, 100))}; the receipt time is used`,
      location,
    });
  }
  event['time.source'] = receivedAt.toISOString();
  extra.time_source = 'received';
}

/** Addresses abuse desks see redacted in FBL reports (`redacted@…`, `[redacted]`, `xxxx@…`, `*****`). */
export function looksRedacted(value: string | undefined): boolean {
  return value !== undefined && /redacted|\*{3,}|^x{4,}@|@x{4,}|<>\s*$|removed/i.test(value);
}

/**
 * A file-level parser from a mail-level one: parses the bytes as a mail, then hands over. `peek` scores the
 * first 16 KiB (latin1) for `detect`, so detection never parses the whole mail.
 */
export function mailFileParser(parser: MailFormatParser, peek: (head: string) => number): FormatParser {
  return {
    format: parser.format,
    detect(input: ParserInput): number {
      const head = Buffer.from(
        input.bytes.buffer,
        input.bytes.byteOffset,
        Math.min(input.bytes.byteLength, 16384),
      ).toString('latin1');
      return peek(head);
    },
    parse(input: ParserInput): ParserOutput {
      let mail: ReturnType<typeof parseMail>;
      try {
        mail = parseMail(input.bytes);
      } catch (error) {
        return {
          format: parser.format,
          events: [],
          errors: [{ message: error instanceof Error ? error.message : String(error), location: 'message' }],
        };
      }
      const out = parser.parseMail(mail, { receivedAt: input.receivedAt });
      // The mail's own problems (truncation, charsets) are known only once the parser has read the parts.
      return { ...out, errors: [...mail.errors, ...out.errors] };
    },
  };
}
