import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it, vi } from 'vitest';
import { verifyAudit } from '../../src/audit/audit-log.js';
import { getCase, listCases } from '../../src/cases/case-repository.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { EVENTS_PER_CHUNK } from '../../src/enforcement/pipeline/case-batch.js';
import { JudgedEvents } from '../../src/enforcement/pipeline/event-judging.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { simulateTimeline } from '../../src/enforcement/simulation/desk-simulator.js';
import type { SimulationReport } from '../../src/enforcement/simulation/simulation-input.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { acceptReport } from '../../src/intake/inbox/inbox-accept.js';
import { processInbox } from '../../src/intake/inbox/inbox-worker.js';
import { parseReport } from '../../src/intake/parse-report.js';
import type { ParsedReport } from '../../src/intake/report.js';
import { loadPolicyDirectory, type PolicyHistory } from '../../src/policy/policy-loader.js';
import type { RegistrySnapshot } from '../../src/registry/registry-snapshot.js';
import { routedInboxProcessor, routedSegments } from '../../src/server/inbox-router.js';
import {
  clockAt,
  pipelineDeps,
  type RegistrySpec,
  resetDesk,
  seedRegistry,
} from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * Issue 14: the set-based pipeline and `aupdesk simulate` decide alike. The same Shadowserver feed reports go
 * through `processReport` on a real store and through the simulator (`simulateTimeline`, what `aupdesk
 * simulate` prints) with the same registry snapshot and INFINCE's published AUP; the cases (references,
 * customers, services, clauses), their states, and the actions with their idempotency keys must be the
 * same. The first report is larger than one chunk of the batch pipeline (EVENTS_PER_CHUNK), so cases opened
 * in one chunk are joined in the next; the second opens and joins across reports; the third is the first
 * sent again (all duplicates).
 */

const SERVICES = 40;
const HEADER =
  '"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo","region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"';

const registry: RegistrySpec = {
  customers: Array.from({ length: SERVICES / 2 }, (_, i) => ({ ref: `cust-${i}` })),
  services: Array.from({ length: SERVICES }, (_, i) => ({ ref: `vps-${i}`, customer: `cust-${i >> 1}` })),
  assignments: Array.from({ length: SERVICES }, (_, i) => ({
    service: `vps-${i}`,
    resource: `198.51.${100 + (i >> 4)}.${(i & 15) * 16}/28`,
    from: '2025-01-01T00:00:00Z',
  })),
};

/** A `scan_dns` report: row i on service `services[i % length]`, one second apart; some rows not ours. */
async function scanDns(
  rows: number,
  services: readonly number[],
  start: string,
  receivedAt: string,
): Promise<ParsedReport & { bytes: Buffer }> {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const s = services[i % services.length]!;
    const ip = i % 97 === 0 ? `203.0.113.${i % 250}` : `198.51.${100 + (s >> 4)}.${(s & 15) * 16 + 1}`;
    const t = new Date(Date.parse(start) + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    lines.push(
      `"${t}","${ip}","udp",53,"h${i}.example.net","openresolver","dnsmasq-2.${i % 90}",64496,"NL","NOORD-HOLLAND","AMSTERDAM","3",,,517311,0,`,
    );
  }
  const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`);
  const report = await parseReport({
    bytes,
    fileName: fileNameOf(receivedAt),
    channel: 'file',
    receivedAt: new Date(receivedAt),
  });
  expect(report.events).toHaveLength(rows);
  return { ...report, bytes };
}

function fileNameOf(receivedAt: string): string {
  return `${receivedAt.slice(0, 10)}-scan_dns-equivalence-geo.csv`;
}

function simulationReport(report: ParsedReport, line: number): SimulationReport {
  return {
    line,
    receivedAt: new Date(report.receivedAt),
    channel: report.channel,
    reporter: report.reporter,
    evidenceSha256: report.evidenceSha256,
    status: report.status,
    events: report.events,
  };
}

describeEachBackend('the desk and aupdesk simulate decide alike', (ctx) => {
  let dir: string;
  beforeEach(async () => {
    await resetDesk(ctx.store);
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-equivalence-'));
    return () => rm(dir, { recursive: true, force: true });
  });

  /** Two feed reports and the first sent again: opened and joined within a report and across reports. */
  async function feedReports() {
    const all = Array.from({ length: SERVICES }, (_, i) => i);
    const first = await scanDns(
      EVENTS_PER_CHUNK + 500,
      all.slice(0, 30),
      '2026-03-01T06:00:00Z',
      '2026-03-01T12:00:00.000Z',
    );
    // Later: services 20–39, half of them with a case from the first report, half without.
    const second = await scanDns(300, all.slice(20), '2026-03-01T12:30:00Z', '2026-03-01T13:00:00.000Z');
    return { first, second };
  }

  it('gives the same cases, states, actions and idempotency keys for the same feed reports', async () => {
    const policy = await loadPolicyDirectory('policies/infince');
    const snapshot = await seedRegistry(ctx.store, registry);
    const { first, second } = await feedReports();
    const again = { ...first, receivedAt: '2026-03-01T14:00:00.000Z' };
    const reports = [first, second, again];

    const clock = clockAt(first.receivedAt);
    const deps = pipelineDeps(ctx.store, snapshot, policy, clock);
    for (const report of reports) {
      clock.set(new Date(report.receivedAt));
      const { bytes: _bytes, ...parsed } = report;
      await processReport(deps, parsed);
    }
    await expectSameAsSimulation(reports, snapshot, policy);
  }, 120_000);

  it('decides alike when a big report is processed a segment per transaction from its evidence file', async () => {
    const policy = await loadPolicyDirectory('policies/infince');
    const snapshot = await seedRegistry(ctx.store, registry);
    const { first, second } = await feedReports();
    const clock = clockAt(first.receivedAt);
    const deps = pipelineDeps(ctx.store, snapshot, policy, clock);
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const segmented: string[] = [];
    const inbox = {
      db: ctx.store.db,
      evidence,
      processReport: routedInboxProcessor(deps),
      segments: routedSegments(deps),
      // 1,000 events a transaction: the first report (2,500 rows) takes three, cases opened in one are
      // joined in the next; every report of the test goes this way (from 0 bytes).
      segmentEvents: 1_000,
      streamFromBytes: 0,
    };
    for (const report of [first, second]) {
      clock.set(new Date(report.receivedAt));
      await acceptReport(inbox, {
        bytes: report.bytes,
        channel: 'file',
        receivedAt: new Date(report.receivedAt),
        fileName: fileNameOf(report.receivedAt),
      });
      const round = await processInbox(inbox, {
        limit: 10,
        clock,
        onSegment: ({ events }) => segmented.push(`${report.receivedAt} ${events}`),
      });
      expect(round.done).toBe(1);
    }
    // Three segments of the first report committed one by one, then the second's one.
    expect(segmented).toEqual([
      `${first.receivedAt} 1000`,
      `${first.receivedAt} 2000`,
      `${first.receivedAt} 2500`,
      `${second.receivedAt} 300`,
    ]);
    // The same bytes again are the same evidence: taken in once, not a second report.
    const repeat = await acceptReport(inbox, {
      bytes: first.bytes,
      channel: 'file',
      receivedAt: new Date('2026-03-01T14:00:00.000Z'),
      fileName: fileNameOf(first.receivedAt),
    });
    expect(repeat.duplicate).toBe(true);
    await evidence.close();

    await expectSameAsSimulation([first, second], snapshot, policy);
    // Each event recorded once, and the report rows say what the whole parse says.
    const events = await ctx.store.db
      .selectFrom('case_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(first.events.length + second.events.length);
    const rows = await ctx.store.db
      .selectFrom('intake_inbox')
      .select(['event_count', 'report_status', 'status'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { event_count: first.events.length, report_status: 'parsed', status: 'done' },
      { event_count: second.events.length, report_status: 'parsed', status: 'done' },
    ]);
  }, 120_000);

  it('decides alike when each segment is judged while the one before it commits', async () => {
    const policy = await loadPolicyDirectory('policies/infince');
    const snapshot = await seedRegistry(ctx.store, registry);
    const all = Array.from({ length: SERVICES }, (_, i) => i);
    // Three segments of 500 events: cases opened by one are joined by the next, judged before it committed.
    // (A feed's repeated line is no duplicate — each event names its line — so duplicates across segments
    // judged ahead are tested with events that do repeat: segment-cases.test.ts.)
    const report = await scanDns(1_500, all, '2026-03-01T06:00:00Z', '2026-03-01T12:00:00.000Z');
    const clock = clockAt(report.receivedAt);
    const deps = pipelineDeps(ctx.store, snapshot, policy, clock);
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const judge = vi.spyOn(JudgedEvents, 'judge');
    try {
      const inbox = {
        db: ctx.store.db,
        evidence,
        processReport: routedInboxProcessor(deps),
        segments: routedSegments(deps, undefined, ctx.store.db),
        segmentEvents: 500,
        streamFromBytes: 0,
      };
      await acceptReport(inbox, {
        bytes: report.bytes,
        channel: 'file',
        receivedAt: new Date(report.receivedAt),
        fileName: fileNameOf(report.receivedAt),
      });
      expect((await processInbox(inbox, { limit: 10, clock })).done).toBe(1);
      // The first segment judged in its transaction; the second and third ahead, outside any, and used (a
      // segment whose judging ahead was not used is judged again in its transaction).
      const readers = judge.mock.calls.map(([reader]) => (reader.isTransaction ? 'in' : 'ahead'));
      expect(readers.sort()).toEqual(['ahead', 'ahead', 'in']);
    } finally {
      judge.mockRestore();
      await evidence.close();
    }

    await expectSameAsSimulation([report], snapshot, policy);
    const events = await ctx.store.db
      .selectFrom('case_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(report.events.length);
  }, 120_000);

  async function expectSameAsSimulation(
    reports: readonly ParsedReport[],
    snapshot: RegistrySnapshot,
    policy: PolicyHistory,
  ): Promise<void> {
    const simulated = simulateTimeline({
      reports: reports.map(simulationReport),
      snapshot,
      policy,
      until: new Date(reports.at(-1)!.receivedAt),
    });
    // Cases: the same references for the same customer, service and clause, in the same state.
    const cases = await listCases(ctx.store.db);
    expect(cases.length).toBe(SERVICES);
    const simCases = new Map<string, { customer: string; service: string; clause: string }>();
    for (const row of simulated.rows) {
      if (row.case && row.customer && row.service && row.clause) {
        simCases.set(row.case, { customer: row.customer, service: row.service, clause: row.clause });
      }
    }
    expect(cases.map((c) => [c.ref, c.customerRef, c.serviceRef, c.clauseId]).sort()).toEqual(
      [...simCases].map(([ref, c]) => [ref, c.customer, c.service, c.clause]).sort(),
    );
    expect([...simulated.cases.keys()].sort()).toEqual(cases.map((c) => c.ref).sort());
    for (const c of cases) {
      const stored = await getCase(ctx.store.db, c.id);
      expect(stored?.state, c.ref).toEqual(simulated.cases.get(c.ref));
    }

    // Actions and their idempotency keys (the reporter acknowledgements are the desk's mail, not the ladder's).
    const refOf = new Map(cases.map((c) => [c.id, c.ref]));
    const deskActions = (await listActions(ctx.store.db, { limit: 10_000 }))
      .filter((a) => a.kind !== 'mail.ack')
      .map((a) => [refOf.get(a.caseId!), a.kind, a.idempotencyKey]);
    const simActions = simulated.rows
      .filter((r) => r.action !== null && r.action !== 'mail.ack' && !r.action.startsWith('proposed:'))
      .map((r) => [r.case, r.action, r.detail?.idempotencyKey]);
    expect(deskActions.length).toBe(SERVICES);
    expect(deskActions.sort()).toEqual(simActions.sort());

    // The third report repeated the first: nothing new, and the audit chain holds.
    expect((await verifyAudit(ctx.store.db)).ok).toBe(true);
  }
});
