/**
 * Times as reports write them → UTC ISO 8601 (`2026-01-15T12:00:00.000Z`), the only form events carry.
 *
 * Accepted: ISO 8601 / RFC 3339 (`T` or space, with or without fraction), RFC 5322 mail dates (`Thu, 8 Mar
 * 2005 14:00:00 -0500`, obsolete zone names such as `EDT`, `GMT`, `UT`), and Unix epoch seconds. A time with an
 * offset is converted to UTC; a time with no zone at all is taken as UTC and flagged `assumedUtc` so the event
 * can record `extra.assumed_utc: true` (documented in docs/formats.md). Anything else is `undefined`: the
 * caller reports it with its location rather than guessing.
 */
export interface SourceTime {
  readonly iso: string;
  /** The input named no zone; UTC was assumed. */
  readonly assumedUtc: boolean;
}

const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
const EPOCH = /^\d{9,10}(?:\.\d+)?$/;
/** A zone at the end of an RFC 5322 date: numeric offset or one of the obsolete names Date.parse knows. */
const MAIL_ZONE = /(?:[+-]\d{4}|\b(?:UT|UTC|GMT|Z|[ECMP][SD]T))\s*(?:\([^)]*\))?\s*$/i;
const MAIL_DATE = /^(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}/;

export function parseSourceTime(value: string | number | undefined | null): SourceTime | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return fromEpoch(value);
  const text = value.trim();
  if (text === '') return undefined;

  const iso = ISO_LIKE.exec(text);
  if (iso) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = iso;
    const ms = Number(frac.padEnd(3, '0').slice(0, 3));
    const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
    if (!validParts(Number(mo), Number(d), Number(h), Number(mi), Number(s), base)) return undefined;
    if (zone === undefined) return { iso: new Date(base).toISOString(), assumedUtc: true };
    return { iso: new Date(base - offsetMinutes(zone) * 60_000).toISOString(), assumedUtc: false };
  }
  if (EPOCH.test(text)) return fromEpoch(Number(text));

  if (MAIL_DATE.test(text)) {
    // Comments such as `(EDT)` after an offset are legal in RFC 5322 and confuse Date.parse.
    const cleaned = text
      .replace(/\([^)]*\)/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    const hasZone = MAIL_ZONE.test(cleaned);
    const ms = Date.parse(hasZone ? cleaned : `${cleaned} +0000`);
    if (Number.isNaN(ms)) return undefined;
    return { iso: new Date(ms).toISOString(), assumedUtc: !hasZone };
  }
  return undefined;
}

function fromEpoch(seconds: number): SourceTime | undefined {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 32503680000) return undefined;
  return { iso: new Date(Math.round(seconds * 1000)).toISOString(), assumedUtc: false };
}

function offsetMinutes(zone: string): number {
  const z = zone.toUpperCase();
  if (z === 'Z' || z === 'UTC' || z === 'GMT') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(z);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? '0');
  return m[1] === '-' ? -minutes : minutes;
}

function validParts(mo: number, d: number, h: number, mi: number, s: number, ms: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  // Rejects 2026-02-31 (Date.UTC would roll it into March).
  return new Date(ms).getUTCDate() === d;
}
