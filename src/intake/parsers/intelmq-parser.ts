import { type ClassificationType, isEventClass, taxonomy, taxonomyOf } from '../../taxonomy/taxonomy.js';
import { clipRaw, eventSchema, type IntakeEvent } from '../event.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';
import { parseSourceTime } from '../source-time.js';
import { decodeText, peekText } from './text/decode-text.js';

/**
 * IntelMQ event JSON lines (what IntelMQ's file output and most CERT feeds built on it write): one JSON object
 * per line with IntelMQ's dotted keys (`source.ip`, `classification.type`, `extra.foo`), `__type: "Event"`
 * tolerated, hierarchical output (`{"source": {"ip": …}}`) flattened.
 *
 * Checked against our field dictionary (event.ts): known fields are kept and coerced where IntelMQ's JSON is
 * looser than ours (ports and ASNs as strings, times with `+00:00`); fields we do not know — and known fields
 * whose value fails their rule but do not identify the source — move to `extra`, so nothing a CERT sent is lost.
 * A line that is not JSON, not an object, or names a bad IP is an error with its line number; the rest go on.
 * Classifications from IntelMQ versions before the RSIT taxonomy (`botnet drone`) become `other/unknown` with
 * the original kept in `extra.intelmq_classification`.
 */

const knownFields = new Set(Object.keys(eventSchema.shape));
/** Fields whose bad value makes the line useless: the event would not say who or when. */
const identityFields = new Set(['source.ip', 'destination.ip', 'time.source']);
const integerFields = new Set(['source.port', 'destination.port', 'source.asn', 'destination.asn']);
const timeFields = new Set(['time.source', 'time.observation']);

export const intelmqParser: FormatParser = {
  format: 'intelmq',
  detect(input: ParserInput): number {
    const head = peekText(input.bytes, 4096).replace(/^\uFEFF/, '');
    const first =
      head
        .split(/\r?\n/)
        .find((l) => l.trim() !== '')
        ?.trim() ?? '';
    if (!first.startsWith('{')) return 0;
    if (/"(?:classification\.(?:type|taxonomy)|feed\.name|source\.ip|__type)"\s*:/.test(first)) return 0.95;
    if (/"classification"\s*:\s*\{/.test(first) && /"feed"\s*:\s*\{/.test(first)) return 0.85;
    return /\.jsonl?$|\.ndjson$/i.test(input.fileName ?? '') && /"source"\s*:/.test(first) ? 0.4 : 0;
  },
  parse(input: ParserInput): ParserOutput {
    const events: IntakeEvent[] = [];
    const errors: ParseError[] = [];
    const decoded = decodeText(input.bytes);
    if (decoded.fellBack)
      errors.push({ message: 'input is not valid UTF-8; decoded as Windows-1252', location: 'file' });
    const lines = decoded.text.split('\n');
    lines.forEach((rawLine, i) => {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line.trim() === '') return;
      const location = String(i + 1);
      const fail = (message: string) => errors.push({ message, location, raw: clipRaw(line) });
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        fail(`invalid JSON: ${(e as Error).message}`);
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        fail('not a JSON object');
        return;
      }
      const result = normaliseIntelmqEvent(value as Record<string, unknown>);
      if (typeof result === 'string') {
        fail(result);
        return;
      }
      result.raw = clipRaw(line);
      result['raw.location'] = location;
      events.push(result);
    });
    return { format: 'intelmq', events, errors };
  },
};

/** One IntelMQ event object → our event, or the reason it cannot be one. */
export function normaliseIntelmqEvent(input: Record<string, unknown>): IntakeEvent | string {
  const type = input.__type;
  if (type !== undefined && type !== 'Event')
    return `an IntelMQ ${String(type)}, not an Event (only events are accepted)`;
  const flat: Record<string, unknown> = {};
  flatten(input, '', flat);
  delete flat.__type;

  const event: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    if (value === null || value === '') continue;
    if (key.startsWith('extra.')) extra[key.slice(6)] = value;
    else if (key === 'extra') {
      // Some producers put extra as a JSON string.
      const parsed = typeof value === 'string' ? safeJson(value) : value;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(extra, parsed);
      else extra.extra = value;
    } else if (key === 'raw') extra['intelmq.raw'] = value;
    else if (knownFields.has(key)) event[key] = value;
    else extra[key] = value;
  }

  for (const key of Object.keys(event)) {
    const value = event[key];
    if (integerFields.has(key) && typeof value === 'string' && /^\d+$/.test(value))
      event[key] = Number(value);
    if (key === 'classification.confidence' && typeof value === 'string') event[key] = Number(value);
    if (timeFields.has(key)) {
      const time =
        typeof value === 'string' || typeof value === 'number' ? parseSourceTime(value) : undefined;
      if (!time) return `bad ${key} ${JSON.stringify(value)}`;
      event[key] = time.iso;
      if (time.assumedUtc) extra.assumed_utc = true;
    }
    if (key.endsWith('.ip') && typeof value === 'string') event[key] = value.trim().toLowerCase();
    if (key === 'protocol.transport' && typeof value === 'string') event[key] = value.toLowerCase();
  }

  classify(event, extra);
  if (event['feed.name'] === undefined) event['feed.name'] = 'intelmq';

  // Validate; a bad value of a non-identity field moves to extra (kept, not trusted), then validate again.
  for (let attempt = 0; attempt < 2; attempt++) {
    const checked = eventSchema.safeParse(withExtra(event, extra));
    if (checked.success) return checked.data;
    const moved: string[] = [];
    for (const issue of checked.error.issues) {
      const field = String(issue.path[0] ?? '');
      if (issue.code === 'custom' && field === 'source.ip' && event['source.ip'] === undefined)
        return 'names no source (source.ip, source.fqdn or source.url)';
      if (
        identityFields.has(field) ||
        field === '' ||
        field.startsWith('classification.') ||
        field === 'extra'
      )
        return `bad ${field || 'event'}: ${issue.message} (${JSON.stringify(event[field] ?? null)})`;
      if (field in event) {
        extra[field] = event[field];
        delete event[field];
        moved.push(field);
      }
    }
    if (moved.length === 0) break;
    extra.invalid_fields = moved;
  }
  return 'event does not satisfy the field dictionary';
}

function classify(event: Record<string, unknown>, extra: Record<string, unknown>): void {
  const tax = event['classification.taxonomy'];
  const type = event['classification.type'];
  if (typeof tax === 'string' && typeof type === 'string' && isEventClass(`${tax}/${type}`)) return;
  // A known type under a missing or outdated taxonomy name: the taxonomy follows from the type.
  if (
    typeof type === 'string' &&
    Object.values(taxonomy).some((types) => (types as readonly string[]).includes(type))
  ) {
    event['classification.taxonomy'] = taxonomyOf(type as ClassificationType);
    return;
  }
  if (tax !== undefined || type !== undefined)
    extra.intelmq_classification = {
      ...(tax === undefined ? {} : { taxonomy: tax }),
      ...(type === undefined ? {} : { type }),
    };
  event['classification.taxonomy'] = 'other';
  event['classification.type'] = 'unknown';
}

function flatten(value: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    // `extra` stays an object (it is one field); other nested objects are IntelMQ's hierarchical output.
    if (v && typeof v === 'object' && !Array.isArray(v) && name !== 'extra' && !name.startsWith('extra.'))
      flatten(v as Record<string, unknown>, name, out);
    else out[name] = v;
  }
}

function withExtra(event: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  return Object.keys(extra).length > 0 ? { ...event, extra } : { ...event };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
