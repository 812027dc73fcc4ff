import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import {
  type DashboardFigures,
  type FigureQuery,
  rollupFigures,
  scratchFigures,
} from './dashboard-rollup.js';

/**
 * The console dashboard's aggregates, each over a bounded window (default the last 30 days, from a UTC
 * midnight) so the page's cost does not grow with the age of the desk: events per day by classification,
 * reports per day by channel, open cases by state, median time from opening to cure and to suspension (from
 * the audit log's `case.state` entries, the record of when each case reached a state), and the services
 * with most cases. They are read from daily roll-ups kept by the writing transactions
 * (src/cases/queries/dashboard-rollup.ts, migration 0010), not recomputed from every row of the window.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface DailySeries {
  /** `YYYY-MM-DD` (UTC), every day of the window, oldest first. */
  readonly days: string[];
  /** One series per key (classification, channel), aligned with `days`. */
  readonly series: Array<{ key: string; counts: number[] }>;
}

export interface DashboardData {
  readonly since: Date;
  readonly until: Date;
  readonly eventsByClassification: DailySeries;
  readonly reportsByChannel: DailySeries;
  readonly openByStatus: Array<{ status: string; count: number }>;
  readonly medianHoursToCure: number | null;
  readonly medianHoursToSuspension: number | null;
  readonly curedCount: number;
  readonly suspendedCount: number;
  readonly topServices: Array<{ serviceRef: string; customerRef: string; serviceId: number; cases: number }>;
  readonly totals: { readonly reports: number; readonly events: number; readonly casesOpened: number };
}

const OPEN_STATUSES = [
  'open',
  'notified',
  'awaiting-cure',
  'customer-responded',
  'escalated',
  'suspended',
  'on-hold',
] as const;

/**
 * The dashboard's figures from the daily roll-ups (src/cases/queries/dashboard-rollup.ts), which the writing
 * transactions keep exact: the page's cost no longer grows with the number of cases in the window.
 */
export async function dashboardData(db: Db, now: Date, days = 30, topN = 10): Promise<DashboardData> {
  return assemble(now, days, (query) => rollupFigures(db, query), topN);
}

/**
 * The same figures computed from the base tables (every report, event, case and state change in the
 * window): the definition `dashboardData` must equal. Slow at scale; for tests and checks.
 */
export async function dashboardDataFromScratch(
  db: Db,
  now: Date,
  days = 30,
  topN = 10,
): Promise<DashboardData> {
  return assemble(now, days, (query) => scratchFigures(db, query), topN);
}

async function assemble(
  now: Date,
  days: number,
  figuresOf: (query: FigureQuery) => Promise<DashboardFigures>,
  topN: number,
): Promise<DashboardData> {
  const until = now;
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const dayList: string[] = [];
  for (let i = 0; i < days; i++)
    dayList.push(new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10));

  const f = await figuresOf({ since, topN, statuses: OPEN_STATUSES });
  const order = new Map(OPEN_STATUSES.map((s, i) => [s as string, i]));
  return {
    since,
    until,
    eventsByClassification: daily(dayList, f.events),
    reportsByChannel: daily(dayList, f.reports),
    openByStatus: f.byStatus
      .map((r) => ({ status: r.status, count: r.n }))
      .sort((a, b) => (order.get(a.status) ?? 99) - (order.get(b.status) ?? 99)),
    medianHoursToCure: f.cure.median,
    medianHoursToSuspension: f.suspension.median,
    curedCount: f.cure.count,
    suspendedCount: f.suspension.count,
    topServices: f.topServices.map((r) => ({
      serviceRef: r.serviceRef,
      customerRef: r.customerRef,
      serviceId: r.serviceId,
      cases: r.n,
    })),
    totals: {
      reports: f.reports.reduce((sum, r) => sum + r.n, 0),
      events: f.events.reduce((sum, r) => sum + r.n, 0),
      casesOpened: f.casesOpened,
    },
  };
}

function daily(days: string[], rows: Array<{ day: string; key: string; n: number }>): DailySeries {
  const index = new Map(days.map((d, i) => [d, i]));
  const byKey = new Map<string, number[]>();
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    let counts = byKey.get(r.key);
    if (!counts) {
      counts = new Array<number>(days.length).fill(0);
      byKey.set(r.key, counts);
    }
    counts[i] = (counts[i] ?? 0) + r.n;
  }
  const series = [...byKey.entries()]
    .map(([key, counts]) => ({ key, counts }))
    .sort((a, b) => sum(b.counts) - sum(a.counts) || a.key.localeCompare(b.key));
  return { days, series };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
