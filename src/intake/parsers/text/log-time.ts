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
  const taken: Array<[number, number]> = [];
  const free = (i: number, len: number) => !taken.some(([s, e]) => i < e && i + len > s);
  const add = (t: FoundTime) => {
    found.push(t);
    taken.push([t.index, t.index + t.text.length]);
  };
  for (const m of text.matchAll(APACHE)) {
    const [, d, mon, y, h, mi, s, sign, oh, om] = m;
    const mo = month(mon!);
    if (mo < 0) continue;
    const offset = (Number(oh) * 60 + Number(om)) * (sign === '-' ? -1 : 1);
    const ms = Date.UTC(Number(y), mo, Number(d), Number(h), Number(mi), Number(s)) - offset * 60_000;
    if (!Number.isNaN(ms))
      add({ iso: new Date(ms).toISOString(), assumedUtc: false, index: m.index, text: m[0] });
  }
  for (const m of text.matchAll(ISO)) {
    if (!free(m.index, m[0].length)) continue;
    const t = parseSourceTime(m[0].replace(/\s(?=[+-]\d|Z|UTC|GMT)/, ''));
    if (t) add({ ...t, index: m.index, text: m[0] });
  }
  for (const m of text.matchAll(RFC2822)) {
    if (!free(m.index, m[0].length)) continue;
    const t = parseSourceTime(m[0]);
    if (t) add({ ...t, index: m.index, text: m[0] });
  }
  for (const m of text.matchAll(SYSLOG)) {
    if (!free(m.index, m[0].length)) continue;
    const t = syslogTime(m, receivedAt);
    if (t) add({ iso: t, assumedUtc: true, index: m.index, text: m[0] });
  }
  return found.sort((a, b) => a.index - b.index);
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
