import { beforeEach, expect, it } from 'vitest';
import { listAudit, verifyAudit } from '../../src/audit/audit-log.js';
import { getCase } from '../../src/cases/case-repository.js';
import { listCaseNotes } from '../../src/cases/message-repository.js';
import { listCaseEvents } from '../../src/cases/report-repository.js';
import { addNote } from '../../src/enforcement/commands/add-note.js';
import { applyRemedy } from '../../src/enforcement/commands/apply-remedy.js';
import { approveStep } from '../../src/enforcement/commands/approve-step.js';
import { assignCase } from '../../src/enforcement/commands/assign-case.js';
import { dismissCase } from '../../src/enforcement/commands/dismiss-case.js';
import { holdCase } from '../../src/enforcement/commands/hold-case.js';
import { markCured } from '../../src/enforcement/commands/mark-cured.js';
import { mergeCases } from '../../src/enforcement/commands/merge-cases.js';
import { reinstateCase } from '../../src/enforcement/commands/reinstate-case.js';
import { releaseCase } from '../../src/enforcement/commands/release-case.js';
import { skipStep } from '../../src/enforcement/commands/skip-step.js';
import { splitCase } from '../../src/enforcement/commands/split-case.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { runEnforcementOnce } from '../../src/enforcement/pipeline/enforcement-worker.js';
import { type PipelineDeps, processReport } from '../../src/enforcement/pipeline/process-report.js';
import { listSteps } from '../../src/enforcement/scheduler/step-scheduler.js';
import { isAupError } from '../../src/errors.js';
import type { PolicyDocument } from '../../src/policy/policy-schema.js';
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
  customers: [{ ref: 'cust-a' }, { ref: 'cust-b' }],
  services: [
    { ref: 'vps-a', customer: 'cust-a' },
    { ref: 'vps-b', customer: 'cust-b' },
  ],
  assignments: [
    { service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' },
    { service: 'vps-b', resource: '203.0.113.0/24', from: '2025-01-01T00:00:00Z' },
  ],
};

/** The last audit entry of a kind on a case. */
async function lastEntry(deps: PipelineDeps, caseId: number, kind: string) {
  const entries = await listAudit(deps.db, { subject: `case:${caseId}`, kind, limit: 1000 });
  return entries[entries.length - 1];
}

describeEachBackend('analyst commands', (ctx) => {
  let deps: PipelineDeps;
  const clock = clockAt('2026-03-01T12:00:00.000Z');

  async function setup(policy: PolicyDocument = makePolicy()): Promise<void> {
    await resetDesk(ctx.store);
    clock.set('2026-03-01T12:00:00.000Z');
    const snapshot = await seedRegistry(ctx.store, registry);
    deps = pipelineDeps(ctx.store, snapshot, historyOf(policy), clock);
  }

  async function openCase(ip = '198.51.100.7'): Promise<number> {
    const result = await processReport(deps, reportOf({ events: [{ 'source.ip': ip }] }));
    return Number(result.cases[0]!.ref.slice(4));
  }

  beforeEach(async () => {
    await setup();
  });

  it('add-note: stores the note with its audit entry', async () => {
    const id = await openCase();
    await addNote(deps, {
      caseRef: 'AUP-000001',
      analyst: 'alice',
      text: 'Called the customer; they are looking.',
    });
    expect((await listCaseNotes(deps.db, id)).map((n) => [n.author, n.text])).toEqual([
      ['alice', 'Called the customer; they are looking.'],
    ]);
    const entry = await lastEntry(deps, id, 'case.note');
    expect(entry).toMatchObject({
      actor: 'user:alice',
      payload: { case: 'AUP-000001', text: 'Called the customer; they are looking.' },
    });
    await expect(
      addNote(deps, { caseRef: 'AUP-000001', analyst: 'alice', text: '  ' }),
    ).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });
  });

  it('hold and release: the due step is cancelled while held and rescheduled after', async () => {
    const id = await openCase();
    const held = await holdCase(deps, {
      caseRef: 'AUP-000001',
      analyst: 'alice',
      note: 'customer on the phone',
    });
    expect(held.case.status).toBe('on-hold');
    // The pending deadline is not cancelled (see case-transition.ts): it will fire as a no-op.
    expect((await getCase(deps.db, id))?.dueAt).toBeNull();
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      actor: 'user:alice',
      payload: { command: { kind: 'hold' }, note: 'customer on the phone', statusBefore: 'awaiting-cure' },
    });

    // While held, the deadline passes and nothing happens.
    clock.set('2026-03-05T00:00:00.000Z');
    const round = await runEnforcementOnce({ ...deps, handlers: [] }, clock);
    expect(round.steps.fired).toBe(1);
    const fired = await listSteps(deps.db, { subject: `case:${id}`, status: 'done' });
    expect(fired.map((s) => s.result)).toEqual([{ case: 'AUP-000001', unchanged: true, status: 'on-hold' }]);
    expect(await listActions(deps.db, { kind: 'provision.suspend' })).toHaveLength(0);

    const released = await releaseCase(deps, { caseRef: 'AUP-000001', analyst: 'bob' });
    expect(released.case.status).not.toBe('on-hold');
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      actor: 'user:bob',
      payload: { command: { kind: 'release' } },
    });
    // The deadline had passed: releasing takes the suspension at once.
    expect(await listActions(deps.db, { kind: 'provision.suspend' })).toHaveLength(1);
  });

  it('skip-step: the next step is not taken', async () => {
    const id = await openCase();
    const result = await skipStep(deps, { caseRef: 'AUP-000001', analyst: 'alice' });
    expect(result.reason).toContain('skipped by alice');
    expect((await getCase(deps.db, id))?.state.ladder.position).toBe(1);
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      payload: { command: { kind: 'skip-step' } },
    });
  });

  it('dismiss: needs a reason, closes the case and tells the customer', async () => {
    const id = await openCase();
    await expect(
      dismissCase(deps, { caseRef: 'AUP-000001', analyst: 'alice', reason: '' }),
    ).rejects.toSatisfy((e: unknown) => isAupError(e) && e.code === 'AUP_ERR_INPUT_INVALID');
    const result = await dismissCase(deps, {
      caseRef: 'AUP-000001',
      analyst: 'alice',
      reason: 'shared NAT, not the customer',
    });
    expect(result.case.status).toBe('dismissed');
    expect(result.case.state.dismissal).toMatchObject({
      reason: 'shared NAT, not the customer',
      analyst: 'alice',
    });
    const notices = await listActions(deps.db, { kind: 'mail.notice', caseId: id });
    expect(notices.map((n) => (n.payload as { template: string }).template)).toEqual([
      'violation-notice',
      'dismissal-notice',
    ]);
    expect(result.actions).toEqual([notices[1]!.idempotencyKey]);
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      payload: { command: { kind: 'dismiss', reason: 'shared NAT, not the customer' } },
    });
    expect(await lastEntry(deps, id, 'case.state')).toMatchObject({
      payload: { from: 'awaiting-cure', to: 'dismissed' },
    });
  });

  it('mark-cured: the ladder stops', async () => {
    const id = await openCase();
    const result = await markCured(deps, { caseRef: 'AUP-000001', analyst: 'alice' });
    expect(result.case.status).toBe('cured');
    expect((await getCase(deps.db, id))?.dueAt).toBeNull();
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      payload: { command: { kind: 'mark-cured' } },
    });
  });

  it('apply-remedy and reinstate: suspension outside the ladder, then lifted', async () => {
    const id = await openCase();
    const refused = await applyRemedy(deps, { caseRef: 'AUP-000001', analyst: 'alice', remedy: 'fee' });
    expect(refused.reason).toContain('does not reserve "fee"');
    expect(refused.actions).toEqual([]);

    const suspended = await applyRemedy(deps, { caseRef: 'AUP-000001', analyst: 'alice', remedy: 'suspend' });
    expect(suspended.case.status).toBe('suspended');
    expect(suspended.actions).toContain('000001/analyst-2/1/provision.suspend');
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      payload: { command: { kind: 'apply-remedy', remedy: 'suspend' } },
    });

    const reinstated = await reinstateCase(deps, { caseRef: 'AUP-000001', analyst: 'bob' });
    expect(reinstated.case.status).toBe('reinstated');
    expect(reinstated.actions).toContain('000001/analyst-3/1/provision.unsuspend');
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      actor: 'user:bob',
      payload: { command: { kind: 'reinstate' } },
    });
  });

  it('approve-step: a step the policy leaves to an analyst is taken once approved', async () => {
    await setup(
      makePolicy({
        terms: {
          ...makePolicy().terms,
          enforcement: {
            ...makePolicy().terms.enforcement,
            ladder: [
              {
                id: 'notice',
                action: 'notify',
                wait: 'cure_period',
                approval: 'automatic',
                notify_customer: true,
              },
              { id: 'suspend', action: 'suspend', approval: 'analyst', notify_customer: true },
            ],
          },
        },
      }),
    );
    const id = await openCase();
    clock.set('2026-03-04T12:00:01.000Z');
    await runEnforcementOnce({ ...deps, handlers: [] }, clock);
    expect((await getCase(deps.db, id))?.state.ladder.awaitingApproval?.stepId).toBe('suspend');
    expect(await listActions(deps.db, { kind: 'provision.suspend' })).toHaveLength(0);

    const stale = await approveStep(deps, { caseRef: 'AUP-000001', analyst: 'alice', stepId: 'terminate' });
    expect(stale.reason).toContain('is not the one proposed');
    const approved = await approveStep(deps, { caseRef: 'AUP-000001', analyst: 'alice', stepId: 'suspend' });
    expect(approved.case.status).toBe('suspended');
    expect(approved.actions).toContain('000001/suspend/1/provision.suspend');
    expect(await lastEntry(deps, id, 'case.intervention')).toMatchObject({
      payload: { command: { kind: 'approve-step', stepId: 'suspend' } },
    });
  });

  it('assign: records the assignee', async () => {
    const id = await openCase();
    const record = await assignCase(deps, { caseRef: 'AUP-000001', analyst: 'lead', assignee: 'alice' });
    expect(record.assignedTo).toBe('alice');
    expect(await lastEntry(deps, id, 'case.assigned')).toMatchObject({
      actor: 'user:lead',
      payload: { from: null, to: 'alice' },
    });
  });

  it('merge-cases: events and messages of B move to A, B is marked merged into A', async () => {
    const a = await openCase('198.51.100.7');
    clock.set('2026-03-25T12:00:00.000Z');
    const b = Number(
      (
        await processReport(
          deps,
          reportOf({
            events: [{ 'source.ip': '198.51.100.9', 'time.source': '2026-03-25T10:00:00.000Z' }],
            receivedAt: '2026-03-25T12:00:00.000Z',
          }),
        )
      ).cases[0]!.ref.slice(4),
    );
    expect(b).not.toBe(a);
    const other = await openCase('203.0.113.5');
    await expect(
      mergeCases(deps, { target: 'AUP-000001', source: `AUP-00000${other}`, analyst: 'alice' }),
    ).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });

    const merged = await mergeCases(deps, {
      target: 'AUP-000001',
      source: 'AUP-000002',
      analyst: 'alice',
      reason: 'same spam run',
    });
    expect(merged.moved.events).toBe(1);
    expect(merged.source.mergedInto).toBe(a);
    expect(merged.source.status).toBe('on-hold');
    expect(merged.target.state.subjects.addresses).toEqual(['198.51.100.7', '198.51.100.9']);
    // A's cure period had run out: the merge's engine run took its overdue suspension too.
    expect(merged.target.state.noticeKeys).toEqual(
      expect.arrayContaining(['000001/notice/1/mail.notice', '000002/notice/1/mail.notice']),
    );
    expect(await listCaseEvents(deps.db, { caseId: a })).toHaveLength(2);
    expect((await getCase(deps.db, b))?.dueAt).toBeNull();
    expect(await lastEntry(deps, a, 'case.merged')).toMatchObject({
      actor: 'user:alice',
      payload: { role: 'target', source: 'AUP-000002', reason: 'same spam run' },
    });
    expect(await lastEntry(deps, b, 'case.merged')).toMatchObject({
      payload: { role: 'source', target: 'AUP-000001' },
    });
    await expect(holdCase(deps, { caseRef: 'AUP-000002', analyst: 'alice' })).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });

    // A later event of B's address joins A, not the merged B.
    const later = await processReport(
      deps,
      reportOf({ events: [{ 'source.ip': '198.51.100.9', 'time.source': '2026-03-26T10:00:00.000Z' }] }),
    );
    expect(later.cases).toEqual([{ ref: 'AUP-000001', opened: false }]);
  });

  it('split-case: chosen events move to a new case that starts its own ladder', async () => {
    const id = await openCase('198.51.100.7');
    await processReport(
      deps,
      reportOf({ events: [{ 'source.ip': '198.51.100.50', 'time.source': '2026-03-01T11:00:00.000Z' }] }),
    );
    const events = await listCaseEvents(deps.db, { caseId: id });
    expect(events).toHaveLength(2);
    const moving = events.find((e) => e.sourceIp?.startsWith('198.51.100.50'))!;
    const { original, created } = await splitCase(deps, {
      caseRef: 'AUP-000001',
      analyst: 'alice',
      eventIds: [moving.id],
    });
    expect(created.ref).toBe('AUP-000002');
    expect(created.state.subjects.addresses).toEqual(['198.51.100.50']);
    expect(original.state.subjects.addresses).toEqual(['198.51.100.7']);
    expect(created.status).toBe('awaiting-cure');
    expect(await listActions(deps.db, { kind: 'mail.notice', caseId: created.id })).toHaveLength(1);
    expect(await lastEntry(deps, created.id, 'case.split')).toMatchObject({
      actor: 'user:alice',
      payload: { from: 'AUP-000001', to: 'AUP-000002' },
    });
    await expect(
      splitCase(deps, {
        caseRef: 'AUP-000001',
        analyst: 'alice',
        eventIds: [events[0]!.id === moving.id ? events[1]!.id : events[0]!.id],
      }),
    ).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });
  });

  it('leaves a verifiable audit chain', async () => {
    expect(await verifyAudit(deps.db)).toMatchObject({ ok: true });
  });
});
