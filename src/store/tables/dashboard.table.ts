import type { ColumnType } from 'kysely';

/**
 * The console dashboard's daily roll-ups (migration 0010_dashboard_rollups). Triggers on `case_events`,
 * `reports`, `cases` and `audit_log` write them; the application only reads them
 * (src/cases/queries/dashboard-rollup.ts). Counters are split over `slot`s (the writing connection); sum the slots.
 * `date` columns are read with `to_char` (never as JS dates, whose time zone would shift the day) and
 * `bigint` counters come back as strings from node-postgres, numbers from PGlite.
 */
type ReadOnly<T> = ColumnType<T, never, never>;
type Count = ReadOnly<string | number>;

export interface DashboardEventDayTable {
  day: ReadOnly<string>;
  classification: ReadOnly<string>;
  slot: ReadOnly<number>;
  events: Count;
}

export interface DashboardReportDayTable {
  day: ReadOnly<string>;
  channel: ReadOnly<string>;
  slot: ReadOnly<number>;
  reports: Count;
}

/** Cases by UTC day of `opened_at` and service: `opened` all of them, `unmerged` those not merged away. */
export interface DashboardCaseDayTable {
  day: ReadOnly<string>;
  service_id: ReadOnly<number>;
  service_ref: ReadOnly<string>;
  customer_ref: ReadOnly<string>;
  slot: ReadOnly<number>;
  opened: Count;
  unmerged: Count;
}

/** `dashboard_case_days` per ISO week; `week` is the week's Monday (UTC). */
export interface DashboardCaseWeekTable {
  week: ReadOnly<string>;
  service_id: ReadOnly<number>;
  service_ref: ReadOnly<string>;
  customer_ref: ReadOnly<string>;
  slot: ReadOnly<number>;
  opened: Count;
  unmerged: Count;
}

/** Cases not merged away, by status. */
export interface DashboardCaseStatusTable {
  status: ReadOnly<string>;
  slot: ReadOnly<number>;
  cases: Count;
}

/** The first time on each UTC day a case reached a status (a `case.state` audit entry's `to`). */
export interface DashboardCaseReachedTable {
  case_id: ReadOnly<number>;
  status: ReadOnly<string>;
  day: ReadOnly<string>;
  first_at: ReadOnly<Date>;
  opened_at: ReadOnly<Date>;
}
