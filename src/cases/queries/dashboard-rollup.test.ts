import { sql, type Transaction } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { openDesk, PageClient } from '../../../test/server/console/console-support.js';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { appendAudit } from '../../audit/audit-log.js';
import type { Database } from '../../store/schema.js';
import { getCase } from '../case-repository.js';
import { dashboardData, dashboardDataFromScratch } from './dashboard.js';
import { dashboardRollupDrift, rebuildDashboardRollups } from './dashboard-rollup.js';

/**
 * The roll-ups (kept by triggers) against the from-scratch definition, on random data written the ways the
 * desk writes: multi-row and single-row inserts, state changes, merges and un-merges, deletions, audit
 * state entries (some for no case, some off the case-subject form), concurrent transactions (several
 * connections on PostgreSQL, so several slots), and a rolled-back transaction.
 */

const NOW = new Date('2026-03-15T13:45:00Z');
const DAY = 86_400_000;
const CHANNELS = ['smtp', 'imap', 'api', 'feed', 'form'];
const CLASSES = [
  'abusive-content/spam',
  'information-gathering/scanner',
  'availability/ddos',
  'fraud/phishing',
];
const STATUSES = [
  'open',
  'notified',
  'awaiting-cure',
  'customer-responded',
  'escalated',
  'suspended',
  'on-hold',
  'cured',
  'dismissed',
  'reinstated',
  'terminated',
];

/** mulberry32: the same "random" data on every run and backend, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describeEachBackend('dashboard roll-ups', (ctx) => {
  const random = rng(20260315);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  /** A time within ±45 days of NOW, a tenth of them exactly on a UTC midnight (the window's edge). */
  const someTime = (): Date => {
    const t = NOW.getTime() + int(-45 * 24 * 60, 3 * 24 * 60) * 60_000;
    return random() < 0.1 ? new Date(Math.floor(t / DAY) * DAY) : new Date(t);
  };
  const db = () => ctx.store.db;
  let caseIds: number[] = [];

  async function insertCases(trx: Transaction<Database>, count: number): Promise<number[]> {
    const rows = Array.from({ length: count }, () => {
      const service = int(1, 12);
      const opened = someTime();
      return {
        provider_id: 'example',
        policy_version: '1',
        customer_id: 1 + (service % 5),
        customer_ref: `CUST-${1 + (service % 5)}`,
        service_id: service,
        service_ref: `SVC-${String(service).padStart(3, '0')}`,
        clause_id: 'spam',
        severity: 'medium',
        state: '{}',
        status: pick(STATUSES),
        opened_at: opened,
        first_event_at: opened,
        last_event_at: opened,
        window_ends_at: new Date(opened.getTime() + 7 * DAY),
        updated_at: opened,
      };
    });
    const out = await trx.insertInto('cases').values(rows).returning('id').execute();
    return out.map((r) => r.id);
  }

  async function insertReports(
    trx: Transaction<Database>,
    count: number,
    caseIdsFor: number[],
  ): Promise<void> {
    const reports = await trx
      .insertInto('reports')
      .values(
        Array.from({ length: count }, () => ({
          evidence_sha256: 'a'.repeat(64),
          format: 'email',
          channel: pick(CHANNELS),
          received_at: someTime(),
          reporter: '{}',
          status: 'parsed',
          errors: '[]',
          in_reply_to: '[]',
          disposition: 'events' as const,
          processed_at: NOW,
        })),
      )
      .returning('id')
      .execute();
    for (const r of reports) {
      const events = int(0, 3);
      if (events === 0) continue;
      await trx
        .insertInto('case_events')
        .values(
          Array.from({ length: events }, () => {
            const at = someTime();
            return {
              report_id: r.id,
              case_id: caseIdsFor.length > 0 && random() < 0.8 ? pick(caseIdsFor) : null,
              fingerprint: Array.from({ length: 64 }, () => '0123456789abcdef'[int(0, 15)]).join(''),
              event: '{}',
              event_time: at,
              classification: pick(CLASSES),
              verdict: 'violation' as const,
              created_at: at,
            };
          }),
        )
        .execute();
    }
  }

  async function stateEntries(trx: Transaction<Database>, ids: number[], count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const id = pick(ids);
      const roll = random();
      // Mostly real case subjects; some for no case, some that only look like one ('case:007').
      const subject = roll < 0.9 ? `case:${id}` : roll < 0.95 ? 'case:99999999' : `case:00${id}`;
      const to = pick(['cured', 'suspended', 'cured', 'suspended', 'notified', 'awaiting-cure']);
      await appendAudit(trx, {
        at: someTime(),
        actor: 'system',
        kind: random() < 0.9 ? 'case.state' : 'case.opened',
        subject,
        payload: { to, from: 'open' },
      });
    }
  }

  beforeAll(async () => {
    // Several transactions at once: on PostgreSQL they run on different connections (different slots).
    const batches = await Promise.all(
      Array.from({ length: 4 }, () =>
        db()
          .transaction()
          .execute(async (trx) => {
            const ids = await insertCases(trx, int(20, 60));
            for (let i = 0; i < 5; i++) ids.push(...(await insertCases(trx, 1)));
            await insertReports(trx, int(30, 80), ids);
            return ids;
          }),
      ),
    );
    caseIds = batches.flat();
    await db()
      .transaction()
      .execute((trx) => stateEntries(trx, caseIds, 300));
    // State changes one by one and in bulk; merges and un-merges; deletions of cases nothing refers to.
    await db()
      .transaction()
      .execute(async (trx) => {
        for (let i = 0; i < 80; i++) {
          await trx
            .updateTable('cases')
            .set({ status: pick(STATUSES), updated_at: NOW })
            .where('id', '=', pick(caseIds))
            .execute();
        }
        await trx
          .updateTable('cases')
          .set({ status: 'cured' })
          .where('id', 'in', caseIds.slice(0, 15))
          .execute();
        const target = caseIds[0]!;
        for (const id of caseIds.slice(20, 45)) {
          await trx.updateTable('cases').set({ merged_into: target }).where('id', '=', id).execute();
        }
        await trx
          .updateTable('cases')
          .set({ merged_into: null })
          .where('id', 'in', caseIds.slice(20, 28))
          .execute();
        // A merged case whose status changes still counts nowhere among the unmerged.
        await trx.updateTable('cases').set({ status: 'escalated' }).where('id', '=', caseIds[30]!).execute();
      });
    const unreferenced = await db()
      .selectFrom('cases')
      .select('id')
      .where('id', 'not in', (eb) =>
        eb.selectFrom('case_events').select('case_id').where('case_id', 'is not', null).$castTo<number>(),
      )
      .where('id', 'not in', (eb) =>
        eb
          .selectFrom('cases as m')
          .select('m.merged_into')
          .where('m.merged_into', 'is not', null)
          .$castTo<number>(),
      )
      .limit(5)
      .execute();
    expect(unreferenced.length).toBeGreaterThan(0);
    await db()
      .deleteFrom('cases')
      .where(
        'id',
        'in',
        unreferenced.map((r) => r.id),
      )
      .execute();
    // More reports and events after the changes, and state entries of cases that moved.
    await db()
      .transaction()
      .execute(async (trx) => {
        const remaining = caseIds.filter((id) => !unreferenced.some((u) => u.id === id));
        await insertReports(trx, 40, remaining);
        await stateEntries(trx, remaining, 100);
      });
    // A transaction that rolls back leaves the roll-ups as they were.
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await insertCases(trx, 10);
          await insertReports(trx, 10, caseIds.slice(0, 3));
          throw new Error('rolled back on purpose');
        }),
    ).rejects.toThrow('rolled back on purpose');
  }, 120_000);

  it('keeps every roll-up equal to a recount from the base tables', async () => {
    expect(await dashboardRollupDrift(db())).toEqual([]);
    // The data is varied enough to exercise every figure.
    const scratch = await dashboardDataFromScratch(db(), NOW);
    expect(scratch.totals.events).toBeGreaterThan(50);
    expect(scratch.totals.reports).toBeGreaterThan(50);
    expect(scratch.openByStatus.length).toBeGreaterThan(3);
    expect(scratch.curedCount).toBeGreaterThan(10);
    expect(scratch.suspendedCount).toBeGreaterThan(10);
    expect(scratch.topServices.length).toBe(10);
  });

  it('gives the dashboard the same figures as the from-scratch computation, for any window and top N', async () => {
    for (const now of [NOW, new Date('2026-03-01T00:00:00Z'), new Date('2026-04-20T23:59:59.999Z')]) {
      for (const days of [1, 7, 30, 60]) {
        for (const topN of [0, 3, 10, 50]) {
          const fromRollups = await dashboardData(db(), now, days, topN);
          const fromScratch = await dashboardDataFromScratch(db(), now, days, topN);
          expect(fromRollups, `${now.toISOString()} ${days} days, top ${topN}`).toEqual(fromScratch);
        }
      }
    }
  });

  it('reports a roll-up that drifted and rebuilds it from the base tables', async () => {
    await sql`update dashboard_case_status set cases = cases + 5 where status = 'cured'`.execute(db());
    await sql`delete from dashboard_event_days where day = (select max(day) from dashboard_event_days)`.execute(
      db(),
    );
    const drift = await dashboardRollupDrift(db());
    expect(drift.some((d) => d.startsWith('dashboard_case_status cured: rollup'))).toBe(true);
    expect(drift.some((d) => d.startsWith('dashboard_event_days '))).toBe(true);
    expect(await dashboardData(db(), NOW)).not.toEqual(await dashboardDataFromScratch(db(), NOW));

    await db()
      .transaction()
      .execute((trx) => rebuildDashboardRollups(trx));
    expect(await dashboardRollupDrift(db())).toEqual([]);
    expect(await dashboardData(db(), NOW)).toEqual(await dashboardDataFromScratch(db(), NOW));
  });
});

describeEachBackend('dashboard roll-ups through the desk', (ctx) => {
  it('stay exact while complaints open cases and an analyst notifies and suspends', async () => {
    // Real complaints through the report pipeline, then the console's own actions (case transitions,
    // outbox, audit entries): the writers the roll-ups were built for.
    const desk = await openDesk(ctx.store);
    try {
      const db = ctx.store.db;
      const analyst = new PageClient(desk.app);
      await analyst.login('console', 'analyst@desk.example.net');
      await analyst.get(`/console/cases/${desk.hostileCase}`);
      await analyst.post(`/console/cases/${desk.hostileCase}/actions`, { action: 'notify' });
      desk.clock.advance(3_600_000);
      await analyst.get(`/console/cases/${desk.hostileCase}`);
      await analyst.post(`/console/cases/${desk.hostileCase}/actions`, { action: 'suspend', confirm: 'yes' });
      expect((await getCase(db, desk.hostileCase))?.status).toBe('suspended');

      expect(await dashboardRollupDrift(db)).toEqual([]);
      const now = desk.clock.now();
      const data = await dashboardData(db, now);
      expect(data).toEqual(await dashboardDataFromScratch(db, now));
      expect(data.totals.casesOpened).toBe(2);
      expect(data.suspendedCount).toBe(1);
      expect(data.medianHoursToSuspension).toBeCloseTo(1, 5);
      expect(data.openByStatus.find((s) => s.status === 'suspended')?.count).toBe(1);
      // The page shows the roll-up's figures.
      const page = await analyst.get('/console/dashboard');
      expect(page.statusCode).toBe(200);
    } finally {
      await desk.close();
    }
  }, 60_000);
});
