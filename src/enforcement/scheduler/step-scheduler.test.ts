import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend, freshSchemaName } from '../../../test/support/store-backends.js';
import { listAudit, verifyAudit } from '../../audit/audit-log.js';
import { isAupError } from '../../errors.js';
import { openStore, type Store } from '../../store/database.js';
import { ManualClock } from '../outbox/clock.js';
import { enqueueAction, getActionByKey } from '../outbox/outbox-repository.js';
import {
  cancelSteps,
  listSteps,
  nextDueAt,
  runDueSteps,
  type ScheduledStep,
  type StepHandler,
  scheduleStep,
} from './step-scheduler.js';

const T0 = '2025-02-03T08:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const plus = (ms: number) => new Date(Date.parse(T0) + ms);

const recorder = () => {
  const fired: ScheduledStep[] = [];
  const handler: StepHandler = async (_trx, step, { now }) => {
    fired.push(step);
    return { firedAt: now.toISOString() };
  };
  return { fired, handler };
};

describeEachBackend('scheduler', (ctx) => {
  const db = () => ctx.store.db;

  beforeEach(async () => {
    await db().deleteFrom('scheduled_steps').execute();
  });

  const schedule = (input: Omit<Parameters<typeof scheduleStep>[1], 'at'>, at = new Date(T0)) =>
    db()
      .transaction()
      .execute((trx) => scheduleStep(trx, { at, ...input }));

  it('fires a step when the clock reaches its due time, not before, and once', async () => {
    const clock = new ManualClock(T0);
    const { fired, handler } = recorder();
    const { id, created } = await schedule({
      subject: 'case:10',
      kind: 'cure.deadline',
      dueAt: plus(3 * DAY),
      idempotencyKey: 'case:10:cure:1',
      payload: { notice: 1 },
    });
    expect(created).toBe(true);
    expect(await nextDueAt(db())).toEqual(plus(3 * DAY));

    clock.advance(3 * DAY - 1);
    expect(await runDueSteps(db(), clock, handler)).toEqual({ fired: 0, retried: 0, failed: 0 });
    clock.advance(1);
    expect(await runDueSteps(db(), clock, handler)).toEqual({ fired: 1, retried: 0, failed: 0 });
    clock.advance(DAY);
    expect(await runDueSteps(db(), clock, handler)).toMatchObject({ fired: 0 });
    expect(fired.map((s) => [s.id, s.kind, s.payload])).toEqual([[id, 'cure.deadline', { notice: 1 }]]);

    const [step] = await listSteps(db(), { subject: 'case:10' });
    expect(step).toMatchObject({
      status: 'done',
      firedAt: plus(3 * DAY),
      attempts: 1,
      result: { firedAt: plus(3 * DAY).toISOString() },
    });
    const kinds = (await listAudit(db(), { subject: 'case:10' })).map((e) => e.kind);
    expect(kinds).toEqual(['step.scheduled', 'step.fired']);
    expect(await nextDueAt(db())).toBeUndefined();
  });

  it('fires overdue steps in due order after time jumps past several', async () => {
    const clock = new ManualClock(T0);
    const { fired, handler } = recorder();
    await schedule({ subject: 'case:11', kind: 'escalate', dueAt: plus(2 * DAY), idempotencyKey: 'k11-b' });
    await schedule({ subject: 'case:11', kind: 'reminder', dueAt: plus(DAY), idempotencyKey: 'k11-a' });
    await schedule({ subject: 'case:11', kind: 'terminate', dueAt: plus(30 * DAY), idempotencyKey: 'k11-c' });
    clock.advance(7 * DAY);
    expect(await runDueSteps(db(), clock, handler)).toMatchObject({ fired: 2 });
    expect(fired.map((s) => s.kind)).toEqual(['reminder', 'escalate']);
    expect(await nextDueAt(db())).toEqual(plus(30 * DAY));
  });

  it('schedules one step per idempotency key, and refuses the key for another step', async () => {
    const first = await schedule({
      subject: 'case:12',
      kind: 'cure.deadline',
      dueAt: plus(DAY),
      idempotencyKey: 'k12',
    });
    const again = await schedule({
      subject: 'case:12',
      kind: 'cure.deadline',
      dueAt: plus(2 * DAY),
      idempotencyKey: 'k12',
    });
    expect(again).toEqual({ id: first.id, created: false, status: 'pending' });
    expect(await listSteps(db(), { subject: 'case:12' })).toHaveLength(1);
    const error = await schedule({
      subject: 'case:13',
      kind: 'cure.deadline',
      dueAt: plus(DAY),
      idempotencyKey: 'k12',
    }).catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_STORE_CONFLICT')).toBe(true);
    const invalid = await schedule({
      subject: 'case 12',
      kind: 'x',
      dueAt: plus(DAY),
      idempotencyKey: 'k',
    }).catch((e: unknown) => e);
    expect(isAupError(invalid, 'AUP_ERR_INPUT_INVALID')).toBe(true);
  });

  it('cancels pending steps of a subject (optionally by kind) so they never fire', async () => {
    const clock = new ManualClock(T0);
    const { fired, handler } = recorder();
    await schedule({ subject: 'case:14', kind: 'cure.deadline', dueAt: plus(DAY), idempotencyKey: 'k14-a' });
    await schedule({ subject: 'case:14', kind: 'reminder', dueAt: plus(HOUR), idempotencyKey: 'k14-b' });
    await schedule({ subject: 'case:15', kind: 'cure.deadline', dueAt: plus(DAY), idempotencyKey: 'k15-a' });
    clock.advance(HOUR);
    await runDueSteps(db(), clock, handler);

    const byKind = await db()
      .transaction()
      .execute((trx) =>
        cancelSteps(trx, 'case:14', { at: clock.now(), reason: 'held', kinds: ['escalate'] }),
      );
    expect(byKind).toHaveLength(0);
    const cancelled = await db()
      .transaction()
      .execute((trx) =>
        cancelSteps(trx, 'case:14', { at: clock.now(), reason: 'customer cured', actor: 'user:analyst-2' }),
      );
    expect(cancelled.map((s) => s.kind)).toEqual(['cure.deadline']);
    expect(cancelled[0]).toMatchObject({
      status: 'cancelled',
      cancelReason: 'customer cured',
      cancelledAt: clock.now(),
    });

    clock.advance(2 * DAY);
    await runDueSteps(db(), clock, handler);
    expect(fired.map((s) => `${s.subject} ${s.kind}`)).toEqual(['case:14 reminder', 'case:15 cure.deadline']);
    const audit = await listAudit(db(), { subject: 'case:14', kind: 'step.cancelled' });
    expect(audit.at(-1)).toMatchObject({ actor: 'user:analyst-2', payload: { reason: 'customer cured' } });
  });

  it('commits the handler’s work with the firing, rolls it back on failure and retries with backoff', async () => {
    const clock = new ManualClock(T0);
    let calls = 0;
    const handler: StepHandler = async (trx, step, { now }) => {
      calls += 1;
      await enqueueAction(trx, {
        at: now,
        kind: 'provision.suspend',
        idempotencyKey: `${step.idempotencyKey}:suspend`,
        payload: { service: 'vps-16' },
        caseId: 16,
      });
      if (calls === 1) throw new Error('case row locked by an analyst');
      return { suspended: true };
    };
    await schedule({ subject: 'case:16', kind: 'cure.deadline', dueAt: plus(DAY), idempotencyKey: 'k16' });
    clock.advance(DAY);
    expect(await runDueSteps(db(), clock, handler, { backoff: { baseMs: 60_000 } })).toEqual({
      fired: 0,
      retried: 1,
      failed: 0,
    });
    expect(await getActionByKey(db(), 'k16:suspend')).toBeUndefined();
    expect((await listSteps(db(), { subject: 'case:16' }))[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'case row locked by an analyst',
      nextAttemptAt: plus(DAY + 60_000),
      dueAt: plus(DAY),
    });
    clock.advance(59_999);
    expect(await runDueSteps(db(), clock, handler)).toMatchObject({ fired: 0, retried: 0 });
    clock.advance(1);
    expect(await runDueSteps(db(), clock, handler)).toMatchObject({ fired: 1 });
    expect(await getActionByKey(db(), 'k16:suspend')).toMatchObject({ status: 'pending', caseId: 16 });
    expect((await listAudit(db(), { subject: 'case:16' })).map((e) => e.kind)).toEqual([
      'step.scheduled',
      'step.retry',
      'action.enqueued',
      'step.fired',
    ]);
  });

  it('gives up after max attempts', async () => {
    const clock = new ManualClock(T0);
    await schedule({
      subject: 'case:17',
      kind: 'escalate',
      dueAt: plus(HOUR),
      idempotencyKey: 'k17',
      maxAttempts: 2,
    });
    const failing: StepHandler = async () => {
      throw new Error('policy version missing');
    };
    clock.advance(HOUR);
    expect(await runDueSteps(db(), clock, failing, { backoff: { baseMs: 0 } })).toEqual({
      fired: 0,
      retried: 1,
      failed: 0,
    });
    expect(await runDueSteps(db(), clock, failing, { backoff: { baseMs: 0 } })).toEqual({
      fired: 0,
      retried: 0,
      failed: 1,
    });
    expect((await listSteps(db(), { subject: 'case:17' }))[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
    });
    expect(await runDueSteps(db(), clock, failing)).toEqual({ fired: 0, retried: 0, failed: 0 });
    expect((await listAudit(db(), { subject: 'case:17', kind: 'step.failed' })).length).toBe(1);
  });

  it('lets a fired step schedule the next one (an escalation ladder over moved time)', async () => {
    const clock = new ManualClock(T0);
    const order: string[] = [];
    const next: Record<string, { kind: string; after: number } | undefined> = {
      notice: { kind: 'suspend', after: 3 * DAY },
      suspend: { kind: 'terminate', after: 14 * DAY },
    };
    const handler: StepHandler = async (trx, step, { now }) => {
      order.push(`${step.kind}@${now.toISOString()}`);
      const following = next[step.kind];
      if (following) {
        await scheduleStep(trx, {
          at: now,
          subject: step.subject,
          kind: following.kind,
          dueAt: new Date(now.getTime() + following.after),
          idempotencyKey: `${step.subject}:${following.kind}`,
        });
      }
      return undefined;
    };
    await schedule({ subject: 'case:18', kind: 'notice', dueAt: plus(0), idempotencyKey: 'case:18:notice' });
    for (let day = 0; day <= 20; day++) {
      clock.set(plus(day * DAY));
      await runDueSteps(db(), clock, handler);
    }
    expect(order).toEqual([
      `notice@${plus(0).toISOString()}`,
      `suspend@${plus(3 * DAY).toISOString()}`,
      `terminate@${plus(17 * DAY).toISOString()}`,
    ]);
  });

  it('never fires one step twice when runners race', async () => {
    const clock = new ManualClock(T0);
    const counts = new Map<number, number>();
    const handler: StepHandler = async (_trx, step) => {
      counts.set(step.id, (counts.get(step.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
      return undefined;
    };
    for (let i = 0; i < 24; i++) {
      await schedule({
        subject: `case:${100 + i}`,
        kind: 'cure.deadline',
        dueAt: plus(i * 1000),
        idempotencyKey: `race-${i}`,
      });
    }
    clock.advance(DAY);
    const results = await Promise.all([1, 2, 3].map(() => runDueSteps(db(), clock, handler)));
    expect(results.reduce((n, r) => n + r.fired, 0)).toBe(24);
    expect(counts.size).toBe(24);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect((await verifyAudit(db())).ok).toBe(true);
  });
});

describe('scheduler durability', () => {
  /** Opens the same durable database twice in a row, as a restarted process would. */
  const durable = async (): Promise<{ open: () => Promise<Store>; cleanup: () => Promise<void> }> => {
    const url = process.env.DATABASE_URL;
    if (url) {
      const schema = freshSchemaName();
      return {
        open: () => openStore({ databaseUrl: url, schema, poolSize: 2 }),
        cleanup: async () => undefined,
      };
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-scheduler-'));
    return {
      open: () => openStore({ pgliteDir: dir }),
      cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 5 }),
    };
  };

  it('fires a step scheduled before a restart once the clock passes its due time', {
    timeout: 120_000,
  }, async () => {
    const { open, cleanup } = await durable();
    try {
      const clock = new ManualClock(T0);
      const before = await open();
      await before.db.transaction().execute((trx) =>
        scheduleStep(trx, {
          at: clock.now(),
          subject: 'case:77',
          kind: 'cure.deadline',
          dueAt: plus(5 * DAY),
          idempotencyKey: 'case:77:cure',
        }),
      );
      await before.close();

      const after = await open();
      try {
        const { fired, handler } = recorder();
        clock.advance(10 * DAY);
        expect(await runDueSteps(after.db, clock, handler)).toMatchObject({ fired: 1 });
        expect(fired[0]).toMatchObject({ subject: 'case:77', kind: 'cure.deadline', dueAt: plus(5 * DAY) });
        expect((await verifyAudit(after.db)).ok).toBe(true);
      } finally {
        await after.close();
      }
    } finally {
      await cleanup();
    }
  });
});
