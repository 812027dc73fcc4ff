import { isIPv6 } from 'node:net';
import { clipRaw, type IntakeEvent, isEventFqdn } from '../event.js';
import { htmlToText } from '../mail/html-text.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';
import {
  type Classification,
  type ComplaintCategory,
  categoryClass,
  classifyComplaint,
  decide,
} from './text/complaint-classifier.js';
import { decodeText, peekText } from './text/decode-text.js';
import {
  type AddressScope,
  addressScope,
  extractDomains,
  extractEmails,
  extractIps,
  extractUrls,
  refang,
} from './text/indicator-extractor.js';
import { type LogMatch, matchLogLine } from './text/log-line-patterns.js';
import { findTimes, lineTime } from './text/log-time.js';

/**
 * Human complaints and the logs pasted into or attached to them → one event per distinct offending source.
 *
 * Sources, in order of trust: addresses that recognised log lines name as the offender (sshd, fail2ban, web
 * access logs, postfix/exim rejects, iptables/UFW), each with its line count and first/last seen; then, when
 * there are no such lines, the URLs, addresses and domains the text names. The whole complaint is classified by
 * the weighted table in text/complaint-classifier.ts; a source backed by log lines is classified by its own lines
 * when they say more. Confidence goes to `classification.confidence`; below the thresholds the event is
 * `other/undetermined`, for an analyst to read.
 *
 * Special-purpose addresses (private, documentation, loopback…) are kept and marked with `extra.address_scope`
 * unless the parser is created with `dropSpecialAddresses` — complainants paste their own NATed addresses, and
 * dropping them silently would hide what they said.
 */

export interface FreeTextParserOptions {
  /** Drop private, loopback, link-local, documentation and other non-public addresses instead of marking them. */
  readonly dropSpecialAddresses?: boolean;
  /** Feed name for the events (default `free-text`). */
  readonly feedName?: string;
}

const MAX_SOURCES = 500;
const LINE_SAMPLE = 5;

export function createFreeTextParser(options: FreeTextParserOptions = {}): FormatParser {
  return {
    format: 'free-text',
    detect: detectFreeText,
    parse: (input) => parseFreeText(input, options),
  };
}

export const freeTextParser: FormatParser = createFreeTextParser();

/** Text is the format of last resort: a low score, raised when it reads like a complaint or a log. */
function detectFreeText(input: ParserInput): number {
  const head = peekText(input.bytes, 8192);
  if (head.length === 0) return 0;
  // Binary content is not free text.
  if (hasBinary(head.slice(0, 1024))) return 0;
  const type = input.contentType?.toLowerCase() ?? '';
  if (type && !type.startsWith('text/')) return 0.05;
  let score = 0.2;
  if (head.split('\n').some((l) => matchLogLine(l))) score = 0.45;
  if (/\b(?:abuse|complain|report(?:ing)?|attack|spam|phish|scan|brute|infring)/i.test(head)) score += 0.1;
  return Math.min(score, 0.5);
}

function hasBinary(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 9 || (c > 13 && c < 27)) return true;
  }
  return false;
}

interface Source {
  readonly key: string;
  readonly ip?: string | undefined;
  readonly url?: string | undefined;
  readonly fqdn?: string | undefined;
  readonly line: number;
  readonly raw: string;
  count: number;
  firstSeen?: string | undefined;
  lastSeen?: string | undefined;
  assumedUtc: boolean;
  readonly lines: number[];
  readonly kinds: Set<string>;
  readonly scores: Partial<Record<ComplaintCategory, number>>;
  readonly users: Set<string>;
  readonly ports: Set<number>;
  destination?: string | undefined;
}

function parseFreeText(input: ParserInput, options: FreeTextParserOptions): ParserOutput {
  const errors: ParseError[] = [];
  const decoded = decodeText(input.bytes);
  if (decoded.fellBack)
    errors.push({ message: 'input is not valid UTF-8; decoded as Windows-1252', location: 'file' });
  let text = decoded.text;
  if (/<(?:html|body|div|p|br|table)\b/i.test(text.slice(0, 4096))) text = htmlToText(text);
  const lines = text.split(/\r?\n/);
  const feedName = options.feedName ?? 'free-text';

  // 1. Log lines: the offender is named by the daemon.
  const logSources = new Map<string, Source>();
  const evidence: Partial<Record<ComplaintCategory, { lines: number; weight: number }>> = {};
  lines.forEach((line, i) => {
    const match = matchLogLine(line);
    if (!match) return;
    const ip = normaliseIp(match.ip);
    if (!ip) return;
    if (match.category) {
      const e = evidence[match.category] ?? { lines: 0, weight: match.weight };
      e.lines++;
      evidence[match.category] = e;
    }
    if (!logSources.has(ip) && logSources.size >= MAX_SOURCES) return;
    const time = lineTime(line, input.receivedAt);
    const source = logSources.get(ip) ?? newSource(ip, { ip }, i + 1, line);
    logSources.set(ip, source);
    recordLine(source, match, i + 1, time?.iso, time?.assumedUtc ?? false);
  });

  const document = classifyComplaint(refang(text), evidence);
  const events: IntakeEvent[] = [];
  for (const source of logSources.values()) {
    if (dropped(source.ip, options)) continue;
    // A source whose lines prove nothing (plain web requests) is an offender only if the complaint says what
    // the abuse is (a DDoS complaint with an access log); otherwise it is a bystander in the paste.
    if (Object.keys(source.scores).length === 0 && document.category === undefined) continue;
    events.push(toEvent(source, ownClassification(source, document), feedName));
  }

  // 2. Without log evidence, the indicators the complaint names are the sources.
  if (logSources.size === 0) {
    for (const source of namedSources(text, lines, input.receivedAt, document, options)) {
      const event = toEvent(source, document, feedName);
      // A name the field dictionary refuses as a host (found by fuzzing) leaves nothing to attribute.
      if (event['source.ip'] || event['source.fqdn'] || event['source.url']) events.push(event);
    }
  }
  if (events.length === 0 && errors.length === 0 && text.trim() !== '')
    errors.push({ message: 'no IP address, URL or domain found in the complaint', location: '1' });
  return { format: 'free-text', events, errors };
}

function newSource(
  key: string,
  id: { ip?: string; url?: string; fqdn?: string },
  line: number,
  raw: string,
): Source {
  return {
    key,
    ...id,
    line,
    raw,
    count: 0,
    assumedUtc: false,
    lines: [],
    kinds: new Set(),
    scores: {},
    users: new Set(),
    ports: new Set(),
  };
}

function recordLine(
  source: Source,
  match: LogMatch,
  line: number,
  time: string | undefined,
  assumed: boolean,
) {
  source.count++;
  if (source.lines.length < LINE_SAMPLE) source.lines.push(line);
  source.kinds.add(match.kind);
  if (match.category) source.scores[match.category] = (source.scores[match.category] ?? 0) + match.weight;
  if (match.user) source.users.add(match.user);
  if (match.destinationPort !== undefined) source.ports.add(match.destinationPort);
  if (match.destination && !source.destination) source.destination = normaliseIp(match.destination);
  if (time) {
    if (!source.firstSeen || time < source.firstSeen) source.firstSeen = time;
    if (!source.lastSeen || time > source.lastSeen) source.lastSeen = time;
    source.assumedUtc ||= assumed;
  }
}

/** A source's own lines decide its class when they are conclusive; otherwise the complaint's class applies. */
function ownClassification(source: Source, document: Classification): Classification {
  const own = decide(Object.fromEntries(Object.entries(source.scores).map(([c, s]) => [c, s * 3])));
  if (own.category && own.category !== document.category && own.confidence >= document.confidence) return own;
  if (!own.category && document.category === undefined) {
    // Lines of a known kind but no verdict (plain web requests): say what was seen, undetermined.
    return document;
  }
  return document.category ? document : own;
}

function namedSources(
  text: string,
  lines: readonly string[],
  receivedAt: Date,
  document: Classification,
  options: FreeTextParserOptions,
): Source[] {
  const refanged = refang(text);
  const lineOf = lineIndex(refanged);
  const times = findTimes(refanged, receivedAt);
  const firstTime = times[0];
  const sources = new Map<string, Source>();
  const add = (key: string, id: { ip?: string; url?: string; fqdn?: string }, index: number) => {
    if (sources.size >= MAX_SOURCES) return;
    const line = lineOf(index);
    const existing = sources.get(key);
    if (existing) {
      existing.count++;
      if (existing.lines.length < LINE_SAMPLE && !existing.lines.includes(line)) existing.lines.push(line);
      return;
    }
    const s = newSource(key, id, line, lines[line - 1] ?? '');
    s.count = 1;
    s.lines.push(line);
    if (firstTime) {
      s.firstSeen = firstTime.iso;
      s.lastSeen = times[times.length - 1]!.iso;
      s.assumedUtc = times.some((t) => t.assumedUtc);
    }
    sources.set(key, s);
  };
  const urls = extractUrls(refanged);
  const urlCentric = ['phishing', 'malware', 'copyright', 'spam'].includes(document.category ?? '');
  const covered = new Set<string>();
  for (const u of urls) {
    covered.add(u.host);
    if (urlCentric || document.category === undefined) add(`url:${u.url}`, hostId(u.url, u.host), u.index);
  }
  const victims = victimAddresses(refanged);
  for (const a of extractIps(refanged)) {
    if (victims.has(a.ip) || (dropped(a.ip, options) && a.scope !== 'public')) continue;
    if (urlCentric && covered.has(a.ip)) continue;
    add(`ip:${a.ip}`, { ip: a.ip }, a.index);
  }
  if (sources.size === 0 || urlCentric) {
    const emailDomains = new Set(extractEmails(refanged).map((e) => e.slice(e.indexOf('@') + 1)));
    const receivers = receivingHosts(refanged);
    for (const d of extractDomains(refanged)) {
      if (covered.has(d.domain) || emailDomains.has(d.domain) || receivers.has(d.domain)) continue;
      covered.add(d.domain);
      add(`fqdn:${d.domain}`, { fqdn: d.domain }, d.index);
    }
  }
  return [...sources.values()];
}

/** Addresses the complainant names as their own ("our server 192.0.2.10"): victims, not sources. */
function victimAddresses(text: string): Set<string> {
  const victims = new Set<string>();
  const re =
    /\b(?:our|my)\s+(?:own\s+)?(?:server|host|ip|address|network|machine|site|website|mail ?server|honeypot)s?\b[^.\n]{0,40}?/gi;
  for (const m of text.matchAll(re)) {
    const after = text.slice(m.index, m.index + m[0].length + 45);
    for (const a of extractIps(after)) victims.add(a.ip);
  }
  return victims;
}

/**
 * The hosts a pasted `Received:` header names after `by`: the machines that received the mail (the
 * reporter's own MX and relays), never its sender. The sender is the `from` part, and its address.
 */
function receivingHosts(text: string): Set<string> {
  const hosts = new Set<string>();
  for (const m of text.matchAll(/^[ \t>]*Received:[^\n]*?\bby[ \t]+([a-z0-9][a-z0-9.-]*[a-z0-9])/gim)) {
    hosts.add(m[1]!.toLowerCase());
  }
  return hosts;
}

function hostId(url: string, host: string): { url: string; ip?: string; fqdn?: string } {
  const ip = normaliseIp(host);
  if (ip) return { url, ip };
  return /^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}\.?$/i.test(host) && host.length <= 253
    ? { url, fqdn: host }
    : { url };
}

function lineIndex(text: string): (index: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (index) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function normaliseIp(value: string): string | undefined {
  const v = value.trim();
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v)) return v;
  return isIPv6(v) ? v.toLowerCase() : undefined;
}

function dropped(ip: string | undefined, options: FreeTextParserOptions): boolean {
  return ip !== undefined && options.dropSpecialAddresses === true && addressScope(ip) !== 'public';
}

function toEvent(source: Source, cls: Classification, feedName: string): IntakeEvent {
  const [taxonomy, type] = cls.eventClass.split('/') as [IntakeEvent['classification.taxonomy'], string];
  const extra: Record<string, unknown> = { count: source.count, lines: source.lines };
  if (source.firstSeen) {
    extra.first_seen = source.firstSeen;
    extra.last_seen = source.lastSeen;
  }
  if (source.assumedUtc) extra.assumed_utc = true;
  if (source.kinds.size > 0) extra.log_kinds = [...source.kinds].sort();
  if (source.users.size > 0) extra.usernames = [...source.users].slice(0, 20);
  if (source.ports.size > 0) extra.destination_ports = [...source.ports].sort((a, b) => a - b).slice(0, 50);
  const scope: AddressScope | undefined = source.ip ? addressScope(source.ip) : undefined;
  if (scope && scope !== 'public') extra.address_scope = scope;
  if (Object.keys(cls.scores).length > 0) extra.classification_scores = cls.scores;
  const event: Record<string, unknown> = {
    'classification.taxonomy': taxonomy,
    'classification.type': type,
    'classification.confidence': cls.confidence,
  };
  if (source.firstSeen) event['time.source'] = source.firstSeen;
  if (source.ip) event['source.ip'] = source.ip;
  if (source.fqdn && isEventFqdn(source.fqdn)) event['source.fqdn'] = source.fqdn;
  if (source.url && source.url.length <= 8192) event['source.url'] = source.url;
  if (source.destination) event['destination.ip'] = source.destination;
  event['feed.name'] = feedName;
  event.raw = clipRaw(source.raw);
  event['raw.location'] = String(source.line);
  event.extra = extra;
  return event as IntakeEvent;
}

export { categoryClass as freeTextCategoryClass };
