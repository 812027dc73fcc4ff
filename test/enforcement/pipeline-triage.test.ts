import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit-log.js';
import { getCase, listCases } from '../../src/cases/case-repository.js';
import { listCaseEvents } from '../../src/cases/report-repository.js';
import { listTriageItems, triageStats } from '../../src/cases/triage-repository.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { loadPolicyDirectory } from '../../src/policy/policy-loader.js';
import { makePolicy } from '../factories.js';
import {
  clockAt,
  historyOf,
  pipelineDeps,
  reportOf,
  resetDesk,
  seedRegistry,
} from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * The pipeline's side of "every complaint reaches the right decision": what the parsers could not be sure
 * of (their contract: `extra.triage_reason`, `classification.confidence`, `extra.request_kind`, victims in
 * `destination.*`) goes to the triage queue with its reason and never to a case; our customer named only
 * as the target is never the subject of a case; each customer is judged under its own provider's AUP.
 */

const registry = {
  customers: [
    { ref: 'cust-a', emails: ['ops@a.example'] },
    { ref: 'cust-victim', emails: ['ops@victim.example'] },
  ],
  services: [
    { ref: 'vps-a', customer: 'cust-a' },
    { ref: 'vps-victim', customer: 'cust-victim' },
  ],
  assignments: [
    { service: 'vps-a', resource: '198.51.100.0/25', from: '2025-01-01T00:00:00Z' },
    { service: 'vps-victim', resource: '198.51.100.128/25', from: '2025-01-01T00:00:00Z' },
  ],
};

const spam = { 'classification.taxonomy': 'abusive-content', 'classification.type': 'spam' } as const;

describeEachBackend('pipeline: triage routing', (ctx) => {
  const history = historyOf(makePolicy());
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  async function setup(now = '2026-03-01T12:00:00.000Z') {
    const snapshot = await seedRegistry(ctx.store, registry);
    return pipelineDeps(ctx.store, snapshot, history, clockAt(now));
  }

  it('never opens a case against our customer named only as the target: victim notice in triage', async () => {
    const deps = await setup();
    // The seen bug: iptables SRC=<scanner> DST=<our customer>; the victim must not become the source.
    const result = await processReport(
      deps,
      reportOf({
        events: [
          {
            'classification.taxonomy': 'information-gathering',
            'classification.type': 'scanner',
            'source.ip': '203.0.113.41',
            'destination.ip': '198.51.100.200',
            'destination.port': 22,
          },
        ],
      }),
    );
    expect(result.events[0]).toMatchObject({ verdict: 'victim-notice' });
    expect(result.cases).toEqual([]);
    expect(await listCases(ctx.store.db)).toHaveLength(0);
    expect(result.outcomes).toEqual(['not-ours', 'triage']);
    const [item] = await listTriageItems(ctx.store.db, { limit: 10 });
    expect(item).toMatchObject({
      reason: 'victim-notice',
      reportId: result.reportId,
      eventIds: [expect.any(Number)],
    });
    expect(item!.detail).toContain('vps-victim');
    const [event] = await listCaseEvents(ctx.store.db, { reportId: result.reportId });
    expect(event).toMatchObject({ verdict: 'victim-notice', caseId: null });
  });

  it('sends role-unknown, low-confidence and legal requests to triage with their reasons, best guess kept', async () => {
    const deps = await setup();
    const result = await processReport(
      deps,
      reportOf({
        events: [
          { ...spam, 'source.ip': '198.51.100.7', extra: { triage_reason: 'role-unknown' } },
          { ...spam, 'source.ip': '198.51.100.8', 'classification.confidence': 0.4 },
          { ...spam, 'source.ip': '198.51.100.9', 'classification.confidence': 0.9 },
          {
            'classification.taxonomy': 'other',
            'classification.type': 'other',
            'source.ip': '198.51.100.10',
            extra: { request_kind: 'legal-request' },
          },
        ],
      }),
    );
    expect(result.events.map((e) => e.verdict)).toEqual([
      'role-unknown',
      'low-confidence',
      'violation',
      'legal-request',
    ]);
    // Only the confident event opened a case.
    expect(result.cases).toHaveLength(1);
    expect(result.outcomes).toEqual(['case-opened', 'triage']);
    const items = await listTriageItems(ctx.store.db, { limit: 10 });
    expect(items.map((i) => i.reason).sort()).toEqual(['legal-request', 'low-confidence', 'role-unknown']);
    const low = items.find((i) => i.reason === 'low-confidence')!;
    expect(low.bestGuess).toBe('abusive-content/spam');
    expect(low.detail).toContain('0.4');
    // The attributed service is kept on the item (open a case from it without naming the service).
    expect(low.serviceId).not.toBeNull();
    const stats = await triageStats(ctx.store.db);
    expect(stats.open).toBe(3);
    expect(stats.oldestReceivedAt?.toISOString()).toBe('2026-03-01T12:00:00.000Z');
  });

  it('honours a configured confidence threshold', async () => {
    const deps = { ...(await setup()), triage: { confidenceThreshold: 0.3 } };
    const result = await processReport(
      deps,
      reportOf({ events: [{ ...spam, 'source.ip': '198.51.100.8', 'classification.confidence': 0.4 }] }),
    );
    expect(result.events[0]).toMatchObject({ verdict: 'violation' });
  });

  it('puts no-clause, not-ours and unparsed reports in the queue, one item per report and reason', async () => {
    const deps = await setup();
    const many = await processReport(
      deps,
      reportOf({
        events: [
          { ...spam, 'source.ip': '192.0.2.1' },
          { ...spam, 'source.ip': '192.0.2.2' },
          { ...spam, 'source.ip': '192.0.2.3' },
        ],
      }),
    );
    expect(many.outcomes).toEqual(['not-ours', 'triage']);
    const unparsed = await processReport(deps, reportOf({ events: [], status: 'unparsed' }));
    expect(unparsed.outcomes).toEqual(['unparsed', 'triage']);
    const items = await listTriageItems(ctx.store.db, { limit: 10 });
    expect(items.map((i) => [i.reportId, i.reason, i.eventIds.length])).toEqual([
      [many.reportId, 'not-ours', 3],
      [unparsed.reportId, 'unparsed', 0],
    ]);
    expect(items[0]!.detail).toContain('and 2 more events');
  });

  it('judges an event dated after its receipt at the receipt time, flagged', async () => {
    const deps = await setup();
    const result = await processReport(
      deps,
      reportOf({
        receivedAt: '2026-03-01T12:00:00.000Z',
        events: [{ ...spam, 'source.ip': '198.51.100.7', 'time.source': '2026-03-01T13:00:00.000Z' }],
      }),
    );
    const [event] = await listCaseEvents(ctx.store.db, { reportId: result.reportId });
    expect(event!.eventTime.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(event!.event.extra).toMatchObject({ future_dated: '2026-03-01T13:00:00.000Z' });
    // Within the tolerance (10 minutes) the event's own time stands.
    const near = await processReport(
      deps,
      reportOf({
        receivedAt: '2026-03-01T12:00:00.000Z',
        events: [{ ...spam, 'source.ip': '198.51.100.7', 'time.source': '2026-03-01T12:05:00.000Z' }],
      }),
    );
    const [nearEvent] = await listCaseEvents(ctx.store.db, { reportId: near.reportId });
    expect(nearEvent!.eventTime.toISOString()).toBe('2026-03-01T12:05:00.000Z');
  });

  it('acknowledges a triaged report as under review, and never a mangled 8-bit address', async () => {
    const deps = await setup();
    const fine = await processReport(
      deps,
      reportOf({
        reporter: { email: 'jane@reporter.example', name: 'Jane' },
        events: [{ ...spam, 'source.ip': '198.51.100.8', 'classification.confidence': 0.3 }],
      }),
    );
    expect(fine.ack).toMatchObject({ outcome: 'under-review', queued: true });
    const mangled = await processReport(
      deps,
      reportOf({
        reporter: { email: 'jÃ¼rgen.mÃ¼ller@reporter.example', name: 'Jürgen' },
        events: [{ ...spam, 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(mangled.cases).toHaveLength(1);
    expect(mangled.ack?.queued).toBe(false);
    expect(mangled.ack?.suppressed).toContain('not a valid mailbox');
    const acks = await listActions(ctx.store.db, { kind: 'mail.ack' });
    expect(acks.map((a) => (a.payload as { reporter: { email: string } }).reporter.email)).toEqual([
      'jane@reporter.example',
    ]);
  });
});

describeEachBackend('pipeline: every published provider served by one desk', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  it("judges each customer under its own provider's binding version", async () => {
    const dirs = ['iitgen', 'injazat', 'securepacket'];
    const histories = await Promise.all(dirs.map((d) => loadPolicyDirectory(path.resolve('policies', d))));
    const accepted = (provider: string) => {
      const h = histories.find((x) => x.provider === provider)!;
      const v = h.versions[0]!.document;
      return { provider, version: v.version, at: v.effective_at };
    };
    const snapshot = await seedRegistry(ctx.store, {
      customers: [
        { ref: 'c-default' },
        { ref: 'c-injazat', accepted: accepted('injazat') },
        { ref: 'c-securepacket', accepted: accepted('securepacket') },
      ],
      services: [
        { ref: 's-default', customer: 'c-default' },
        { ref: 's-injazat', customer: 'c-injazat' },
        { ref: 's-securepacket', customer: 'c-securepacket' },
      ],
      assignments: [
        { service: 's-default', resource: '198.51.100.0/26', from: '2025-01-01T00:00:00Z' },
        { service: 's-injazat', resource: '198.51.100.64/26', from: '2025-01-01T00:00:00Z' },
        { service: 's-securepacket', resource: '198.51.100.128/26', from: '2025-01-01T00:00:00Z' },
      ],
    });
    // The desk's default provider first (serve --provider iitgen).
    const deps = {
      ...pipelineDeps(ctx.store, snapshot, histories[0]!, clockAt('2026-12-01T12:00:00.000Z')),
      policies: histories,
    };
    const result = await processReport(
      deps,
      reportOf({
        receivedAt: '2026-12-01T12:00:00.000Z',
        reporter: { email: 'jane@reporter.example', name: 'Jane Reporter' },
        events: [
          { ...spam, 'source.ip': '198.51.100.5', 'time.source': '2026-12-01T10:00:00.000Z' },
          { ...spam, 'source.ip': '198.51.100.70', 'time.source': '2026-12-01T10:00:00.000Z' },
          { ...spam, 'source.ip': '198.51.100.130', 'time.source': '2026-12-01T10:00:00.000Z' },
        ],
      }),
    );
    expect(result.cases).toHaveLength(3);
    const byCustomer = new Map<string, string>();
    for (const c of result.cases) {
      const record = (await getCase(ctx.store.db, c.ref))!;
      byCustomer.set(record.customerRef, record.providerId);
    }
    expect(Object.fromEntries(byCustomer)).toEqual({
      'c-default': 'iitgen',
      'c-injazat': 'injazat',
      'c-securepacket': 'securepacket',
    });
    const judgements = await listAudit(ctx.store.db, { kind: 'judgement', limit: 10 });
    expect(judgements.map((j) => (j.payload as { policy: string }).policy.split(' ')[0]).sort()).toEqual([
      'iitgen',
      'injazat',
      'securepacket',
    ]);
  });
});
