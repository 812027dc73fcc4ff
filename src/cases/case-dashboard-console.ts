import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * The console dashboard's aggregates, each over a bounded window (default the last 30 days) so the page's
 * cost does not grow with the age of the desk: events per day by classification, reports per day by
 * channel, open cases by state, median time from opening to cure and to suspension (from the audit log's
 * `case.state` entries, the record of when each case reached a state), and the services with most cases.
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

export async function dashboardData(db: Db, now: Date, days = 30, topN = 10): Promise<DashboardData> {
  const until = now;
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const dayList: string[] = [];
  for (let i = 0; i < days; i++)
    dayList.push(new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10));

  const [events, reports, open, cure, suspension, top, opened] = await Promise.all([
    db
      .selectFrom('case_events')
      .select([
        sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'),
        'classification',
        (eb) => eb.fn.countAll<string | number>().as('n'),
      ])
      .where('created_at', '>=', since)
      .groupBy([sql`1`, 'classification'])
      .execute(),
    db
      .selectFrom('reports')
      .select([
        sql<string>`to_char(received_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'),
        'channel',
        (eb) => eb.fn.countAll<string | number>().as('n'),
      ])
      .where('received_at', '>=', since)
      .groupBy([sql`1`, 'channel'])
      .execute(),
    db
      .selectFrom('cases')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('merged_into', 'is', null)
      .where('status', 'in', [...OPEN_STATUSES])
      .groupBy('status')
      .execute(),
    medianHoursTo(db, 'cured', since),
    medianHoursTo(db, 'suspended', since),
    db
      .selectFrom('cases')
      .select([
        'service_id',
        'service_ref',
        'customer_ref',
        (eb) => eb.fn.countAll<string | number>().as('n'),
      ])
      .where('opened_at', '>=', since)
      .where('merged_into', 'is', null)
      .groupBy(['service_id', 'service_ref', 'customer_ref'])
      .orderBy(sql`count(*)`, 'desc')
      .orderBy('service_ref')
      .limit(topN)
      .execute(),
    db
      .selectFrom('cases')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('opened_at', '>=', since)
      .executeTakeFirst(),
  ]);

  const order = new Map(OPEN_STATUSES.map((s, i) => [s as string, i]));
  return {
    since,
    until,
    eventsByClassification: daily(
      dayList,
      events.map((r) => ({ day: r.day, key: r.classification, n: Number(r.n) })),
    ),
    reportsByChannel: daily(
      dayList,
      reports.map((r) => ({ day: r.day, key: r.channel, n: Number(r.n) })),
    ),
    openByStatus: open
      .map((r) => ({ status: r.status, count: Number(r.n) }))
      .sort((a, b) => (order.get(a.status) ?? 99) - (order.get(b.status) ?? 99)),
    medianHoursToCure: cure.median,
    medianHoursToSuspension: suspension.median,
    curedCount: cure.count,
    suspendedCount: suspension.count,
    topServices: top.map((r) => ({
      serviceRef: r.service_ref,
      customerRef: r.customer_ref,
      serviceId: r.service_id,
      cases: Number(r.n),
    })),
    totals: {
      reports: reports.reduce((sum, r) => sum + Number(r.n), 0),
      events: events.reduce((sum, r) => sum + Number(r.n), 0),
      casesOpened: Number(opened?.n ?? 0),
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

/**
 * Median hours from a case's opening to the first time it reached `status`, over cases that reached it in
 * the window. The audit log's `case.state` entries name the state reached (`payload.to`); the kind index
 * narrows the scan to state changes.
 */
async function medianHoursTo(
  db: Db,
  status: string,
  since: Date,
): Promise<{ median: number | null; count: number }> {
  const row = await sql<{ median: number | string | null; n: number | string }>`
    select percentile_cont(0.5) within group (order by extract(epoch from (reached - c.opened_at)) / 3600.0) as median,
           count(*) as n
    from (
      select subject, min(at) as reached
      from audit_log
      where kind = 'case.state' and payload->>'to' = ${status} and at >= ${since}
      group by subject
    ) r
    join cases c on r.subject = 'case:' || c.id::text
  `.execute(db);
  const first = row.rows[0];
  return {
    median: first?.median === null || first?.median === undefined ? null : Number(first.median),
    count: Number(first?.n ?? 0),
  };
}
