import { isIPv6 } from 'node:net';
import { formatPrefix, tryParsePrefix } from '../../../registry/ip-address.js';
import { clipRaw, type IntakeEvent } from '../../event.js';
import type { FormatParser, ParserInput, ParserOutput } from '../../parser.js';
import type { ParseError } from '../../report.js';
import { decodeText, peekText } from '../text/decode-text.js';
import { readCsvRecords } from './csv-record-reader.js';
import type { ColumnProfile, MappableField, ReportTypeTable, ResolvedType } from './report-type-table.js';
import { shadowserverReportTypes } from './report-types.js';

/**
 * Shadowserver CSV reports → events, driven entirely by the report-type table (report-types.ts).
 *
 * The report type comes from the file name (`2026-01-15-scan_dns-example_org-geo.csv`, also without the date,
 * without `-geo`, and the `scan6_`/`event6_` variants) or, failing that, from the header: the type whose known
 * columns best overlap the file's (Jaccard), its score recorded in `extra.shadowserver_type_score`. A stem
 * nobody knows and a header that matches nothing well still parses, with the generic profile the header suggests
 * and `other/unknown`, so a brand-new report is never dropped.
 *
 * Speed matters (a national CERT's daily scan_* files run to millions of rows): the header is compiled once into
 * a plan of column indexes and converters, the CSV reader is hand-written (see csv-record-reader.ts), and rows
 * are checked with cheap hand-written validators equivalent to the field dictionary's rules instead of zod per
 * row; the parser tests run every event through `eventSchema` to keep the two in step.
 */

export const SHADOWSERVER_PROVIDER = 'Shadowserver';
/** Below this header similarity we do not trust the best type and fall back to the generic profile. */
const MIN_COLUMN_SCORE = 0.5;

const FILE_NAME = /^(?:\d{4}-\d{2}-\d{2}-)?([a-z0-9_]+)(?:-[^/\\]*)?\.csv$/i;

export function shadowserverStemFromFileName(fileName: string | undefined): string | undefined {
  if (!fileName) return undefined;
  const base = fileName.split(/[/\\]/).pop() ?? fileName;
  return FILE_NAME.exec(base)?.[1]?.toLowerCase();
}

export function createShadowserverParser(table: ReportTypeTable = shadowserverReportTypes): FormatParser {
  return {
    format: 'shadowserver',
    detect: (input) => detectShadowserver(input, table),
    parse: (input) => parseShadowserver(input, table),
  };
}

export const shadowserverParser: FormatParser = createShadowserverParser();

function detectShadowserver(input: ParserInput, table: ReportTypeTable): number {
  const stem = shadowserverStemFromFileName(input.fileName);
  const headerLine = peekText(input.bytes, 4096).split(/\r?\n/, 1)[0] ?? '';
  const header = splitHeaderLine(headerLine);
  const hasTimestamp = header[0] === 'timestamp';
  if (stem && table.byStem(stem)) return hasTimestamp || input.bytes.length === 0 ? 0.98 : 0.9;
  if (!hasTimestamp) return 0;
  const best = table.bestByColumns(header);
  if (best && best.score >= 0.6) return 0.85;
  if (stem && /^\d{4}-\d{2}-\d{2}-/.test(input.fileName?.split(/[/\\]/).pop() ?? '')) return 0.7;
  if (best && best.score >= 0.35) return 0.6;
  return 0;
}

function splitHeaderLine(line: string): string[] {
  return line
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
}

enum Kind {
  Text,
  Time,
  Ip,
  Port,
  Asn,
  Cc,
  Fqdn,
  Url,
  Transport,
}

function kindOf(field: MappableField): Kind {
  if (field === 'time.source') return Kind.Time;
  if (field === 'protocol.transport') return Kind.Transport;
  if (field.endsWith('.ip')) return Kind.Ip;
  if (field.endsWith('.port')) return Kind.Port;
  if (field.endsWith('.asn')) return Kind.Asn;
  if (field.endsWith('.cc')) return Kind.Cc;
  if (field.endsWith('.fqdn')) return Kind.Fqdn;
  if (field.endsWith('.url')) return Kind.Url;
  return Kind.Text;
}

interface Slot {
  readonly idx: number;
  readonly field: MappableField;
  readonly column: string;
  readonly kind: Kind;
  readonly required: boolean;
}

interface Plan {
  readonly feedName: string;
  readonly taxonomy: string;
  readonly type: string;
  readonly identifier: string | undefined;
  readonly identifierIdx: readonly number[];
  readonly malwareIdx: readonly number[];
  readonly application: string | undefined;
  readonly transport: string | undefined;
  readonly slots: readonly Slot[];
  readonly extras: ReadonlyArray<{ readonly idx: number; readonly name: string }>;
  readonly rules: ReadonlyArray<{
    readonly idx: number;
    readonly needle: string;
    readonly taxonomy: string;
    readonly type: string;
    readonly identifier: string | undefined;
  }>;
  /** Column index of the host a relative URL path belongs to (`http_host`, `host`), or -1. */
  readonly urlHostIdx: number;
  /** Constant extras (how the type was chosen). */
  readonly fixedExtra: Readonly<Record<string, unknown>> | undefined;
  readonly width: number;
  /** Per-column value caches (see `Interner`); the time column's maps raw text → ISO time. */
  readonly interners: Interner[];
}

/**
 * Most Shadowserver columns repeat a handful of values (geo, region, tag, protocol, sector, the second of the
 * timestamp). Returning one shared string per distinct value lets the per-row strings die young instead of being
 * kept once per event, which halves garbage-collection work on a million-row file. A column whose values turn out
 * to be mostly distinct (IPs, host names) stops being cached after a sample, so the cache never grows unbounded.
 */
class Interner {
  private readonly map = new Map<string, unknown>();
  private lookups = 0;
  private hits = 0;
  active = true;

  /** `sticky`: never give up on sampling (the timestamp column, whose conversion costs more than a lookup). */
  constructor(private readonly sticky = false) {}

  get(v: string, make: (v: string) => unknown): unknown {
    const hit = this.map.get(v);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    const made = make(v);
    if (made !== undefined && this.map.size < MAX_INTERNED) this.map.set(v, made);
    if (++this.lookups === 4096) {
      if (!this.sticky && this.hits * 2 < this.lookups) this.active = false;
      this.lookups = 0;
      this.hits = 0;
    }
    return made;
  }
}

const MAX_INTERNED = 100_000;
const identity = (v: string): string => v;

interface Choice {
  readonly resolved: ResolvedType | undefined;
  readonly profile: ColumnProfile;
  readonly feedType: string;
  readonly fixedExtra: Record<string, unknown> | undefined;
}

function chooseType(stem: string | undefined, header: readonly string[], table: ReportTypeTable): Choice {
  const byName = stem ? table.byStem(stem) : undefined;
  if (byName) {
    const extra =
      byName.spec.type !== stem && byName.feedType !== stem ? { shadowserver_report: stem } : undefined;
    return { resolved: byName, profile: byName.profile, feedType: byName.feedType, fixedExtra: extra };
  }
  const best = table.bestByColumns(header);
  const score = best ? Math.round(best.score * 1000) / 1000 : 0;
  if (best && best.score >= MIN_COLUMN_SCORE) {
    return {
      resolved: best.type,
      profile: best.type.profile,
      feedType: best.type.feedType,
      fixedExtra: {
        shadowserver_type_score: score,
        ...(stem ? { shadowserver_report: stem } : {}),
      },
    };
  }
  const has = new Set(header);
  const profileName = has.has('src_ip') ? 'event' : has.has('url') && !has.has('port') ? 'url' : 'scan';
  const profile = table.profiles[profileName] ?? Object.values(table.profiles)[0]!;
  return {
    resolved: undefined,
    profile,
    feedType: stem ?? 'unknown',
    fixedExtra: {
      shadowserver_type_score: score,
      ...(best ? { shadowserver_type_guess: best.type.spec.type } : {}),
    },
  };
}

/** Compile header + type into a plan, or say which required fields have no column. */
function compilePlan(header: readonly string[], choice: Choice): Plan | { missing: string[] } {
  const spec = choice.resolved?.spec;
  const fieldsMap: Partial<Record<MappableField, readonly string[]>> = {
    ...choice.profile.fields,
    ...(spec?.fields ?? {}),
  };
  const required = new Set<MappableField>(spec?.required ?? choice.profile.required);
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (!index.has(h)) index.set(h, i);
  });
  const used = new Set<number>();
  const slots: Slot[] = [];
  const missing: string[] = [];
  for (const [field, candidates] of Object.entries(fieldsMap) as Array<[MappableField, readonly string[]]>) {
    const column = candidates.find((c) => index.has(c));
    if (column === undefined) {
      if (required.has(field)) missing.push(`${field} (one of: ${candidates.join(', ')})`);
      continue;
    }
    const idx = index.get(column)!;
    used.add(idx);
    slots.push({ idx, field, column, kind: kindOf(field), required: required.has(field) });
  }
  if (missing.length > 0) return { missing };
  // Required slots first, so a bad row fails before work is spent on it.
  slots.sort((a, b) => Number(b.required) - Number(a.required));
  const columnsOf = (cols: readonly string[] | undefined) =>
    (cols ?? []).map((c) => index.get(c)).filter((i): i is number => i !== undefined);
  const [taxonomy, type] = (spec?.class ?? 'other/unknown').split('/') as [string, string];
  const rules = (spec?.rules ?? [])
    .filter((r) => index.has(r.column))
    .map((r) => {
      const [t, ty] = r.class.split('/') as [string, string];
      return {
        idx: index.get(r.column)!,
        needle: r.contains.toLowerCase(),
        taxonomy: t,
        type: ty,
        identifier: r.identifier,
      };
    });
  const urlHostIdx =
    ['http_host', 'host', 'cc_dns'].map((c) => index.get(c)).find((i) => i !== undefined) ?? -1;
  return {
    feedName: `shadowserver-${choice.feedType}`,
    taxonomy,
    type,
    identifier: spec?.identifier ?? (choice.resolved ? undefined : choice.feedType),
    identifierIdx: columnsOf(spec?.identifierFrom),
    malwareIdx: columnsOf(spec?.malwareFrom),
    application: spec?.application,
    transport: spec?.transport,
    slots,
    extras: header
      .map((name, idx) => ({ name, idx }))
      .filter((c) => !used.has(c.idx) && c.name !== '' && index.get(c.name) === c.idx),
    rules,
    urlHostIdx,
    fixedExtra: choice.fixedExtra,
    width: header.length,
    interners: header.map((_, i) => new Interner(slots.some((x) => x.idx === i && x.kind === Kind.Time))),
  };
}

function parseShadowserver(input: ParserInput, table: ReportTypeTable): ParserOutput {
  const decoded = decodeText(input.bytes);
  const reader = createShadowserverReader(input.fileName, table);
  reader.push(decoded.text, true);
  const errors = decoded.fellBack ? [windows1252Warning(), ...reader.errors] : reader.errors;
  return { format: 'shadowserver', events: reader.events, errors, reporter: shadowserverReporter };
}

/** The warning a file gets that is not valid UTF-8 (it is read as Windows-1252, all of it). */
export function windows1252Warning(): ParseError {
  return { message: 'input is not valid UTF-8; decoded as Windows-1252', location: 'file' };
}

/**
 * A Shadowserver CSV read piece by piece, for a report too big to hold whole (report-stream.ts). `push` reads
 * the records complete so far and appends their events and errors to `events` and `errors`, which the caller
 * may empty between pushes; a record cut by the end of a piece waits for the next one. Over all the pieces of a
 * text it gives exactly what `parse` gives for the whole text (the parser itself reads the whole text as one
 * final piece). Decoding is the caller's: it decides the charset for the whole file.
 */
export interface ShadowserverReader {
  /** `final`: this is the last piece (a record without a line end is then complete). */
  push(piece: string, final: boolean): void;
  readonly events: IntakeEvent[];
  readonly errors: ParseError[];
}

/** Characters one record may reach past its start while a quote in it is still open (see csv-record-reader.ts). */
const STREAM_LOOKAHEAD = 16 * 1024 * 1024;

export function createShadowserverReader(
  fileName: string | undefined,
  table: ReportTypeTable = shadowserverReportTypes,
): ShadowserverReader {
  const events: IntakeEvent[] = [];
  const errors: ParseError[] = [];
  let header: string[] | undefined;
  let plan: Plan | undefined;
  let stop = false;
  let done = false;
  let rest = '';
  let line = 1;
  let text = '';
  const sink = {
    record(fields: string[], line: number, start: number, end: number) {
      if (stop) return;
      if (header === undefined) {
        if (fields.length === 1 && fields[0]!.trim() === '') return; // leading blank lines
        header = fields.map((f) => f.trim().toLowerCase());
        const choice = chooseType(shadowserverStemFromFileName(fileName), header, table);
        const compiled = compilePlan(header, choice);
        if ('missing' in compiled) {
          errors.push({
            message: `header lacks a column for ${compiled.missing.join('; ')} (report type ${choice.feedType})`,
            location: String(line),
            raw: clipRaw(text.slice(start, end)),
          });
          stop = true;
          return;
        }
        plan = compiled;
        return;
      }
      if (fields.length === 1 && fields[0] === '') return; // blank line
      buildRow(plan!, fields, line, text, start, end, events, errors);
    },
    error(message: string, line: number, start: number, end: number) {
      if (!stop) errors.push({ message, location: String(line), raw: clipRaw(text.slice(start, end)) });
    },
  };
  return {
    events,
    errors,
    push(piece, final) {
      if (done) return;
      text = rest === '' ? piece : rest + piece;
      // A header that failed stops the file: the rest need not be read at all.
      const at = stop
        ? { next: text.length, line }
        : readCsvRecords(text, sink, 0, { line, final, maxLookahead: STREAM_LOOKAHEAD });
      rest = text.slice(at.next);
      line = at.line;
      text = '';
      if (final) {
        done = true;
        if (header === undefined) errors.push({ message: 'empty file: no CSV header', location: '1' });
      }
    },
  };
}

/** Who a Shadowserver report is from (the same for every file). */
export const shadowserverReporter = {
  organisation: 'The Shadowserver Foundation',
  anonymous: false,
  automated: true,
} as const;

function buildRow(
  plan: Plan,
  fields: string[],
  line: number,
  text: string,
  start: number,
  end: number,
  events: IntakeEvent[],
  errors: ParseError[],
): void {
  if (fields.length > plan.width) {
    errors.push({
      message: `row has ${fields.length} fields, header has ${plan.width}`,
      location: String(line),
      raw: clipRaw(text.slice(start, end)),
    });
    return;
  }
  // Shadowserver's files drop empty trailing fields: a short row's missing fields are empty, not an error.
  while (fields.length < plan.width) fields.push('');
  let taxonomy = plan.taxonomy;
  let type = plan.type;
  let identifier = plan.identifier;
  for (const rule of plan.rules) {
    if (fields[rule.idx]!.toLowerCase().includes(rule.needle)) {
      taxonomy = rule.taxonomy;
      type = rule.type;
      identifier = rule.identifier ?? identifier;
      break;
    }
  }
  for (const idx of plan.identifierIdx) {
    const v = fields[idx]!.trim();
    if (v !== '') {
      identifier = v.toLowerCase().slice(0, 200);
      break;
    }
  }
  const ev: Record<string, unknown> = { 'classification.taxonomy': taxonomy, 'classification.type': type };
  if (identifier !== undefined) ev['classification.identifier'] = identifier;
  let extra: Record<string, unknown> | undefined;
  for (const slot of plan.slots) {
    const v = fields[slot.idx]!;
    if (v === '') {
      if (slot.required) {
        rowError(errors, `missing ${slot.field} (column ${slot.column})`, line, text, start, end);
        return;
      }
      continue;
    }
    const interner = plan.interners[slot.idx]!;
    const converted =
      slot.kind === Kind.Time || (slot.kind === Kind.Text && interner.active)
        ? interner.get(v, slot.kind === Kind.Time ? shadowserverTime : identity)
        : convert(slot.kind, v, fields, plan.urlHostIdx);
    if (converted === undefined && slot.field === 'source.ip' && v.includes('/')) {
      // A blocklist names whole networks in its ip column: the event is about the network, which
      // attribution resolves to every service holding part of it.
      const network = tryParsePrefix(v.trim());
      if (network) {
        ev['source.network'] = formatPrefix(network);
        continue;
      }
    }
    if (converted === undefined) {
      if (slot.required) {
        rowError(
          errors,
          `bad ${slot.field} "${v.slice(0, 100)}" (column ${slot.column})`,
          line,
          text,
          start,
          end,
        );
        return;
      }
      if (extra === undefined) extra = {};
      extra[slot.column] = v;
      continue;
    }
    ev[slot.field] = converted;
  }
  if (
    ev['source.ip'] === undefined &&
    ev['source.fqdn'] === undefined &&
    ev['source.url'] === undefined &&
    ev['source.network'] === undefined
  ) {
    rowError(errors, 'row names no source (ip, network, host or url)', line, text, start, end);
    return;
  }
  for (const idx of plan.malwareIdx) {
    const v = fields[idx]!.trim();
    if (v !== '') {
      ev['malware.name'] = v.toLowerCase().slice(0, 200);
      break;
    }
  }
  if (plan.application !== undefined && ev['protocol.application'] === undefined)
    ev['protocol.application'] = plan.application;
  if (plan.transport !== undefined && ev['protocol.transport'] === undefined)
    ev['protocol.transport'] = plan.transport;
  ev['feed.name'] = plan.feedName;
  ev['feed.provider'] = SHADOWSERVER_PROVIDER;
  ev.raw = end - start <= 4096 ? text.slice(start, end) : clipRaw(text.slice(start, end));
  ev['raw.location'] = String(line);
  for (const x of plan.extras) {
    const v = fields[x.idx]!;
    if (v !== '') {
      if (extra === undefined) extra = {};
      const interner = plan.interners[x.idx]!;
      extra[x.name] = interner.active ? interner.get(v, identity) : v;
    }
  }
  if (plan.fixedExtra !== undefined) extra = { ...plan.fixedExtra, ...extra };
  if (extra !== undefined) ev.extra = extra;
  events.push(ev as IntakeEvent);
}

function rowError(
  errors: ParseError[],
  message: string,
  line: number,
  text: string,
  start: number,
  end: number,
): void {
  errors.push({ message, location: String(line), raw: clipRaw(text.slice(start, end)) });
}

const TRANSPORTS = new Set(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'sctp', 'gre', 'other']);
/** The field dictionary's host-name rule (event.ts), repeated here to validate without zod in the hot loop. */
const FQDN = /^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}\.?$/i;
const SS_TIME = /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))[ T]((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)$/;

function convert(kind: Kind, v: string, fields: readonly string[], urlHostIdx: number): unknown {
  switch (kind) {
    case Kind.Text:
      return v;
    case Kind.Time:
      return shadowserverTime(v);
    case Kind.Ip:
      return isIpv4(v) ? v : v.includes(':') && !v.includes('%') && isIPv6(v) ? v.toLowerCase() : undefined;
    case Kind.Port:
    case Kind.Asn: {
      const n = toInt(v);
      if (n === undefined) return undefined;
      if (kind === Kind.Port) return n <= 65535 ? n : undefined;
      // Shadowserver writes 0 for "no ASN known": that is absence, not AS0.
      return n > 0 && n <= 4294967295 ? n : undefined;
    }
    case Kind.Cc:
      return v.length === 2 ? v.toUpperCase() : undefined;
    case Kind.Fqdn: {
      const host = v.toLowerCase();
      // Reports put a bare IP in `host` when the URL had no name: that is not a host name.
      if (isIpv4(host) || host.includes(':')) return undefined;
      return host.length <= 253 && FQDN.test(host) ? host : undefined;
    }
    case Kind.Url:
      return shadowserverUrl(v, urlHostIdx >= 0 ? fields[urlHostIdx] : undefined);
    case Kind.Transport: {
      const t = v.toLowerCase();
      return TRANSPORTS.has(t) ? t : undefined;
    }
  }
}

/** Shadowserver times are UTC by definition (their documentation says so), written `YYYY-MM-DD HH:MM:SS`. */
export function shadowserverTime(v: string): string | undefined {
  const m = SS_TIME.exec(v);
  if (m) return `${m[1]}T${m[2]}.000Z`;
  // Newer columns use ISO 8601 with a zone (`2021-03-27T00:00:00.521730Z`); anything Date can read with a zone.
  if (!/(?:Z|[+-]\d{2}:?\d{2})$/i.test(v)) return undefined;
  const t = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function shadowserverUrl(v: string, host: string | undefined): string | undefined {
  let url = v.trim();
  // Some reports put the whole request line in the URL column: `GET /favicon.ico HTTP/1.1`.
  const request = /^[A-Z]{3,10} (\S+)(?: HTTP\/[\d.]+)?$/.exec(url);
  if (request) url = request[1]!;
  if (url.startsWith('/')) {
    if (!host) return undefined;
    url = `http://${host.trim().toLowerCase()}${url}`;
  } else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    url = `http://${url}`;
  }
  return url.length <= 8192 ? url : undefined;
}

function toInt(v: string): number | undefined {
  const n = v.length;
  if (n === 0 || n > 10) return undefined;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    x = x * 10 + c;
  }
  return x;
}

/** Dotted quad without leading zeros (the field dictionary's IPv4 rule). */
function isIpv4(v: string): boolean {
  const n = v.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let value = 0;
  let digits = 0;
  let lead = false;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : v.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || value > 255 || (lead && digits > 1)) return false;
      parts++;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return false;
    if (digits === 0) lead = d === 0;
    value = value * 10 + d;
    digits++;
    if (digits > 3) return false;
  }
  return parts === 4;
}

export { isIpv4 as isDottedQuad };
