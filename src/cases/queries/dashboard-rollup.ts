import { type Kysely, sql, type Transaction } from 'kysely';
import { dashboardBackfill } from '../../store/migrations/0010_dashboard_rollups.js';
import type { Database } from '../../store/schema.js';

/**
 * The dashboard's figures two ways, with one result shape:
 *
 * - `rollupFigures` reads the daily roll-ups (migration 0010_dashboard_rollups), which triggers keep in the
 *   transactions that write reports, events, cases and audit entries: a few hundred narrow rows for 30 days,
 *   whatever the number of cases, so the dashboard needs no cache to stay fast.
 * - `scratchFigures` computes the same from the base tables (every report, event, case and state change in
 *   the window): the definition the roll-ups must equal, used by the tests and by `dashboardRollupDrift`.
 *
 * Both take `since` at a UTC midnight, which is what lets day buckets answer `>= since` exactly.
 * `rebuildDashboardRollups` recomputes the roll-ups from the base tables (after a load with triggers off,
 * or if `dashboardRollupDrift` ever finds a difference).
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface DayCount {
  readonly day: string;
  readonly key: string;
  readonly n: number;
}

export interface DashboardFigures {
  /** Events per UTC day (`YYYY-MM-DD`) of `created_at` × classification, days from `since` on. */
  readonly events: DayCount[];
  /** Reports per UTC day of `received_at` × channel. */
  readonly reports: DayCount[];
  /** Cases not merged away, by status (only the statuses asked for; none with zero). */
  readonly byStatus: Array<{ status: string; n: number }>;
  readonly cure: MedianHours;
  readonly suspension: MedianHours;
  /** Services with most unmerged cases opened since `since`, most first, then by service ref. */
  readonly topServices: Array<{ serviceId: number; serviceRef: string; customerRef: string; n: number }>;
  /** Cases opened since `since`, merged or not. */
  readonly casesOpened: number;
}

export interface MedianHours {
  /** Median hours from opening to the first time in the window the case reached the status. */
  readonly median: number | null;
  readonly count: number;
}

export interface FigureQuery {
  /** A UTC midnight. */
  readonly since: Date;
  readonly topN: number;
  readonly statuses: readonly string[];
}

function utcDay(at: Date): string {
  if (at.getTime() % 86_400_000 !== 0) {
    // A programming error, not input: day buckets cannot answer a window starting mid-day.
    throw new RangeError(`dashboard window must start at a UTC midnight, got ${at.toISOString()}`);
  }
  return at.toISOString().slice(0, 10);
}

const n = (v: string | number | bigint | null | undefined): number => Number(v ?? 0);

export async function rollupFigures(db: Db, q: FigureQuery): Promise<DashboardFigures> {
  const day = utcDay(q.since);
  // One round trip per figure; PGlite runs them one after another on its single connection anyway.
  const events = await db
    .selectFrom('dashboard_event_days')
    .select([
      sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'),
      'classification as key',
      sql<string>`sum(events)`.as('n'),
    ])
    .where(sql<boolean>`day >= ${day}::date`)
    .groupBy(['day', 'classification'])
    .having(sql<boolean>`sum(events) <> 0`)
    .execute();
  const reports = await db
    .selectFrom('dashboard_report_days')
    .select([
      sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'),
      'channel as key',
      sql<string>`sum(reports)`.as('n'),
    ])
    .where(sql<boolean>`day >= ${day}::date`)
    .groupBy(['day', 'channel'])
    .having(sql<boolean>`sum(reports) <> 0`)
    .execute();
  const byStatus =
    q.statuses.length === 0
      ? []
      : await db
          .selectFrom('dashboard_case_status')
          .select(['status', sql<string>`sum(cases)`.as('n')])
          .where('status', 'in', [...q.statuses])
          .groupBy('status')
          .having(sql<boolean>`sum(cases) <> 0`)
          .execute();
  const cure = await rollupMedian(db, 'cured', day);
  const suspension = await rollupMedian(db, 'suspended', day);
  // Every service of the window with its counts, ordered as the page lists them; the total is taken over
  // all of them before the limit, and services whose cases were all merged away (sorting last) dropped.
  // The window's whole ISO weeks come from the weekly roll-up, the days before its first Monday from the
  // daily one.
  const firstMonday = mondayOnOrAfter(q.since);
  const services = await sql<{
    service_id: number;
    service_ref: string;
    customer_ref: string;
    unmerged: string | number;
    total: string | number;
  }>`
    select service_id, service_ref, customer_ref, sum(unmerged) as unmerged, sum(sum(opened)) over () as total
    from (
      select service_id, service_ref, customer_ref, unmerged, opened from dashboard_case_days
      where day >= ${day}::date and day < ${firstMonday}::date
      union all
      select service_id, service_ref, customer_ref, unmerged, opened from dashboard_case_weeks
      where week >= ${firstMonday}::date
    ) w
    group by service_id, service_ref, customer_ref
    order by sum(unmerged) desc, service_ref
    limit ${Math.max(1, q.topN)}
  `.execute(db);
  const total = services.rows[0]?.total;
  const casesOpened =
    total !== undefined
      ? n(total)
      : // No service row in the window at all: nothing was opened.
        0;
  return {
    events: events.map((r) => ({ day: r.day, key: r.key, n: n(r.n) })),
    reports: reports.map((r) => ({ day: r.day, key: r.key, n: n(r.n) })),
    byStatus: byStatus.map((r) => ({ status: r.status, n: n(r.n) })),
    cure,
    suspension,
    topServices: services.rows
      .filter((r) => n(r.unmerged) > 0)
      .slice(0, q.topN)
      .map((r) => ({
        serviceId: r.service_id,
        serviceRef: r.service_ref,
        customerRef: r.customer_ref,
        n: n(r.unmerged),
      })),
    casesOpened,
  };
}

/** `YYYY-MM-DD` of the first Monday (UTC) on or after `at`, a UTC midnight. */
function mondayOnOrAfter(at: Date): string {
  const ahead = (8 - at.getUTCDay()) % 7; // Sunday 0 → 1 day, Monday 1 → 0, Tuesday 2 → 6 …
  return new Date(at.getTime() + ahead * 86_400_000).toISOString().slice(0, 10);
}

async function rollupMedian(db: Db, status: string, day: string): Promise<MedianHours> {
  const row = await sql<{ median: number | string | null; n: number | string }>`
    select percentile_cont(0.5) within group (order by extract(epoch from (reached - opened_at)) / 3600.0) as median,
           count(*) as n
    from (
      select case_id, min(first_at) as reached, min(opened_at) as opened_at
      from dashboard_case_reached
      where status = ${status} and day >= ${day}::date
      group by case_id
    ) r
  `.execute(db);
  return medianOf(row.rows[0]);
}

function medianOf(row: { median: number | string | null; n: number | string } | undefined): MedianHours {
  return {
    median: row?.median === null || row?.median === undefined ? null : Number(row.median),
    count: n(row?.n),
  };
}

/** The same figures from the base tables: the definition of the roll-ups (and the dashboard before them). */
export async function scratchFigures(db: Db, q: FigureQuery): Promise<DashboardFigures> {
  const { since } = q;
  utcDay(since);
  const events = await db
    .selectFrom('case_events')
    .select([
      sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'),
      'classification as key',
      (eb) => eb.fn.countAll<string | number>().as('n'),
    ])
    .where('created_at', '>=', since)
    .groupBy([sql`1`, 'classification'])
    .execute();
  const reports = await db
    .selectFrom('reports')
    .select([
      sql<string>`to_char(received_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'),
      'channel as key',
      (eb) => eb.fn.countAll<string | number>().as('n'),
    ])
    .where('received_at', '>=', since)
    .groupBy([sql`1`, 'channel'])
    .execute();
  const byStatus =
    q.statuses.length === 0
      ? []
      : await db
          .selectFrom('cases')
          .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
          .where('merged_into', 'is', null)
          .where('status', 'in', [...q.statuses])
          .groupBy('status')
          .execute();
  const cure = await scratchMedian(db, 'cured', since);
  const suspension = await scratchMedian(db, 'suspended', since);
  const top = await db
    .selectFrom('cases')
    .select(['service_id', 'service_ref', 'customer_ref', (eb) => eb.fn.countAll<string | number>().as('n')])
    .where('opened_at', '>=', since)
    .where('merged_into', 'is', null)
    .groupBy(['service_id', 'service_ref', 'customer_ref'])
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('service_ref')
    .limit(q.topN)
    .execute();
  const opened = await db
    .selectFrom('cases')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('opened_at', '>=', since)
    .executeTakeFirst();
  return {
    events: events.map((r) => ({ day: r.day, key: r.key, n: n(r.n) })),
    reports: reports.map((r) => ({ day: r.day, key: r.key, n: n(r.n) })),
    byStatus: byStatus.map((r) => ({ status: r.status, n: n(r.n) })),
    cure,
    suspension,
    topServices: top.map((r) => ({
      serviceId: r.service_id,
      serviceRef: r.service_ref,
      customerRef: r.customer_ref,
      n: n(r.n),
    })),
    casesOpened: n(opened?.n),
  };
}

/**
 * Median hours from a case's opening to the first time it reached `status` in the window, from the audit
 * log's `case.state` entries (`payload.to` names the state reached).
 */
async function scratchMedian(db: Db, status: string, since: Date): Promise<MedianHours> {
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
  return medianOf(row.rows[0]);
}

/**
 * The roll-up rows (summed over slots) that differ from a recomputation from the base tables, one line
 * each (`table key: rollup N, base M`); empty when the roll-ups are exact. Reads every base row: an
 * operator's check, not a page's query.
 */
export async function dashboardRollupDrift(db: Db): Promise<string[]> {
  const checks: Array<{ table: string; query: ReturnType<typeof sql<{ k: string; r: string; b: string }>> }> =
    [
      {
        table: 'dashboard_event_days',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, 0)::text as r, coalesce(b.n, 0)::text as b
        from (select to_char(day, 'YYYY-MM-DD') || ' ' || classification as k, sum(events) as n
              from dashboard_event_days group by day, classification having sum(events) <> 0) r
        full join (select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') || ' ' || classification as k, count(*) as n
              from case_events group by 1) b on r.k = b.k
        where r.n is distinct from b.n`,
      },
      {
        table: 'dashboard_report_days',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, 0)::text as r, coalesce(b.n, 0)::text as b
        from (select to_char(day, 'YYYY-MM-DD') || ' ' || channel as k, sum(reports) as n
              from dashboard_report_days group by day, channel having sum(reports) <> 0) r
        full join (select to_char(received_at at time zone 'UTC', 'YYYY-MM-DD') || ' ' || channel as k, count(*) as n
              from reports group by 1) b on r.k = b.k
        where r.n is distinct from b.n`,
      },
      {
        table: 'dashboard_case_days',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, '0 0') as r, coalesce(b.n, '0 0') as b
        from (select concat_ws(' ', to_char(day, 'YYYY-MM-DD'), service_id, service_ref, customer_ref) as k,
                sum(opened) || ' ' || sum(unmerged) as n
              from dashboard_case_days group by day, service_id, service_ref, customer_ref
              having sum(opened) <> 0 or sum(unmerged) <> 0) r
        full join (select concat_ws(' ', to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD'), service_id, service_ref, customer_ref) as k,
                count(*) || ' ' || count(*) filter (where merged_into is null) as n
              from cases group by 1) b on r.k = b.k
        where r.n is distinct from b.n`,
      },
      {
        table: 'dashboard_case_weeks',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, '0 0') as r, coalesce(b.n, '0 0') as b
        from (select concat_ws(' ', to_char(week, 'YYYY-MM-DD'), service_id, service_ref, customer_ref) as k,
                sum(opened) || ' ' || sum(unmerged) as n
              from dashboard_case_weeks group by week, service_id, service_ref, customer_ref
              having sum(opened) <> 0 or sum(unmerged) <> 0) r
        full join (select concat_ws(' ', to_char(date_trunc('week', opened_at at time zone 'UTC'), 'YYYY-MM-DD'), service_id, service_ref, customer_ref) as k,
                count(*) || ' ' || count(*) filter (where merged_into is null) as n
              from cases group by 1) b on r.k = b.k
        where r.n is distinct from b.n`,
      },
      {
        table: 'dashboard_case_status',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, 0)::text as r, coalesce(b.n, 0)::text as b
        from (select status as k, sum(cases) as n from dashboard_case_status group by status having sum(cases) <> 0) r
        full join (select status as k, count(*) as n from cases where merged_into is null group by 1) b on r.k = b.k
        where r.n is distinct from b.n`,
      },
      {
        table: 'dashboard_case_reached',
        query: sql`
        select coalesce(r.k, b.k) as k, coalesce(r.n, '-') as r, coalesce(b.n, '-') as b
        from (select concat_ws(' ', case_id, status, to_char(day, 'YYYY-MM-DD')) as k,
                to_char(first_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || ' ' ||
                to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as n
              from dashboard_case_reached) r
        full join (select concat_ws(' ', c.id, a.payload->>'to', to_char(a.at at time zone 'UTC', 'YYYY-MM-DD')) as k,
                to_char(min(a.at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || ' ' ||
                to_char(c.opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as n
              from audit_log a join cases c on a.subject = 'case:' || c.id::text
              where a.kind = 'case.state' and a.payload->>'to' is not null
              group by c.id, a.payload->>'to', to_char(a.at at time zone 'UTC', 'YYYY-MM-DD'), c.opened_at) b
          on r.k = b.k
        where r.n is distinct from b.n`,
      },
    ];
  const out: string[] = [];
  for (const check of checks) {
    const rows = await check.query.execute(db);
    for (const row of rows.rows) out.push(`${check.table} ${row.k}: rollup ${row.r}, base ${row.b}`);
  }
  return out;
}

/**
 * Recomputes every roll-up from the base tables (into slot 0), in the caller's transaction. Locks the
 * roll-ups first so no writer adds to a row between the delete and the recount.
 */
export async function rebuildDashboardRollups(trx: Transaction<Database>): Promise<void> {
  await sql`lock table dashboard_event_days, dashboard_report_days, dashboard_case_days, dashboard_case_weeks,
    dashboard_case_status, dashboard_case_reached in exclusive mode`.execute(trx);
  await sql`lock table case_events, reports, cases, audit_log in share mode`.execute(trx);
  for (const table of [
    'dashboard_event_days',
    'dashboard_report_days',
    'dashboard_case_days',
    'dashboard_case_weeks',
    'dashboard_case_status',
    'dashboard_case_reached',
  ] as const) {
    await trx.deleteFrom(table).execute();
  }
  // The same counts the migration filled the roll-ups with: one definition (0010_dashboard_rollups.ts).
  for (const statement of dashboardBackfill()) await statement.execute(trx);
}
