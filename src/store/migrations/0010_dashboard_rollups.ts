import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Daily roll-ups for the console dashboard (src/cases/queries/dashboard-rollup.ts reads them), so its figures cost
 * a few hundred narrow rows instead of every report, event, case and state change of the last 30 days.
 *
 * They are kept by statement-level triggers (transition tables: one aggregate upsert per statement, not per
 * row) on the tables they summarise, inside the writing transaction: every writer — the report pipeline, the
 * case transitions, analyst commands, merges and splits, bulk SQL loads — keeps them exact without knowing
 * they exist, and a rolled-back write rolls its roll-up back with it.
 *
 * - `dashboard_event_days`: events per UTC day of `created_at` × classification.
 * - `dashboard_report_days`: reports per UTC day of `received_at` × channel.
 * - `dashboard_case_days`: cases per UTC day of `opened_at` × service (with the refs the case carries):
 *   `opened` counts every case, `unmerged` those with `merged_into` null.
 * - `dashboard_case_weeks`: the same per ISO week (`week`: its Monday, UTC). A window's whole weeks are read
 *   here and only its first few days from `dashboard_case_days`: a busy desk's top services then read about a
 *   fifth of the rows.
 * - `dashboard_case_status`: cases with `merged_into` null, by status.
 * - `dashboard_case_reached`: per case, status reached (`case.state` audit entries' `payload.to`) and UTC
 *   day, the first time it was reached that day, with the case's `opened_at` (which never changes): the
 *   median "time to cure / to suspension" over a window that starts at a UTC midnight is then exact.
 *
 * `slot` is the writing connection's `pg_backend_pid() % 16`: counters are split over slots so writers on
 * different connections seldom touch one row (no waits, no lock-order cycles through the roll-up);
 * readers sum the slots. Slot counters may go negative (a case opened on one connection and merged on
 * another); only the sums mean anything.
 *
 * `reports.received_at`/`channel` and `case_events.created_at`/`classification` are never updated (their
 * table types forbid it), so those two tables need no UPDATE trigger; `setReportOutcome`'s frequent
 * updates then cost nothing here. `cases` keeps its counts through INSERT, UPDATE and DELETE; the audit log
 * is append-only.
 */

const SLOT = sql`(pg_backend_pid() % 16)::smallint`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dashboard_event_days')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('classification', 'text', (c) => c.notNull())
    .addColumn('slot', 'smallint', (c) => c.notNull())
    .addColumn('events', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_event_days_pk', ['day', 'classification', 'slot'])
    .execute();
  await db.schema
    .createTable('dashboard_report_days')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('slot', 'smallint', (c) => c.notNull())
    .addColumn('reports', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_report_days_pk', ['day', 'channel', 'slot'])
    .execute();
  await db.schema
    .createTable('dashboard_case_days')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('service_id', 'integer', (c) => c.notNull())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('slot', 'smallint', (c) => c.notNull())
    .addColumn('opened', 'bigint', (c) => c.notNull())
    .addColumn('unmerged', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_case_days_pk', [
      'day',
      'service_id',
      'service_ref',
      'customer_ref',
      'slot',
    ])
    .execute();
  await db.schema
    .createTable('dashboard_case_weeks')
    .addColumn('week', 'date', (c) => c.notNull())
    .addColumn('service_id', 'integer', (c) => c.notNull())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('slot', 'smallint', (c) => c.notNull())
    .addColumn('opened', 'bigint', (c) => c.notNull())
    .addColumn('unmerged', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_case_weeks_pk', [
      'week',
      'service_id',
      'service_ref',
      'customer_ref',
      'slot',
    ])
    .execute();
  await db.schema
    .createTable('dashboard_case_status')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('slot', 'smallint', (c) => c.notNull())
    .addColumn('cases', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_case_status_pk', ['status', 'slot'])
    .execute();
  await db.schema
    .createTable('dashboard_case_reached')
    .addColumn('case_id', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('first_at', 'timestamptz', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_case_reached_pk', ['case_id', 'status', 'day'])
    .execute();
  await db.schema
    .createIndex('dashboard_case_reached_status_idx')
    .on('dashboard_case_reached')
    .columns(['status', 'day'])
    .execute();

  // case_events → dashboard_event_days; reports → dashboard_report_days.
  for (const counter of DAY_COUNTERS) await createDayCounter(db, counter);

  // cases → dashboard_case_days, dashboard_case_status. One body for the three row operations: the rows
  // a statement adds count +1, the rows it removes -1, and an UPDATE that moves no count (most of them:
  // a state change within one status, an assignment) writes nothing.
  await sql`
    create function dashboard_cases_apply() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${caseDeltaStatement('select 1 as sign, * from dashboard_new')};
      elsif tg_op = 'UPDATE' then
        ${caseDeltaStatement('select 1 as sign, * from dashboard_new union all select -1, * from dashboard_old')};
      elsif tg_op = 'DELETE' then
        ${caseDeltaStatement('select -1 as sign, * from dashboard_old')};
        -- A deleted case takes its state history out of the medians (they join the case).
        delete from dashboard_case_reached where case_id in (select id from dashboard_old);
      else
        delete from dashboard_case_days;
        delete from dashboard_case_weeks;
        delete from dashboard_case_status;
        delete from dashboard_case_reached;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger dashboard_cases_insert after insert on cases
    referencing new table as dashboard_new for each statement execute function dashboard_cases_apply()`.execute(
    db,
  );
  await sql`create trigger dashboard_cases_update after update on cases
    referencing old table as dashboard_old new table as dashboard_new
    for each statement execute function dashboard_cases_apply()`.execute(db);
  await sql`create trigger dashboard_cases_delete after delete on cases
    referencing old table as dashboard_old for each statement execute function dashboard_cases_apply()`.execute(
    db,
  );
  await sql`create trigger dashboard_cases_truncate after truncate on cases
    for each statement execute function dashboard_cases_apply()`.execute(db);

  // audit_log (append-only) → dashboard_case_reached. The subject is parsed only when it has the case
  // subject's exact form, and must equal 'case:' || id, as the dashboard's from-scratch query joins.
  await sql`
    create function dashboard_case_reached_apply() returns trigger language plpgsql as $$
    begin
      insert into dashboard_case_reached as t (case_id, status, day, first_at, opened_at)
      select c.id, n.payload->>'to', (n.at at time zone 'UTC')::date, min(n.at), c.opened_at
      from dashboard_new n
      join cases c on c.id = (case when n.subject ~ '^case:[1-9][0-9]{0,9}$' then substr(n.subject, 6)::bigint end)
      where n.kind = 'case.state' and n.payload->>'to' is not null
      group by 1, 2, 3, 5
      on conflict (case_id, status, day) do update set first_at = least(t.first_at, excluded.first_at);
      return null;
    end $$`.execute(db);
  await sql`create trigger dashboard_case_reached_insert after insert on audit_log
    referencing new table as dashboard_new for each statement execute function dashboard_case_reached_apply()`.execute(
    db,
  );

  // What is already there, in slot 0.
  for (const statement of dashboardBackfill()) await statement.execute(db);
}

/**
 * The two insert-only counters: `rollup` counts rows of `source` per UTC day of `at` × `key` in
 * `count`. Reports and events are never updated in those columns, so INSERT, DELETE and TRUNCATE keep them.
 */
const DAY_COUNTERS = [
  {
    rollup: 'dashboard_event_days',
    source: 'case_events',
    at: 'created_at',
    key: 'classification',
    count: 'events',
  },
  { rollup: 'dashboard_report_days', source: 'reports', at: 'received_at', key: 'channel', count: 'reports' },
] as const;

type DayCounter = (typeof DAY_COUNTERS)[number];

/** The trigger function of one day counter and its three statement triggers. */
async function createDayCounter(db: Kysely<unknown>, c: DayCounter): Promise<void> {
  const name = sql.raw;
  const upsert = (rows: string, sign: string) => sql`
        insert into ${name(c.rollup)} as t (day, ${name(c.key)}, slot, ${name(c.count)})
        select (${name(c.at)} at time zone 'UTC')::date, ${name(c.key)}, ${SLOT}, ${name(sign)}count(*)
        from ${name(rows)} group by 1, 2
        on conflict (day, ${name(c.key)}, slot) do update set ${name(c.count)} = t.${name(c.count)} + excluded.${name(c.count)};`;
  const fn = name(`${c.rollup}_apply`);
  await sql`
    create function ${fn}() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then${upsert('dashboard_new', '')}
      elsif tg_op = 'DELETE' then${upsert('dashboard_old', '-')}
      else
        delete from ${name(c.rollup)};
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger ${name(`${c.rollup}_insert`)} after insert on ${name(c.source)}
    referencing new table as dashboard_new for each statement execute function ${fn}()`.execute(db);
  await sql`create trigger ${name(`${c.rollup}_delete`)} after delete on ${name(c.source)}
    referencing old table as dashboard_old for each statement execute function ${fn}()`.execute(db);
  await sql`create trigger ${name(`${c.rollup}_truncate`)} after truncate on ${name(c.source)}
    for each statement execute function ${fn}()`.execute(db);
}

/**
 * Every roll-up counted from its base tables, into slot 0: how this migration fills them from what is
 * already there, and how `rebuildDashboardRollups` (src/cases/queries/dashboard-rollup.ts) recounts them:
 * one definition for both. The audit subject is parsed only in the case subject's exact form.
 */
export function dashboardBackfill() {
  return [
    sql`insert into dashboard_event_days (day, classification, slot, events)
    select (created_at at time zone 'UTC')::date, classification, 0, count(*) from case_events group by 1, 2`,
    sql`insert into dashboard_report_days (day, channel, slot, reports)
    select (received_at at time zone 'UTC')::date, channel, 0, count(*) from reports group by 1, 2`,
    sql`insert into dashboard_case_days (day, service_id, service_ref, customer_ref, slot, opened, unmerged)
    select (opened_at at time zone 'UTC')::date, service_id, service_ref, customer_ref, 0,
      count(*), count(*) filter (where merged_into is null)
    from cases group by 1, 2, 3, 4`,
    sql`insert into dashboard_case_weeks (week, service_id, service_ref, customer_ref, slot, opened, unmerged)
    select date_trunc('week', opened_at at time zone 'UTC')::date, service_id, service_ref, customer_ref, 0,
      count(*), count(*) filter (where merged_into is null)
    from cases group by 1, 2, 3, 4`,
    sql`insert into dashboard_case_status (status, slot, cases)
    select status, 0, count(*) from cases where merged_into is null group by 1`,
    sql`insert into dashboard_case_reached (case_id, status, day, first_at, opened_at)
    select c.id, a.payload->>'to', (a.at at time zone 'UTC')::date, min(a.at), c.opened_at
    from audit_log a
    join cases c on c.id = (case when a.subject ~ '^case:[1-9][0-9]{0,9}$' then substr(a.subject, 6)::bigint end)
    where a.kind = 'case.state' and a.payload->>'to' is not null
    group by 1, 2, 3, 5`,
  ];
}

/**
 * One statement applying a cases statement's rows (`rows`: `sign` +1 for rows it added, -1 for rows it
 * removed, then the case columns) to both case roll-ups; groups whose counts do not move write nothing.
 */
function caseDeltaStatement(rows: string) {
  return sql.raw(`with delta as (${rows}),
    days as (
      insert into dashboard_case_days as t (day, service_id, service_ref, customer_ref, slot, opened, unmerged)
      select (opened_at at time zone 'UTC')::date, service_id, service_ref, customer_ref, (pg_backend_pid() % 16)::smallint,
        sum(sign), coalesce(sum(sign) filter (where merged_into is null), 0)
      from delta group by 1, 2, 3, 4
      having sum(sign) <> 0 or coalesce(sum(sign) filter (where merged_into is null), 0) <> 0
      on conflict (day, service_id, service_ref, customer_ref, slot) do update
        set opened = t.opened + excluded.opened, unmerged = t.unmerged + excluded.unmerged
      returning 1),
    weeks as (
      insert into dashboard_case_weeks as t (week, service_id, service_ref, customer_ref, slot, opened, unmerged)
      select date_trunc('week', opened_at at time zone 'UTC')::date, service_id, service_ref, customer_ref,
        (pg_backend_pid() % 16)::smallint, sum(sign), coalesce(sum(sign) filter (where merged_into is null), 0)
      from delta group by 1, 2, 3, 4
      having sum(sign) <> 0 or coalesce(sum(sign) filter (where merged_into is null), 0) <> 0
      on conflict (week, service_id, service_ref, customer_ref, slot) do update
        set opened = t.opened + excluded.opened, unmerged = t.unmerged + excluded.unmerged
      returning 1)
    insert into dashboard_case_status as t (status, slot, cases)
    select status, (pg_backend_pid() % 16)::smallint, sum(sign)
    from delta where merged_into is null group by 1
    having sum(sign) <> 0
    on conflict (status, slot) do update set cases = t.cases + excluded.cases`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists dashboard_case_reached_insert on audit_log`.execute(db);
  for (const op of ['insert', 'update', 'delete', 'truncate']) {
    await sql`drop trigger if exists ${sql.raw(`dashboard_cases_${op}`)} on cases`.execute(db);
  }
  for (const op of ['insert', 'delete', 'truncate']) {
    await sql`drop trigger if exists ${sql.raw(`dashboard_report_days_${op}`)} on reports`.execute(db);
    await sql`drop trigger if exists ${sql.raw(`dashboard_event_days_${op}`)} on case_events`.execute(db);
  }
  for (const fn of [
    'dashboard_case_reached_apply',
    'dashboard_cases_apply',
    'dashboard_report_days_apply',
    'dashboard_event_days_apply',
  ]) {
    await sql`drop function if exists ${sql.raw(fn)}()`.execute(db);
  }
  for (const table of [
    'dashboard_case_reached',
    'dashboard_case_status',
    'dashboard_case_weeks',
    'dashboard_case_days',
    'dashboard_report_days',
    'dashboard_event_days',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
