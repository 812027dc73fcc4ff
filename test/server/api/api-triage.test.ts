import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listAudit } from '../../../src/audit/audit-log.js';
import { getCase } from '../../../src/cases/case-repository.js';
import { listActions } from '../../../src/enforcement/outbox/outbox-repository.js';
import { inboxProcessorFor } from '../../../src/enforcement/pipeline/report-processor.js';
import { acceptReport } from '../../../src/intake/inbox/inbox-accept.js';
import { processInbox, type ReportProcessor } from '../../../src/intake/inbox/inbox-worker.js';
import { loadPolicyDirectory } from '../../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../../src/policy/policy-repository.js';
import { pipelineDeps, seedRegistry } from '../../support/case-support.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

/**
 * The triage queue and the reports list through the API, for each role: a reporter submits IntelMQ event
 * lines (the intake's contract fields set the way the parsers set them), the inbox worker runs the
 * pipeline, and the analyst works the queue: classify, attach, not actionable (a reply through the outbox),
 * retry a failed item, and cases opened by hand, among them an Injazat review case.
 */

interface TriageJson {
  id: number;
  reason: string;
  reportId: number | null;
  inboxId: string | null;
  eventIds: number[];
  receivedAt: string;
  status: string;
  caseRef: string | null;
}
interface ReportJson {
  id: string;
  reportId: number | null;
  outcomes: string[];
  cases: string[];
  triage: Array<{ id: number; reason: string; status: string }>;
}

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    'feed.name': 'Test CERT',
    'time.source': '2026-06-01T10:00:00Z',
    'classification.taxonomy': 'abusive-content',
    'classification.type': 'spam',
    ...fields,
  });

describeEachBackend('API triage queue and reports by role', (ctx) => {
  let h: ApiHarness;
  const keys: Record<string, string> = {};
  let mixedInbox: string;
  let cleanInbox: string;
  let failedInbox: string;

  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    const histories = await Promise.all(
      ['iitgen', 'injazat'].map((d) => loadPolicyDirectory(path.resolve('policies', d))),
    );
    for (const history of histories)
      for (const v of history.versions) await publishPolicyVersion(ctx.store.db, v);
    const injazat = histories[1]!.versions[0]!.document;
    const snapshot = await seedRegistry(ctx.store, {
      customers: [
        { ref: 'cust-a', emails: ['ops@a.example'] },
        { ref: 'cust-victim' },
        {
          ref: 'cust-inj',
          accepted: { provider: 'injazat', version: injazat.version, at: injazat.effective_at },
        },
      ],
      services: [
        { ref: 'vps-a', customer: 'cust-a' },
        { ref: 'vps-victim', customer: 'cust-victim' },
        { ref: 'vps-inj', customer: 'cust-inj' },
      ],
      assignments: [
        { service: 'vps-a', resource: '198.51.100.0/26', from: '2025-01-01T00:00:00Z' },
        { service: 'vps-victim', resource: '198.51.100.64/26', from: '2025-01-01T00:00:00Z' },
        { service: 'vps-inj', resource: '198.51.100.128/26', from: '2025-01-01T00:00:00Z' },
      ],
    });
    for (const role of ['admin', 'analyst', 'reporter'] as const) keys[role] = await h.key(role);
    const custA = await ctx.store.db
      .selectFrom('customers')
      .select('id')
      .where('ref', '=', 'cust-a')
      .executeTakeFirstOrThrow();
    keys.customer = await h.key('customer', custA.id);
    keys.otherReporter = await h.key('reporter');

    const submit = async (lines: string[]) => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/reports',
        headers: { ...bearer(keys.reporter!), 'content-type': 'application/x-ndjson' },
        payload: `${lines.join('\n')}\n`,
      });
      expect(res.statusCode).toBe(202);
      return res.json<{ id: string }>().id;
    };
    mixedInbox = await submit([
      line({ 'source.ip': '198.51.100.7' }),
      line({ 'source.ip': '198.51.100.8', 'classification.confidence': 0.35 }),
      line({ 'source.ip': '198.51.100.9', 'extra.triage_reason': 'role-unknown' }),
      line({
        'classification.taxonomy': 'information-gathering',
        'classification.type': 'scanner',
        'source.ip': '203.0.113.41',
        'destination.ip': '198.51.100.70',
      }),
    ]);
    h.clock.advance(60_000);
    cleanInbox = await submit([line({ 'source.ip': '198.51.100.20' })]);
    const failed = await acceptReport(
      { db: ctx.store.db, evidence: h.evidence },
      { bytes: new TextEncoder().encode('\u0000broken'), channel: 'smtp', receivedAt: h.clock.now() },
    );
    failedInbox = failed.inboxId;

    const deps = { ...pipelineDeps(ctx.store, snapshot, histories[0]!, h.clock), policies: histories };
    const pipeline = inboxProcessorFor(deps);
    // The reporter identifies itself (the parsers' side); the pipeline judges what the parsers produced.
    const identified: ReportProcessor = (trx, report, item) =>
      pipeline(
        trx,
        {
          ...report,
          reporter: {
            ...report.reporter,
            email: 'jane@reporter.example',
            name: 'Jane',
            anonymous: false,
            automated: false,
          },
        },
        item,
      );
    // The third item stands for one that failed five times.
    await ctx.store.db
      .updateTable('intake_inbox')
      .set({ status: 'failed', attempts: 5, last_error: 'parser crashed', processed_at: h.clock.now() })
      .where('id', '=', failedInbox)
      .execute();
    await processInbox(
      { db: ctx.store.db, evidence: h.evidence, processReport: identified },
      { limit: 50, clock: h.clock },
    );
  });
  afterAll(async () => h?.close());

  const get = (url: string, role: string) =>
    h.app.inject({ method: 'GET', url, headers: bearer(keys[role]!) });
  const post = (url: string, role: string, payload: unknown) =>
    h.app.inject({ method: 'POST', url, headers: bearer(keys[role]!), payload: payload as object });

  it('lists every report for analyst and admin, only their own for a reporter or customer', async () => {
    for (const role of ['analyst', 'admin']) {
      const res = await get('/api/v1/reports', role);
      expect(res.statusCode, role).toBe(200);
      expect(
        res.json<{ items: ReportJson[] }>().items.map((r) => r.id),
        role,
      ).toEqual([failedInbox, cleanInbox, mixedInbox]);
    }
    expect(
      (await get('/api/v1/reports', 'reporter')).json<{ items: ReportJson[] }>().items.map((r) => r.id),
    ).toEqual([cleanInbox, mixedInbox]);
    expect((await get('/api/v1/reports', 'otherReporter')).json<{ items: ReportJson[] }>().items).toEqual([]);
    expect((await get('/api/v1/reports', 'customer')).json<{ items: ReportJson[] }>().items).toEqual([]);
    expect((await get(`/api/v1/reports/${mixedInbox}`, 'otherReporter')).statusCode).toBe(404);
  });

  it('filters reports by outcome, channel and time, with the cases each touched', async () => {
    const ids = async (query: string) =>
      (await get(`/api/v1/reports?${query}`, 'analyst'))
        .json<{ items: ReportJson[] }>()
        .items.map((r) => r.id);
    expect(await ids('outcome=triage')).toEqual([mixedInbox]);
    expect(await ids('outcome=case-opened')).toEqual([mixedInbox]);
    // The second report's spam, same service and clause, joined the case the first one opened.
    expect(await ids('outcome=joined-case')).toEqual([cleanInbox]);
    expect(await ids('outcome=not-ours')).toEqual([mixedInbox]);
    expect(await ids('outcome=failed')).toEqual([failedInbox]);
    expect(await ids('channel=smtp')).toEqual([failedInbox]);
    expect(await ids('since=2026-06-01T12:00:30Z')).toEqual([failedInbox, cleanInbox]);
    expect((await get('/api/v1/reports?outcome=nonsense', 'analyst')).statusCode).toBe(400);
    const mixed = (await get('/api/v1/reports?outcome=triage', 'analyst')).json<{ items: ReportJson[] }>()
      .items[0]!;
    expect(mixed.outcomes).toEqual(['case-opened', 'not-ours', 'triage']);
    expect(mixed.cases).toHaveLength(1);
    expect(mixed.triage.map((t) => t.reason).sort()).toEqual([
      'low-confidence',
      'role-unknown',
      'victim-notice',
    ]);
  });

  it("shows one report's events with their roles and verdicts", async () => {
    const res = await get(`/api/v1/reports/${mixedInbox}`, 'analyst');
    expect(res.statusCode).toBe(200);
    const detail = res.json<{
      events: Array<{ verdict: string; roles: unknown[]; caseRef: string | null; confidence: number | null }>;
    }>();
    expect(detail.events.map((e) => e.verdict)).toEqual([
      'violation',
      'low-confidence',
      'role-unknown',
      'victim-notice',
    ]);
    expect(detail.events[3]!.roles).toEqual([
      { role: 'source', value: '203.0.113.41' },
      { role: 'target', value: '198.51.100.70' },
    ]);
    expect(detail.events[1]!.confidence).toBe(0.35);
    expect(detail.events[0]!.caseRef).toMatch(/^AUP-/);
  });

  it('serves the triage queue to staff only, oldest first, failed intake items included', async () => {
    for (const role of ['reporter', 'customer'])
      expect((await get('/api/v1/triage', role)).statusCode, role).toBe(403);
    const res = await get('/api/v1/triage', 'analyst');
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: TriageJson[] }>().items;
    expect(items.map((i) => i.reason)).toEqual(['low-confidence', 'role-unknown', 'victim-notice', 'failed']);
    expect(items.at(-1)).toMatchObject({ inboxId: failedInbox, reportId: null });
    const receipts = items.map((i) => i.receivedAt);
    expect([...receipts].sort()).toEqual(receipts);
    const page = await get('/api/v1/triage?limit=2', 'admin');
    const next = page.json<{ nextCursor: string }>().nextCursor;
    expect(
      (await get(`/api/v1/triage?limit=2&cursor=${next}`, 'admin'))
        .json<{ items: TriageJson[] }>()
        .items.map((i) => i.reason),
    ).toEqual(['victim-notice', 'failed']);
  });

  it('lets an analyst classify, attach, mark not actionable and retry, each audited', async () => {
    const items = (await get('/api/v1/triage', 'analyst')).json<{ items: TriageJson[] }>().items;
    const by = (reason: string) => items.find((i) => i.reason === reason)!;

    const classified = await post(`/api/v1/triage/${by('low-confidence').id}/classify`, 'analyst', {
      classification: 'abusive-content/spam',
    });
    expect(classified.statusCode, classified.body).toBe(200);
    const caseRef = classified.json<{ caseRef: string }>().caseRef;
    expect(caseRef).toMatch(/^AUP-/);
    expect(classified.json<{ item: TriageJson }>().item).toMatchObject({ status: 'resolved', caseRef });

    const attached = await post(`/api/v1/triage/${by('role-unknown').id}/attach`, 'analyst', { caseRef });
    expect(attached.statusCode, attached.body).toBe(200);
    const record = (await getCase(ctx.store.db, caseRef))!;
    const events = await ctx.store.db
      .selectFrom('case_events')
      .select('id')
      .where('case_id', '=', record.id)
      .execute();
    expect(events.map((e) => e.id).sort()).toEqual(
      [...by('low-confidence').eventIds, ...by('role-unknown').eventIds].sort(),
    );

    const dismissed = await post(`/api/v1/triage/${by('victim-notice').id}/not-actionable`, 'analyst', {
      template: 'not-our-network',
    });
    expect(dismissed.statusCode, dismissed.body).toBe(200);
    const replies = await listActions(ctx.store.db, { kind: 'mail.ack' });
    const reply = replies.find((a) => a.idempotencyKey === `triage:${by('victim-notice').id}:not-actionable`);
    expect(reply?.payload).toMatchObject({
      outcome: 'not-actionable',
      template: 'not-our-network',
      reporter: { email: 'jane@reporter.example' },
    });

    expect((await post(`/api/v1/triage/${by('victim-notice').id}/retry`, 'analyst', {})).statusCode).toBe(
      400,
    );
    const retried = await post(`/api/v1/triage/${by('failed').id}/retry`, 'analyst', {});
    expect(retried.statusCode, retried.body).toBe(200);
    const inbox = await ctx.store.db
      .selectFrom('intake_inbox')
      .select(['status', 'attempts'])
      .where('id', '=', failedInbox)
      .executeTakeFirstOrThrow();
    expect(inbox).toEqual({ status: 'pending', attempts: 0 });

    // Decided once: a second decision is refused, naming who decided.
    const again = await post(`/api/v1/triage/${by('failed').id}/retry`, 'analyst', {});
    expect(again.statusCode).toBe(400);
    expect(again.json<{ detail: string }>().detail).toContain('already decided');
    expect((await post(`/api/v1/triage/${by('failed').id}/retry`, 'reporter', {})).statusCode).toBe(403);

    const audit = await listAudit(ctx.store.db, { limit: 500 });
    expect(
      audit
        .filter((e) => e.kind.startsWith('triage.'))
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['triage.attached', 'triage.classified', 'triage.not-actionable', 'triage.retried']);
    expect((await get('/api/v1/triage', 'analyst')).json<{ items: TriageJson[] }>().items).toEqual([]);
  });

  it('opens cases by hand: any clause of the binding version; Injazat outgoing-mail increase waits on review', async () => {
    // Injazat's AUP takes effect on 2026-11-22: a case opened now binds under it.
    h.clock.advance(Date.parse('2026-12-01T12:00:00Z') - h.clock.now().getTime());
    const review = await post('/api/v1/cases', 'analyst', {
      service: 'vps-inj',
      clause: 'spam.outgoing-mail-increase',
      reason: 'outgoing mail tripled since Monday (relay logs)',
    });
    expect(review.statusCode, review.body).toBe(201);
    const opened = review.json<{
      ref: string;
      review: boolean;
      status: string;
      policy: string;
      actions: string[];
    }>();
    expect(opened).toMatchObject({ review: true, status: 'on-hold', actions: [] });
    expect(opened.policy).toMatch(/^injazat /);
    expect(
      await listActions(ctx.store.db, { caseId: (await getCase(ctx.store.db, opened.ref))!.id }),
    ).toEqual([]);

    // A clause no event class reaches, under iITGEN (the default provider): the ladder starts with the notice.
    const byHand = await post('/api/v1/cases', 'admin', {
      service: 'vps-a',
      clause: 'network.assigned-ip-only',
      reason: 'announcing 203.0.113.0/24 from the VPS',
      reports: [],
    });
    expect(byHand.statusCode, byHand.body).toBe(201);
    expect(byHand.json<{ review: boolean; actions: string[] }>()).toMatchObject({ review: false });
    expect(byHand.json<{ actions: string[] }>().actions.some((k) => k.includes('notice'))).toBe(true);

    const wrong = await post('/api/v1/cases', 'analyst', {
      service: 'vps-a',
      clause: 'no-such-clause',
      reason: 'x',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json<{ detail: string }>().detail).toContain('network.assigned-ip-only');
    expect(
      (await post('/api/v1/cases', 'reporter', { service: 'vps-a', clause: 'x', reason: 'x' })).statusCode,
    ).toBe(403);
    expect(
      (await post('/api/v1/cases', 'analyst', { service: 'nope', clause: 'x', reason: 'x' })).statusCode,
    ).toBe(404);
  });
});
