import { beforeEach, expect, it } from 'vitest';
import { auditHead, listAudit, verifyAudit } from '../../src/audit/audit-log.js';
import { getCase, listCases, previousCases } from '../../src/cases/case-repository.js';
import { listCaseMessages } from '../../src/cases/message-repository.js';
import { getReport, listCaseEvents } from '../../src/cases/report-repository.js';
import { messageIdFor } from '../../src/enforcement/notices/message-id.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { processReport, processReportIn } from '../../src/enforcement/pipeline/process-report.js';
import { listSteps } from '../../src/enforcement/scheduler/step-scheduler.js';
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

const registry = {
  customers: [
    { ref: 'cust-a', emails: ['ops@a.example'] },
    { ref: 'cust-b', emails: ['ops@b.example'] },
  ],
  services: [
    { ref: 'vps-a', customer: 'cust-a' },
    { ref: 'vps-b', customer: 'cust-b' },
  ],
  assignments: [
    // 192.0.2.0/28 was cust-a's until 1 Feb, then recycled to cust-b.
    { service: 'vps-a', resource: '192.0.2.0/28', from: '2025-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' },
    { service: 'vps-b', resource: '192.0.2.0/28', from: '2026-02-01T00:00:00Z' },
    { service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' },
  ],
};

describeEachBackend('processReport', (ctx) => {
  const policy = makePolicy();
  const history = historyOf(policy);

  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  async function setup(now = '2026-03-01T12:00:00.000Z') {
    const snapshot = await seedRegistry(ctx.store, registry);
    const clock = clockAt(now);
    return { clock, deps: pipelineDeps(ctx.store, snapshot, history, clock) };
  }

  it('opens a case for a violation, plans the notice, schedules the cure deadline and acknowledges', async () => {
    const { deps } = await setup();
    const result = await processReport(
      deps,
      reportOf({ events: [{ 'source.ip': '198.51.100.7' }], subject: 'spam from your network' }),
    );
    expect(result.cases).toEqual([{ ref: 'AUP-000001', opened: true }]);
    expect(result.events[0]).toMatchObject({
      verdict: 'violation',
      clause: 'spam',
      customer: 'cust-a',
      service: 'vps-a',
    });

    const record = await getCase(ctx.store.db, 'AUP-000001');
    expect(record?.status).toBe('awaiting-cure');
    expect(record?.state.subjects.addresses).toEqual(['198.51.100.7']);
    expect(record?.dueAt?.toISOString()).toBe('2026-03-04T12:00:00.000Z');

    const actions = await listActions(ctx.store.db, { caseId: record!.id });
    expect(actions.map((a) => [a.kind, a.idempotencyKey])).toEqual([
      ['mail.notice', '000001/notice/1/mail.notice'],
      ['mail.ack', `report:${result.reportId}:ack`],
    ]);
    const notice = actions[0]!.payload as { deadline: string; template: string };
    expect(notice).toMatchObject({ template: 'violation-notice', deadline: '2026-03-04T12:00:00.000Z' });
    expect(actions[1]!.payload).toMatchObject({ outcome: 'case-opened', caseId: '000001' });

    const steps = await listSteps(ctx.store.db, { subject: `case:${record!.id}`, status: 'pending' });
    expect(steps.map((s) => s.dueAt.toISOString())).toEqual(['2026-03-04T12:00:00.000Z']);

    const messages = await listCaseMessages(ctx.store.db, record!.id);
    expect(messages.map((m) => [m.direction, m.kind])).toEqual([
      ['out', 'notice'],
      ['out', 'ack'],
    ]);
    expect(messages[0]!.messageId).toBe(messageIdFor('000001/notice/1/mail.notice', 'desk.example.net'));

    const kinds = (await listAudit(ctx.store.db, { subject: `case:${record!.id}`, limit: 100 })).map(
      (e) => e.kind,
    );
    expect(kinds).toEqual(
      expect.arrayContaining(['case.opened', 'judgement', 'case.state', 'action.enqueued', 'step.scheduled']),
    );
    expect((await getReport(ctx.store.db, result.reportId))?.ackOutcome).toBe('case-opened');
  });

  it('recognises the same evidence twice: one case, one notice, no second acknowledgement', async () => {
    const { deps } = await setup();
    const report = reportOf({ events: [{ 'source.ip': '198.51.100.7' }], evidence: 'same-bytes' });
    await processReport(deps, report);
    const again = await processReport(deps, report);
    expect(again.events).toEqual([{ index: 0, verdict: 'duplicate', caseRef: 'AUP-000001' }]);
    expect(again.ack?.queued).toBe(false);
    expect(await listCases(ctx.store.db)).toHaveLength(1);
    expect(await listActions(ctx.store.db, { kind: 'mail.notice' })).toHaveLength(1);
    expect(await listActions(ctx.store.db, { kind: 'mail.ack' })).toHaveLength(1);
    expect(await listCaseEvents(ctx.store.db, { caseId: 1 })).toHaveLength(1);
  });

  it('counts the same event twice in one report once: the repeat is a duplicate of its case, opened or not', async () => {
    const { deps } = await setup();
    const result = await processReport(
      deps,
      reportOf({
        events: [
          { 'source.ip': '198.51.100.7' },
          { 'source.ip': '198.51.100.7' },
          { 'source.ip': '203.0.113.9' },
          { 'source.ip': '203.0.113.9' },
        ],
      }),
    );
    expect(result.events.map((e) => [e.verdict, 'caseRef' in e ? e.caseRef : undefined])).toEqual([
      ['violation', 'AUP-000001'],
      ['duplicate', 'AUP-000001'],
      ['not-ours', undefined],
      ['duplicate', null],
    ]);
    expect(await listCaseEvents(ctx.store.db, { reportId: result.reportId })).toHaveLength(2);
    expect(await listActions(ctx.store.db, { kind: 'mail.notice' })).toHaveLength(1);
  });

  it('joins an event inside the case window and opens a new case outside it', async () => {
    const { deps, clock } = await setup();
    await processReport(
      deps,
      reportOf({ events: [{ 'source.ip': '198.51.100.7', 'time.source': '2026-03-01T10:00:00.000Z' }] }),
    );
    clock.set('2026-03-02T12:00:00.000Z');
    const joined = await processReport(
      deps,
      reportOf({
        events: [{ 'source.ip': '198.51.100.8', 'time.source': '2026-03-02T09:00:00.000Z' }],
        receivedAt: '2026-03-02T12:00:00.000Z',
      }),
    );
    expect(joined.cases).toEqual([{ ref: 'AUP-000001', opened: false }]);
    expect(joined.ack).toMatchObject({ outcome: 'joined-case', queued: true });
    const first = await getCase(ctx.store.db, 1);
    expect(first?.state.subjects.addresses).toEqual(['198.51.100.7', '198.51.100.8']);
    // Joining does not send the notice again.
    expect(await listActions(ctx.store.db, { kind: 'mail.notice' })).toHaveLength(1);

    // 14 days (the default window) after the last event: a new case, flagged as a repeat offence.
    clock.set('2026-03-20T12:00:00.000Z');
    const later = await processReport(
      deps,
      reportOf({
        events: [{ 'source.ip': '198.51.100.7', 'time.source': '2026-03-17T09:00:01.000Z' }],
        receivedAt: '2026-03-20T12:00:00.000Z',
      }),
    );
    expect(later.cases).toEqual([{ ref: 'AUP-000002', opened: true }]);
    const second = await getCase(ctx.store.db, 2);
    expect(second?.state.repeat).toBe(1);
    expect(second?.repeatCount).toBe(1);
    expect(
      (await previousCases(ctx.store.db, second!.customerId, 'spam', { beforeCaseId: 2 })).map((c) => c.ref),
    ).toEqual(['AUP-000001']);
  });

  it('audits a joining event the engine answers with nothing as its judgement alone, and a step it takes with case.state', async () => {
    const { deps, clock } = await setup();
    // The audit log outlives the reset between tests (it is append-only), and case numbers start again.
    const { seq: afterSeq } = await auditHead(ctx.store.db);
    /** A report received at noon of `day` whose one event came from `ip` at `time` (09:00). */
    const reportOn = async (day: string, ip: string, time = '09:00') => {
      clock.set(`${day}T12:00:00.000Z`);
      await processReport(
        deps,
        reportOf({
          events: [{ 'source.ip': ip, 'time.source': `${day}T${time}:00.000Z` }],
          receivedAt: `${day}T12:00:00.000Z`,
        }),
      );
    };
    const trail = () => listAudit(ctx.store.db, { subject: 'case:1', afterSeq, limit: 100 });
    const kinds = async () => (await trail()).map((e) => e.kind);
    await reportOn('2026-03-01', '198.51.100.7');
    // Opened: the notice is planned, the cure deadline (P3D) due, the reporter's acknowledgement queued.
    const opened = [
      'case.opened',
      'judgement',
      'action.enqueued',
      'step.scheduled',
      'case.state',
      'action.enqueued',
    ];
    expect(await kinds()).toEqual(opened);

    // A day later, inside the cure period: the same status, nothing to do, the same due time. The event's
    // judgement is its one entry, and says which case it joined (then the reporter's acknowledgement).
    const first = (await getCase(ctx.store.db, 1))!;
    await reportOn('2026-03-02', '198.51.100.8');
    // The case row moves on (its version, its last event) with the state the event changed: the new
    // address joins its subjects.
    const joined = (await getCase(ctx.store.db, 1))!;
    expect(joined.version).toBe(first.version + 1);
    expect(joined.lastEventAt.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    const subjects = { ...first.state.subjects, addresses: ['198.51.100.7', '198.51.100.8'] };
    expect(joined.state).toEqual({ ...first.state, subjects });
    const quiet = await trail();
    expect(quiet.map((e) => e.kind)).toEqual([...opened, 'judgement', 'action.enqueued']);
    expect(quiet[1]!.payload).toMatchObject({ case: 'AUP-000001', outcome: 'opened' });
    expect(quiet[6]!.payload).toMatchObject({ case: 'AUP-000001', outcome: 'joined', verdict: 'violation' });

    // Again from that address: the state is as it was, so the row keeps its state and moves on around it.
    await reportOn('2026-03-02', '198.51.100.8', '10:00');
    const again = (await getCase(ctx.store.db, 1))!;
    expect(again.version).toBe(joined.version + 1);
    expect(again.lastEventAt.toISOString()).toBe('2026-03-02T10:00:00.000Z');
    expect(again.state).toEqual(joined.state);

    // After the cure deadline the joining event finds the suspension due: the engine takes it, and says so.
    await reportOn('2026-03-05', '198.51.100.9');
    const states = await listAudit(ctx.store.db, {
      subject: 'case:1',
      kind: 'case.state',
      afterSeq,
      limit: 100,
    });
    expect(states).toHaveLength(2);
    expect(states[1]!.payload).toMatchObject({ cause: 'event', from: 'awaiting-cure', to: 'suspended' });
    expect(await verifyAudit(ctx.store.db)).toMatchObject({ ok: true });
  });

  it('judges under the version binding the customer at the event time (grace period for an acceptance)', async () => {
    const v1 = makePolicy();
    const base2 = makePolicy();
    const v2 = makePolicy({
      version: '2.0',
      published_at: '2026-02-15T00:00:00Z',
      effective_at: '2026-02-15T00:00:00Z',
      terms: {
        ...base2.terms,
        enforcement: { ...base2.terms.enforcement, cure_period: 'P1D' },
        changes: { ...base2.terms.changes, grace_period_previous_version: 'P30D' },
      },
    });
    const snapshot = await seedRegistry(ctx.store, {
      ...registry,
      customers: [
        { ref: 'cust-a', accepted: { provider: 'example', version: '1.0', at: '2026-01-05T00:00:00Z' } },
        { ref: 'cust-b' },
      ],
    });
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    const deps = pipelineDeps(ctx.store, snapshot, historyOf(v1, v2), clock);
    await processReport(
      deps,
      reportOf({
        events: [
          { 'source.ip': '198.51.100.7', 'time.source': '2026-02-20T10:00:00.000Z' },
          { 'source.ip': '192.0.2.5', 'time.source': '2026-02-20T10:00:00.000Z' },
        ],
      }),
    );
    const a = await getCase(ctx.store.db, 1);
    const b = await getCase(ctx.store.db, 2);
    expect([a?.customerRef, a?.policyVersion, a?.dueAt?.toISOString()]).toEqual([
      'cust-a',
      '1.0',
      '2026-03-04T12:00:00.000Z',
    ]);
    expect([b?.customerRef, b?.policyVersion, b?.dueAt?.toISOString()]).toEqual([
      'cust-b',
      '2.0',
      '2026-03-02T12:00:00.000Z',
    ]);
  });

  it('attributes a recycled address by the event time', async () => {
    const { deps } = await setup();
    const result = await processReport(
      deps,
      reportOf({
        events: [
          { 'source.ip': '192.0.2.5', 'time.source': '2026-01-20T10:00:00.000Z' },
          { 'source.ip': '192.0.2.5', 'time.source': '2026-02-20T10:00:00.000Z' },
        ],
      }),
    );
    expect(result.events.map((e) => (e.verdict === 'violation' ? e.customer : e.verdict))).toEqual([
      'cust-a',
      'cust-b',
    ]);
    expect(result.cases.map((c) => c.ref)).toEqual(['AUP-000001', 'AUP-000002']);
  });

  it('records events that are not ours, too old or of no clause, with the reason and the ack outcome', async () => {
    const { deps, clock } = await setup();
    const notOurs = await processReport(deps, reportOf({ events: [{ 'source.ip': '203.0.113.9' }] }));
    expect(notOurs.events[0]).toMatchObject({ verdict: 'not-ours' });
    expect(notOurs.ack).toMatchObject({ outcome: 'not-our-network', queued: true });

    clock.set('2026-04-15T00:00:00.000Z');
    const old = await processReport(
      deps,
      reportOf({ events: [{ 'source.ip': '198.51.100.7', 'time.source': '2026-01-02T00:00:00.000Z' }] }),
    );
    expect(old.events[0]).toMatchObject({ verdict: 'too-old' });
    expect(old.ack).toMatchObject({ outcome: 'too-old' });

    const noClause = await processReport(
      deps,
      reportOf({
        events: [
          {
            'source.ip': '198.51.100.7',
            'classification.taxonomy': 'information-gathering',
            'classification.type': 'scanner',
          },
        ],
      }),
    );
    expect(noClause.events[0]).toMatchObject({ verdict: 'no-clause' });
    // No clause covers it: a person decides (the triage queue), and the reporter hears it will be reviewed.
    expect(noClause.ack).toMatchObject({ outcome: 'under-review', queued: true });
    expect(noClause.outcomes).toEqual(['no-clause', 'triage']);
    expect(await listCases(ctx.store.db)).toHaveLength(0);
  });

  it("acknowledges an unparseable report with the parser's reason", async () => {
    const { deps } = await setup();
    const report = {
      ...reportOf({ events: [], status: 'unparsed' }),
      errors: [{ message: 'format not recognised by any parser' }],
    };
    const result = await processReport(deps, report);
    expect(result.disposition).toBe('unparsed');
    expect(result.ack).toMatchObject({ outcome: 'unparseable', queued: true });
    const [ack] = await listActions(ctx.store.db, { kind: 'mail.ack' });
    expect(ack?.payload).toMatchObject({
      outcome: 'unparseable',
      detail: 'format not recognised by any parser',
    });
  });

  it('never acknowledges automated senders or feeds', async () => {
    const { deps } = await setup();
    const fromFeed = await processReport(
      deps,
      reportOf({
        channel: 'feed',
        format: 'shadowserver',
        reporter: { automated: true },
        events: [{ 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(fromFeed.cases).toHaveLength(1);
    expect(fromFeed.ack?.queued).toBe(false);
    expect(await listActions(ctx.store.db, { kind: 'mail.ack' })).toHaveLength(0);
  });

  it('threads a reply by Message-ID and by subject tag; without the case reply token it is a third-party message that changes nothing (test/hostile/authenticated-replies.test.ts has the customer reply)', async () => {
    const { deps, clock } = await setup();
    await processReport(deps, reportOf({ events: [{ 'source.ip': '198.51.100.7' }] }));
    const noticeId = messageIdFor('000001/notice/1/mail.notice', 'desk.example.net');

    clock.set('2026-03-01T15:00:00.000Z');
    const reply = await processReport(
      deps,
      reportOf({
        subject: 'Re: Notice of acceptable use policy violation',
        inReplyTo: [noticeId],
        messageId: '<reply-1@a.example>',
        reporter: { email: 'ops@a.example', name: 'A Ops' },
        receivedAt: '2026-03-01T14:59:00.000Z',
        events: [{ 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(reply).toMatchObject({ disposition: 'third-party-reply', threadedTo: 'AUP-000001', cases: [] });
    const record = await getCase(ctx.store.db, 1);
    expect(record?.status).toBe('awaiting-cure');
    // The reply's text is not judged as a new complaint.
    expect(await listCases(ctx.store.db)).toHaveLength(1);
    expect(await listCaseEvents(ctx.store.db, { reportId: reply.reportId })).toHaveLength(0);

    // Headers lost, tag kept: still threads.
    const byTag = await processReport(
      deps,
      reportOf({
        subject: 'Fwd: [AUP-000001] fixed now',
        reporter: { email: 'boss@a.example' },
        receivedAt: '2026-03-01T15:00:00.000Z',
        events: [],
        status: 'unparsed',
      }),
    );
    expect(byTag).toMatchObject({ disposition: 'third-party-reply', threadedTo: 'AUP-000001' });
    const messages = await listCaseMessages(ctx.store.db, 1);
    expect(messages.filter((m) => m.direction === 'in').map((m) => [m.kind, m.sender])).toEqual([
      ['third-party', 'ops@a.example'],
      ['third-party', 'boss@a.example'],
    ]);
    const audit = await listAudit(ctx.store.db, { subject: 'case:1', kind: 'case.message' });
    expect(audit.map((e) => (e.payload as { matchedBy: string }).matchedBy)).toEqual([
      'message-id',
      'subject-tag',
    ]);
  });

  it("keeps a reporter's answer to the acknowledgement on the case without putting it up for review", async () => {
    const { deps } = await setup();
    const first = await processReport(deps, reportOf({ events: [{ 'source.ip': '198.51.100.7' }] }));
    const ackId = messageIdFor(`report:${first.reportId}:ack`, 'desk.example.net');
    const followUp = await processReport(
      deps,
      reportOf({
        inReplyTo: [ackId],
        subject: 'Re: [AUP-000001] more',
        events: [{ 'source.ip': '198.51.100.9' }],
      }),
    );
    expect(followUp.disposition).toBe('reporter-reply');
    // Never answered again: an autoresponder on the reporter's side would otherwise ping-pong with us.
    expect(followUp.ack).toMatchObject({ queued: false });
    expect(await listActions(ctx.store.db, { kind: 'mail.ack' })).toHaveLength(1);
    expect(followUp.cases).toEqual([{ ref: 'AUP-000001', opened: false }]);
    expect((await getCase(ctx.store.db, 1))?.status).toBe('awaiting-cure');
  });

  it('rejects an anonymous complaint under iITGEN and tells the reporter when there is an address', async () => {
    const iitgen = await loadPolicyDirectory('policies/iitgen');
    const snapshot = await seedRegistry(ctx.store, registry);
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    const deps = pipelineDeps(ctx.store, snapshot, iitgen, clock);
    const withAddress = await processReport(
      deps,
      reportOf({
        reporter: { anonymous: true, name: undefined, email: 'throwaway@mail.example' },
        events: [{ 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(withAddress.events[0]).toMatchObject({ verdict: 'rejected-anonymous' });
    expect(withAddress.ack).toMatchObject({ outcome: 'rejected-anonymous', queued: true });
    const acks = await listActions(ctx.store.db, { kind: 'mail.ack' });
    expect(acks.map((a) => (a.payload as { outcome: string }).outcome)).toEqual(['rejected-anonymous']);

    const noAddress = await processReport(
      deps,
      reportOf({
        reporter: { anonymous: true, name: undefined, email: undefined },
        events: [{ 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(noAddress.ack).toMatchObject({ outcome: 'rejected-anonymous', queued: false });
    expect((await getReport(ctx.store.db, noAddress.reportId))?.ackOutcome).toBe('rejected-anonymous');
    expect(await listCases(ctx.store.db)).toHaveLength(0);

    // The provider's own detection is never anonymous.
    const detection = await processReport(
      deps,
      reportOf({
        channel: 'detection',
        reporter: { anonymous: true, automated: true, name: undefined, email: undefined },
        events: [{ 'source.ip': '198.51.100.7' }],
      }),
    );
    expect(detection.cases).toHaveLength(1);
  });

  it("processReportIn writes only in the caller's transaction: its case commits or rolls back with it", async () => {
    const { deps } = await setup();
    const { db: _unused, ...inTransaction } = deps;
    const rollback = new Error('the caller gives up');
    await expect(
      ctx.store.db.transaction().execute(async (trx) => {
        const result = await processReportIn(
          trx,
          inTransaction,
          reportOf({ events: [{ 'source.ip': '198.51.100.7' }] }),
        );
        expect(result.cases).toEqual([{ ref: 'AUP-000001', opened: true }]);
        expect((await getCase(trx, 'AUP-000001'))?.status).toBe('awaiting-cure');
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await listCases(ctx.store.db)).toHaveLength(0);
    expect(await listActions(ctx.store.db, {})).toHaveLength(0);

    const committed = await ctx.store.db
      .transaction()
      .execute((trx) =>
        processReportIn(trx, inTransaction, reportOf({ events: [{ 'source.ip': '198.51.100.7' }] })),
      );
    expect(committed.cases).toHaveLength(1);
    expect(await listCases(ctx.store.db)).toHaveLength(1);
  });

  it('keeps the audit chain verifiable after all of it', async () => {
    const result = await verifyAudit(ctx.store.db);
    expect(result.ok).toBe(true);
  });
});
