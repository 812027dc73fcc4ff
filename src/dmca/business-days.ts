/**
 * US federal business days, for the counter-notice clock of 17 U.S.C. 512(g)(2)(C): the material is put
 * back "not less than 10, nor more than 14, business days following receipt of the counter notice".
 *
 * Business days are Monday–Friday that are not a federal holiday (5 U.S.C. 6103). Holidays are computed by
 * rule for any year, never listed: fixed dates (New Year's Day, Juneteenth from 2021, Independence Day,
 * Veterans Day, Christmas) move to the observed day when they fall on a weekend (Saturday → the Friday
 * before, Sunday → the Monday after); the Monday holidays are the nth (or last) Monday of their month;
 * Thanksgiving is the fourth Thursday of November. Counting starts the day after receipt: the receipt day
 * itself is never business day 1.
 *
 * Dates here are calendar dates (`YYYY-MM-DD`) handled as UTC midnights, so no local time zone leaks in.
 */

const DAY = 86_400_000;

/** A calendar date as `YYYY-MM-DD`. */
export type CalendarDate = string;

function ymd(year: number, month: number, day: number): CalendarDate {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

function nthWeekday(year: number, month: number, weekday: number, n: number): CalendarDate {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return ymd(year, month, 1 + ((weekday - first + 7) % 7) + (n - 1) * 7);
}

function lastWeekday(year: number, month: number, weekday: number): CalendarDate {
  const lastDay = new Date(Date.UTC(year, month, 0));
  const back = (lastDay.getUTCDay() - weekday + 7) % 7;
  return ymd(year, month, lastDay.getUTCDate() - back);
}

function observed(date: CalendarDate): CalendarDate {
  const d = new Date(`${date}T00:00:00Z`);
  const dow = d.getUTCDay();
  if (dow === 6) return new Date(d.getTime() - DAY).toISOString().slice(0, 10);
  if (dow === 0) return new Date(d.getTime() + DAY).toISOString().slice(0, 10);
  return date;
}

export interface FederalHoliday {
  readonly name: string;
  /** The day it falls on by its rule. */
  readonly date: CalendarDate;
  /** The day federal offices close for it (differs from `date` for fixed holidays on a weekend). */
  readonly observed: CalendarDate;
}

/** The federal holidays of `year` by rule. */
export function federalHolidays(year: number): FederalHoliday[] {
  const fixed = (name: string, month: number, day: number): FederalHoliday => {
    const date = ymd(year, month, day);
    return { name, date, observed: observed(date) };
  };
  const moving = (name: string, date: CalendarDate): FederalHoliday => ({ name, date, observed: date });
  return [
    fixed("New Year's Day", 1, 1),
    moving('Birthday of Martin Luther King, Jr.', nthWeekday(year, 1, 1, 3)),
    moving("Washington's Birthday", nthWeekday(year, 2, 1, 3)),
    moving('Memorial Day', lastWeekday(year, 5, 1)),
    // Juneteenth National Independence Day Act, 17 June 2021.
    ...(year >= 2021 ? [fixed('Juneteenth National Independence Day', 6, 19)] : []),
    fixed('Independence Day', 7, 4),
    moving('Labor Day', nthWeekday(year, 9, 1, 1)),
    moving('Columbus Day', nthWeekday(year, 10, 1, 2)),
    fixed('Veterans Day', 11, 11),
    moving('Thanksgiving Day', nthWeekday(year, 11, 4, 4)),
    fixed('Christmas Day', 12, 25),
  ];
}

const holidayCache = new Map<number, Set<CalendarDate>>();

/** Observed closures that fall in `year` (New Year's Day of the next year can be observed on 31 December). */
function closures(year: number): Set<CalendarDate> {
  let set = holidayCache.get(year);
  if (!set) {
    set = new Set(
      [...federalHolidays(year), ...federalHolidays(year + 1)]
        .map((h) => h.observed)
        .filter((d) => d.startsWith(`${year}-`)),
    );
    holidayCache.set(year, set);
  }
  return set;
}

export function isFederalHoliday(date: CalendarDate): boolean {
  return closures(Number(date.slice(0, 4))).has(date);
}

export function isBusinessDay(date: CalendarDate): boolean {
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  return dow !== 0 && dow !== 6 && !isFederalHoliday(date);
}

/** The `n`th business day after `date` (n ≥ 1; `date` itself is not counted). */
export function addBusinessDays(date: CalendarDate, n: number): CalendarDate {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`business days must be a positive integer, got ${n}`);
  let t = new Date(`${date}T00:00:00Z`).getTime();
  let counted = 0;
  while (counted < n) {
    t += DAY;
    if (isBusinessDay(new Date(t).toISOString().slice(0, 10))) counted += 1;
  }
  return new Date(t).toISOString().slice(0, 10);
}

const ISO_DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * The calendar date of receipt, as the timestamp itself states it: `2026-12-24T23:30:00-05:00` was received
 * on 24 December where it was received, though it is the 25th in UTC. A date alone is taken as given.
 */
export function receiptDate(iso: string): CalendarDate {
  const m = ISO_DATE_TIME.exec(iso.trim());
  if (!m || Number.isNaN(Date.parse(m[1]!))) {
    throw new RangeError(`expected an ISO 8601 date or date-time such as 2026-12-07T15:04:00Z, got "${iso}"`);
  }
  return m[1]!;
}

/** The calendar date of an instant in an IANA time zone (the desk's DMCA agent's, US Eastern by default). */
export function dateInZone(at: Date, timeZone = 'America/New_York'): CalendarDate {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
  return parts;
}

export interface RestoreWindow {
  /** The earliest day the material may be restored (business day `min` after receipt). */
  readonly earliest: CalendarDate;
  /** The last day it must be restored by (business day `max`). */
  readonly latest: CalendarDate;
}

export function restoreWindow(
  received: CalendarDate,
  days: { min: number; max: number } = { min: 10, max: 14 },
): RestoreWindow {
  return { earliest: addBusinessDays(received, days.min), latest: addBusinessDays(received, days.max) };
}
