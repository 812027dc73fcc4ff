import { parseSourceTime } from '../../source-time.js';

/**
 * Timestamps as logs and complaint text write them → UTC ISO 8601.
 *
 * - ISO 8601 / RFC 3339, with or without zone (no zone: UTC assumed and flagged);
 * - syslog `Nov 22 10:00:01` (BSD syslog has no year and no zone): the year is the received time's, or the one
 *   before when that would put the line more than two days after receipt (a December log read in January);
 *   the zone is assumed UTC and flagged — the honest answer, since the sender's zone is unknown;
 * - Apache/nginx `[22/Nov/2026:10:00:01 +0100]`, converted with its offset;
 * - RFC 2822 mail dates (`Sun, 22 Nov 2026 10:00:01 +0100`).
 */
export interface FoundTime {
  readonly iso: string;
  readonly assumedUtc: boolean;
  readonly index: number;
  readonly text: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const month = (name: string) => MONTHS.indexOf(name.slice(0, 3).toLowerCase());

const APACHE = /\[(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/g;
const ISO =
  /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?(?![\d:])/g;
const RFC2822 =
  /\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|UT|UTC|GMT|[ECMP][SD]T)?/g;
const SYSLOG =
  /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\s(\d{2}):(\d{2}):(\d{2})\b(?!\s+\d{4})/g;

export function findTimes(text: string, receivedAt: Date): FoundTime[] {
  const found: FoundTime[] = [];
  // The spans already taken, sorted and disjoint. Each pattern's matches come in text order, so one walk
  // through the taken spans per pattern finds overlaps: linear, where a scan of every span per match was
  // quadratic (a 20 MiB attached log took two minutes).
  let taken: Array<readonly [number, number]> = [];
  const pass = (
    pattern: RegExp,
    read: (m: RegExpMatchArray) => Omit<FoundTime, 'index' | 'text'> | undefined,
  ) => {
    const added: Array<readonly [number, number]> = [];
    let j = 0;
    for (const m of text.matchAll(pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      while (j < taken.length && taken[j]![1] <= start) j++;
      if (j < taken.length && taken[j]![0] < end) continue;
      const t = read(m);
      if (!t) continue;
      found.push({ ...t, index: start, text: m[0] });
      added.push([start, end]);
    }
    taken = mergeSpans(taken, added);
  };
  pass(APACHE, (m) => {
    const [, d, mon, y, h, mi, s, sign, oh, om] = m;
    const mo = month(mon!);
    if (mo < 0) return undefined;
    const offset = (Number(oh) * 60 + Number(om)) * (sign === '-' ? -1 : 1);
    const ms = Date.UTC(Number(y), mo, Number(d), Number(h), Number(mi), Number(s)) - offset * 60_000;
    return Number.isNaN(ms) ? undefined : { iso: new Date(ms).toISOString(), assumedUtc: false };
  });
  pass(ISO, (m) => parseSourceTime(m[0].replace(/\s(?=[+-]\d|Z|UTC|GMT)/, '')));
  pass(RFC2822, (m) => parseSourceTime(m[0]));
  pass(SYSLOG, (m) => {
    const iso = syslogTime(m, receivedAt);
    return iso ? { iso, assumedUtc: true } : undefined;
  });
  return found.sort((a, b) => a.index - b.index);
}

/** Two sorted lists of disjoint spans (disjoint from each other too) as one sorted list. */
function mergeSpans(
  a: ReadonlyArray<readonly [number, number]>,
  b: ReadonlyArray<readonly [number, number]>,
): Array<readonly [number, number]> {
  if (b.length === 0) return [...a];
  const out: Array<readonly [number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]![0] <= b[j]![0])) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

function syslogTime(m: RegExpMatchArray, receivedAt: Date): string | undefined {
  const [, mon, d, h, mi, s] = m;
  const mo = month(mon!);
  const make = (year: number) => Date.UTC(year, mo, Number(d), Number(h), Number(mi), Number(s));
  let ms = make(receivedAt.getUTCFullYear());
  if (ms > receivedAt.getTime() + 2 * 86_400_000) ms = make(receivedAt.getUTCFullYear() - 1);
  const date = new Date(ms);
  return date.getUTCDate() === Number(d) ? date.toISOString() : undefined;
}

/** The first time on one log line (what a log parser wants), or undefined. */
export function lineTime(line: string, receivedAt: Date): FoundTime | undefined {
  return findTimes(line, receivedAt)[0];
}
