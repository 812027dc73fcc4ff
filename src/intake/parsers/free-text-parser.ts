import { clipRaw, type IntakeEvent, isEventFqdn } from '../event.js';
import { htmlToText } from '../mail/html-text.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';
import { declinesIdentity } from '../reporter-identity.js';
import { registeredDomain } from './text/blocks/pasted-block.js';
import {
  type Classification,
  type ComplaintCategory,
  categoryClass,
  categoryIdentifier,
  classifyComplaint,
  decide,
  TRIAGE_CONFIDENCE,
} from './text/complaint-classifier.js';
import { decodeText, peekText } from './text/decode-text.js';
import { addressScope, refang } from './text/indicator-extractor.js';
import { readLogLine } from './text/log-recognisers.js';
import { findTimes, lineTime } from './text/log-time.js';
import type { LogReading } from './text/logs/log-recogniser.js';
import { readPastedBlocks } from './text/pasted-blocks.js';
import { type ProseIndicator, proseIndicators } from './text/prose-indicators.js';

/**
 * Human complaints and the logs pasted into or attached to them → one event per distinct abuse source, with
 * the role of every address decided before anything is called a source:
 *
 * 1. **Log lines** (text/logs/<product>.ts, a table of recognisers): the line's structure says which address
 *    sent the traffic and which received it — `SRC=`/`DST=`, `from … to …`, `src -> dst`, the client column.
 *    The sender is the source; the receiver is kept as `destination.*` and is never a source from that line.
 *    Outbound traffic and replies name no offender.
 * 2. **Pasted blocks** (text/blocks/<kind>.ts): a `Received:` chain names the server that handed the mail to
 *    the reporter (the reporter's own relays, the `by` hosts, are never sources); `dig` output names the
 *    resolver; an SMTP transcript names the relay.
 * 3. **Prose** (text/prose-roles.ts): the words around each URL, address and domain say whether it is the
 *    source ("from", "your customer at", "hosted on", "… is scanning us", "desde", "von"), a target ("against",
 *    "our server at", "unseren Server", "nuestro servidor"), or an impersonated brand. Prose adds sources
 *    beside the structured ones only where its words say so (and the URLs of content complaints); an address
 *    nothing speaks for is the source when it is the only one named, and otherwise goes to an analyst
 *    (`extra.triage_reason: 'role-unknown'`).
 *
 * The class comes from text/complaint-classifier.ts (English, German and Spanish cue words plus the evidence of
 * lines and blocks); a source whose own lines say more is classified by them. Below confidence 0.6 the event
 * carries `extra.triage_reason: 'low-confidence'` with its best guess as the class. A legal request (subpoena,
 * court order) is labelled `extra.request_kind: 'legal-request'` for the legal workflow.
 *
 * Special-purpose addresses (private, documentation, loopback…) are kept and marked `extra.address_scope`
 * unless the parser is created with `dropSpecialAddresses`.
 */

export interface FreeTextParserOptions {
  /** Drop private, loopback, link-local, documentation and other non-public addresses instead of marking them. */
  readonly dropSpecialAddresses?: boolean;
  /** Feed name for the events (default `free-text`). */
  readonly feedName?: string;
  /** Lines read at most (default MAX_LINES); the rest is left unread and the report says so. */
  readonly maxLines?: number;
}

const MAX_SOURCES = 500;
/**
 * A complaint is read for its parties, not in full: past this many lines (a pasted or attached log of
 * millions) the rest is left unread and the report says so. The evidence keeps every byte, and the parse
 * stays within its worker's time budget (each line is tried against every log recogniser).
 */
const MAX_LINES = 200_000;
const LINE_SAMPLE = 5;
const MAX_DESTINATIONS = 50;
const TRANSPORTS: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'sctp', 'gre']);
/** Complaints about content: the content's URL is the source even when no word says so. */
const CONTENT_CATEGORIES: ReadonlySet<ComplaintCategory> = new Set([
  'phishing',
  'malware',
  'c2',
  'copyright',
  'harassment',
  'csam',
  'spam',
]);

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
  if (head.split('\n').some((l) => readLogLine(l))) score = 0.45;
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
  readonly protocols: Set<string>;
  readonly destinations: Set<string>;
  destination?: string | undefined;
  destinationPort?: number | undefined;
  roleUnknown: boolean;
  /** Log lines whose structure told this source's role, and lines that could not (see LogReading.roleUnknown). */
  knownLines: number;
  unknownLines: number;
  /** Named by its role (a line's structure, a block, a cue word) rather than as the only address around. */
  structured: boolean;
  readonly extra: Record<string, unknown>;
}

function parseFreeText(input: ParserInput, options: FreeTextParserOptions): ParserOutput {
  const errors: ParseError[] = [];
  const decoded = decodeText(input.bytes);
  if (decoded.fellBack)
    errors.push({ message: 'input is not valid UTF-8; decoded as Windows-1252', location: 'file' });
  let text = decoded.text;
  if (/<(?:html|body|div|p|br|table)\b/i.test(text.slice(0, 4096))) text = htmlToText(text);
  let rawLines = text.split(/\r?\n/);
  const maxLines = options.maxLines ?? MAX_LINES;
  if (rawLines.length > maxLines) {
    errors.push({
      message: `read the first ${maxLines.toLocaleString('en')} of ${rawLines.length.toLocaleString('en')} lines; the evidence keeps the rest`,
      location: 'file',
    });
    rawLines = rawLines.slice(0, maxLines);
  }
  const lines = rawLines.map(refang);
  const feedName = options.feedName ?? 'free-text';
  const sources = new Map<string, Source>();
  const add = (key: string, id: SourceId, line: number): Source | undefined => {
    const existing = sources.get(key);
    if (existing) return existing;
    if (sources.size >= MAX_SOURCES) return undefined;
    const s = newSource(key, id, line + 1, rawLines[line] ?? '');
    sources.set(key, s);
    return s;
  };

  // 1. Log lines: the roles are in the line's structure.
  const settled = new Set<number>();
  const evidence: Partial<Record<ComplaintCategory, { lines: number; weight: number }>> = {};
  const logDestinations = new Set<string>();
  const logSources = new Set<string>();
  lines.forEach((line, i) => {
    const reading = readLogLine(line);
    if (!reading) return;
    settled.add(i);
    if (reading.destination) logDestinations.add(reading.destination.ip);
    if (!reading.source) return;
    if (reading.category) {
      const e = evidence[reading.category] ?? { lines: 0, weight: reading.weight };
      e.lines++;
      evidence[reading.category] = e;
    }
    const ip = reading.source.ip;
    logSources.add(ip);
    const source = add(`ip:${ip}`, { ip }, i);
    if (source) recordLine(source, reading, i + 1, lineTime(line, input.receivedAt));
  });

  // 2. Pasted blocks: mail headers, dig output, SMTP transcripts.
  const ownDomains = new Set<string>();
  const reporterDomain = input.reporterAddress?.split('@')[1]?.toLowerCase();
  if (reporterDomain) ownDomains.add(registeredDomain(reporterDomain));
  const blocks = readPastedBlocks(lines, { ownDomains });
  for (const l of blocks.lines) settled.add(l);
  for (const [c, e] of Object.entries(blocks.evidence) as Array<
    [ComplaintCategory, { lines: number; weight: number }]
  >) {
    const into = evidence[c] ?? { lines: 0, weight: e.weight };
    into.lines += e.lines;
    evidence[c] = into;
  }
  for (const own of blocks.own) ownDomains.add(registeredDomain(own));
  const isOwn = (host: string) =>
    blocks.own.has(host) ||
    (host.includes('.') && !/^[\d.]+$/.test(host) && ownDomains.has(registeredDomain(host)));

  // 3. Prose: everything not settled above, with the role its words give each indicator.
  const prose = lines.map((l, i) => (settled.has(i) ? ' '.repeat(l.length) : l)).join('\n');
  const lineOf = lineIndex(prose);
  // The mail's subject counts as words of the complaint ("Phishing site on your network"), not as a place.
  const document = classifyComplaint(input.subject ? `${input.subject}\n${prose}` : prose, evidence);
  const indicators = proseIndicators(prose, isOwn).filter(
    (ind) => !blocks.bystanders.has(ind.host ?? ind.value) || ind.role === 'source',
  );
  const times = findTimes(prose, input.receivedAt);

  for (const b of blocks.sources) {
    if (b.ip && (isOwn(b.ip) || dropped(b.ip, options))) continue;
    if (b.ip && logDestinations.has(b.ip) && !logSources.has(b.ip)) continue;
    const key = b.ip ? `ip:${b.ip}` : `fqdn:${b.fqdn}`;
    const s = add(key, b.ip ? { ip: b.ip } : { fqdn: b.fqdn }, b.line);
    if (!s) continue;
    s.count++;
    s.structured = true;
    s.kinds.add(b.kind);
    if (s.lines.length < LINE_SAMPLE) s.lines.push(b.line + 1);
    if (b.category) s.scores[b.category] = (s.scores[b.category] ?? 0) + 1;
    if (b.time) setSeen(s, b.time, false);
    Object.assign(s.extra, b.extra);
  }

  const destinations: string[] = [];
  for (const ind of indicators) {
    if (ind.role !== 'own' && ind.role !== 'target') continue;
    const value = ind.kind === 'url' ? (ind.host ?? ind.value) : ind.value;
    if (!destinations.includes(value)) destinations.push(value);
  }
  const structuredCount = sources.size;
  const proseSources = chooseProseSources(indicators, document, structuredCount > 0);
  for (const { indicator, roleUnknown } of proseSources) {
    const id = indicatorId(indicator);
    if (id.ip && logDestinations.has(id.ip) && !logSources.has(id.ip)) continue;
    if (id.ip && dropped(id.ip, options) && addressScope(id.ip) !== 'public') continue;
    if (destinations.includes(indicator.host ?? indicator.value)) continue;
    const key = id.url ? `url:${id.url}` : id.ip ? `ip:${id.ip}` : `fqdn:${id.fqdn}`;
    const line = lineOf(indicator.index) - 1;
    const s = add(key, id, line);
    if (!s) continue;
    if (!s.kinds.size || s.kinds.has('prose')) {
      s.count++;
      if (s.lines.length < LINE_SAMPLE && !s.lines.includes(line + 1)) s.lines.push(line + 1);
    }
    if (s.kinds.size === 0) s.kinds.add('prose');
    const fromLines = s.knownLines + s.unknownLines > 0;
    s.roleUnknown = s.roleUnknown || (roleUnknown && !s.structured && !fromLines);
    if (!roleUnknown) s.structured = true;
    const first = times[0];
    const last = times[times.length - 1];
    if (first && last && !s.firstSeen) {
      setSeen(s, first.iso, first.assumedUtc);
      setSeen(s, last.iso, last.assumedUtc);
    }
  }

  const events: IntakeEvent[] = [];
  const legal = (document.scores['legal-request'] ?? 0) >= 4;
  for (const source of sources.values()) {
    if (dropped(source.ip, options)) continue;
    const fromLines = source.kinds.size > 0 && !source.kinds.has('prose');
    const proven = Object.keys(source.scores).length > 0;
    // A logged source whose lines prove nothing (a page view, a flow) is an offender only when the complaint
    // names it, or when plain traffic is the abuse (a flood); otherwise it is a bystander in the paste.
    if (fromLines && !proven && !source.structured && !namedInProse(source, indicators)) {
      if (document.category !== 'ddos') continue;
    }
    if (isOwn(source.fqdn ?? source.ip ?? '')) continue;
    // A logged source is role-unknown only when none of its lines told its role (one SCAN alert settles it).
    if (source.unknownLines > 0 && source.knownLines === 0) source.roleUnknown = true;
    if (source.destinations.size === 0)
      for (const d of destinations.slice(0, MAX_DESTINATIONS)) source.destinations.add(d);
    const cls = ownClassification(source, document);
    const event = toEvent(source, cls, feedName, legal);
    // A name the field dictionary refuses as a host (found by fuzzing) leaves nothing to attribute.
    if (event['source.ip'] || event['source.fqdn'] || event['source.url']) events.push(event);
  }
  if (events.length === 0 && text.trim() !== '') {
    errors.push({
      message:
        destinations.length > 0
          ? `the complaint names only its own or attacked hosts (${destinations.slice(0, 5).join(', ')}), no source`
          : legal
            ? 'legal request (subpoena, court order) naming no IP address, URL or domain'
            : 'no IP address, URL or domain found in the complaint',
      location: '1',
    });
  }
  const reporter = declinesIdentity(prose) ? { anonymous: true } : undefined;
  return { format: 'free-text', events, errors, ...(reporter ? { reporter } : {}) };
}

type SourceId = { ip?: string | undefined; url?: string | undefined; fqdn?: string | undefined };

function newSource(key: string, id: SourceId, line: number, raw: string): Source {
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
    protocols: new Set(),
    destinations: new Set(),
    roleUnknown: false,
    knownLines: 0,
    unknownLines: 0,
    structured: false,
    extra: {},
  };
}

function setSeen(source: Source, time: string, assumed: boolean) {
  if (!source.firstSeen || time < source.firstSeen) source.firstSeen = time;
  if (!source.lastSeen || time > source.lastSeen) source.lastSeen = time;
  source.assumedUtc ||= assumed;
}

function recordLine(
  source: Source,
  reading: LogReading,
  line: number,
  time: { iso: string; assumedUtc: boolean } | undefined,
) {
  source.count++;
  if (source.lines.length < LINE_SAMPLE) source.lines.push(line);
  source.kinds.add(reading.kind);
  if (reading.category)
    source.scores[reading.category] = (source.scores[reading.category] ?? 0) + reading.weight;
  if (reading.user) source.users.add(reading.user);
  if (reading.protocol) source.protocols.add(reading.protocol === 'icmp6' ? 'ipv6-icmp' : reading.protocol);
  if (reading.asEvidence) source.structured = true;
  if (reading.roleUnknown) source.unknownLines++;
  else source.knownLines++;
  if (reading.identifier && source.extra.identifier === undefined)
    source.extra.identifier = reading.identifier;
  const destination = reading.destination;
  if (destination) {
    if (destination.port !== undefined) source.ports.add(destination.port);
    if (source.destinations.size < MAX_DESTINATIONS) source.destinations.add(destination.ip);
    if (!source.destination) {
      source.destination = destination.ip;
      source.destinationPort = destination.port;
    }
  }
  if (time) setSeen(source, time.iso, time.assumedUtc);
}

/**
 * Which prose indicators are sources: those whose words say so; the URLs of a content complaint; and, when
 * nothing else names a source, the one address the complaint names, or each of several with the role unknown.
 * With sources named otherwise, an address nothing speaks for still goes out, marked role-unknown, so an
 * analyst sees it — except where the words or the structure already made it a target, the reporter's own, an
 * impersonated brand or a bystander.
 */
function chooseProseSources(
  indicators: readonly ProseIndicator[],
  document: Classification,
  haveStructured: boolean,
): Array<{ indicator: ProseIndicator; roleUnknown: boolean }> {
  const content = document.category !== undefined && CONTENT_CATEGORIES.has(document.category);
  const chosen: Array<{ indicator: ProseIndicator; roleUnknown: boolean }> = [];
  const covered = new Set<string>();
  const named = indicators.filter(
    (i) => i.role === 'source' || (content && i.kind === 'url' && i.role === 'unknown'),
  );
  for (const i of named) if (i.kind === 'url' && i.host) covered.add(i.host);
  for (const i of named) {
    // An address that is the host of a named URL is that URL's source, not a second one.
    if (i.kind !== 'url' && covered.has(i.value)) continue;
    chosen.push({ indicator: i, roleUnknown: false });
  }
  const unknown = indicators.filter(
    (i) => i.role === 'unknown' && !named.includes(i) && !covered.has(i.host ?? i.value),
  );
  const distinct = new Set(unknown.map((i) => i.host ?? i.value));
  const alone = !haveStructured && named.length === 0 && distinct.size === 1;
  for (const i of unknown) chosen.push({ indicator: i, roleUnknown: !alone });
  return chosen;
}

function namedInProse(source: Source, indicators: readonly ProseIndicator[]): boolean {
  return indicators.some((i) => i.role === 'source' && (i.value === source.ip || i.host === source.ip));
}

function indicatorId(indicator: ProseIndicator): SourceId {
  if (indicator.kind === 'ip') return { ip: indicator.value };
  if (indicator.kind === 'domain') return { fqdn: indicator.value };
  const host = indicator.host ?? '';
  const ip = /^[\d.]+$/.test(host) || host.includes(':') ? host : undefined;
  const fqdn =
    !ip && /^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}\.?$/i.test(host) && host.length <= 253
      ? host
      : undefined;
  return { url: indicator.value, ip, fqdn };
}

/** A source's own lines decide its class when they are conclusive; otherwise the complaint's class applies. */
function ownClassification(source: Source, document: Classification): Classification {
  const own = decide(Object.fromEntries(Object.entries(source.scores).map(([c, s]) => [c, s * 3])));
  if (own.category && own.confidence >= document.confidence) {
    // The same category, more surely shown by the lines than said by the words: the lines' confidence.
    if (own.category !== document.category || own.confidence > document.confidence) return own;
  }
  return document.category ? document : own;
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

function dropped(ip: string | undefined, options: FreeTextParserOptions): boolean {
  return ip !== undefined && options.dropSpecialAddresses === true && addressScope(ip) !== 'public';
}

function toEvent(source: Source, cls: Classification, feedName: string, legal: boolean): IntakeEvent {
  const isLegal = cls.category === 'legal-request';
  const eventClass = cls.eventClass;
  const [taxonomy, type] = eventClass.split('/') as [IntakeEvent['classification.taxonomy'], string];
  const extra: Record<string, unknown> = {
    count: Math.max(source.count, 1),
    lines: source.lines,
    ...source.extra,
  };
  delete extra.identifier;
  if (source.firstSeen) {
    extra.first_seen = source.firstSeen;
    extra.last_seen = source.lastSeen;
  }
  if (source.assumedUtc) extra.assumed_utc = true;
  if (source.kinds.size > 0) extra.log_kinds = [...source.kinds].sort();
  if (source.users.size > 0) extra.usernames = [...source.users].slice(0, 20);
  if (source.ports.size > 0) extra.destination_ports = [...source.ports].sort((a, b) => a - b).slice(0, 50);
  if (source.destinations.size > 0) extra.destinations = [...source.destinations];
  const scope = source.ip ? addressScope(source.ip) : undefined;
  if (scope && scope !== 'public') extra.address_scope = scope;
  if (Object.keys(cls.scores).length > 0) extra.classification_scores = cls.scores;
  if (isLegal || legal) extra.request_kind = 'legal-request';
  // One reason for the desk's triage queue; a wrong party is worse than a wrong class, so it comes first.
  if (source.roleUnknown) extra.triage_reason = 'role-unknown';
  else if (cls.confidence < TRIAGE_CONFIDENCE) extra.triage_reason = 'low-confidence';
  const event: Record<string, unknown> = {
    'classification.taxonomy': taxonomy,
    'classification.type': type,
    'classification.confidence': cls.confidence,
  };
  const identifier =
    (source.extra.identifier as string | undefined) ??
    (cls.category ? categoryIdentifier[cls.category] : undefined);
  if (identifier) event['classification.identifier'] = identifier.slice(0, 200);
  if (source.firstSeen) event['time.source'] = source.firstSeen;
  if (source.ip) event['source.ip'] = source.ip;
  if (source.fqdn && isEventFqdn(source.fqdn)) event['source.fqdn'] = source.fqdn;
  if (source.url && source.url.length <= 8192) event['source.url'] = source.url;
  const destination = source.destination ?? [...source.destinations][0];
  if (destination) {
    if (/^[\d.]+$/.test(destination) || destination.includes(':')) {
      event['destination.ip'] = destination;
      if (source.destinationPort !== undefined && destination === source.destination)
        event['destination.port'] = source.destinationPort;
    } else if (/^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$/i.test(destination)) {
      event['destination.fqdn'] = destination;
    }
  }
  const [protocol] = source.protocols;
  if (source.protocols.size === 1 && protocol && TRANSPORTS.has(protocol))
    event['protocol.transport'] = protocol;
  event['feed.name'] = feedName;
  event.raw = clipRaw(source.raw);
  event['raw.location'] = String(source.line);
  event.extra = extra;
  return event as IntakeEvent;
}

export { categoryClass as freeTextCategoryClass };
