import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { appendAudit, listAudit, verifyAudit } from '../../audit/audit-log.js';
import { AupError, isAupError } from '../../errors.js';
import type { ActionContext, ActionHandler, JsonValue, OutboxAction } from './action-handler.js';
import { defineActionHandler } from './action-handler.js';
import { ManualClock } from './clock.js';
import { OutboxExecutor } from './outbox-executor.js';
import {
  claimDueActions,
  enqueueAction,
  getAction,
  getActionByKey,
  listActions,
  markActionDone,
  markActionsDone,
  outboxStats,
  retryDeadAction,
} from './outbox-repository.js';

const T0 = '2025-01-06T09:00:00.000Z';

/** A handler that records every call and fails the first `failures` of them. */
function recordingHandler(kind: string, failures = 0, error: () => Error = () => new Error('relay down')) {
  const calls: { key: string; attempt: number; payload: unknown; ctxKey: string }[] = [];
  const handler: ActionHandler = {
    kind,
    async perform(action: OutboxAction, ctx: ActionContext): Promise<JsonValue> {
      calls.push({
        key: action.idempotencyKey,
        attempt: action.attempt,
        payload: action.payload,
        ctxKey: ctx.idempotencyKey,
      });
      if (calls.length <= failures) throw error();
      return { accepted: action.idempotencyKey };
    },
  };
  return { handler, calls };
}

describe('OutboxExecutor backoff', () => {
  it('doubles from the base, caps at the maximum and takes jitter off, never adds it', () => {
    const make = (random: number) =>
      new OutboxExecutor({
        db: undefined as never,
        handlers: [],
        backoff: { baseMs: 1_000, maxMs: 10_000, jitter: 0.5 },
        random: () => random,
      });
    expect([1, 2, 3, 4, 5, 9].map((n) => make(0).retryDelayMs(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
    expect(make(1).retryDelayMs(3)).toBe(2_000);
  });

  it('refuses two handlers for one kind', () => {
    const { handler } = recordingHandler('mail.notice');
    expect(() => new OutboxExecutor({ db: undefined as never, handlers: [handler, handler] })).toThrow(
      AupError,
    );
  });
});

describeEachBackend('outbox', (ctx) => {
  const db = () => ctx.store.db;

  it('commits an action with the state change that decided it, and not without it', async () => {
    const clock = new ManualClock(T0);
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await enqueueAction(trx, {
            at: clock.now(),
            kind: 'mail.notice',
            idempotencyKey: 'case:1:notice:1',
            payload: { to: 'abuse@example.net' },
            caseId: 1,
          });
          throw new Error('case update failed');
        }),
    ).rejects.toThrow('case update failed');
    expect(await getActionByKey(db(), 'case:1:notice:1')).toBeUndefined();

    const enqueued = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, {
          at: clock.now(),
          kind: 'mail.notice',
          idempotencyKey: 'case:1:notice:1',
          payload: { to: 'abuse@example.net', at: new Date(T0) },
          caseId: 1,
          actor: 'user:analyst-1',
        }),
      );
    expect(enqueued).toMatchObject({ created: true, status: 'pending' });
    const row = await getAction(db(), enqueued.id);
    expect(row).toMatchObject({
      kind: 'mail.notice',
      status: 'pending',
      attempts: 0,
      maxAttempts: 8,
      caseId: 1,
      payload: { to: 'abuse@example.net', at: T0 },
      nextAttemptAt: new Date(T0),
      createdAt: new Date(T0),
    });
    const audit = await listAudit(db(), { subject: 'case:1', kind: 'action.enqueued' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'user:analyst-1',
      payload: { action: enqueued.id, kind: 'mail.notice' },
    });
  });

  it('writes one row for one idempotency key, and refuses the key for another kind', async () => {
    const clock = new ManualClock(T0);
    const enqueue = (kind: string) =>
      db()
        .transaction()
        .execute((trx) =>
          enqueueAction(trx, {
            at: clock.now(),
            kind,
            idempotencyKey: 'case:2:suspend',
            payload: { service: 'vps-9' },
          }),
        );
    const first = await enqueue('provision.suspend');
    const second = await enqueue('provision.suspend');
    expect(second).toEqual({ id: first.id, created: false, status: 'pending' });
    expect(await listActions(db(), { kind: 'provision.suspend' })).toHaveLength(1);
    const error = await enqueue('provision.terminate').catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_STORE_CONFLICT')).toBe(true);
  });

  it('refuses malformed actions by code', async () => {
    const error = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, { at: new Date(T0), kind: 'Mail Notice', idempotencyKey: 'x', payload: {} }),
      )
      .catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_INPUT_INVALID')).toBe(true);
  });

  it('performs a due action once, with its idempotency key, and records result and audit together', async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler('test.perform');
    const { id } = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.perform',
          idempotencyKey: 'perform-1',
          payload: { n: 1 },
          caseId: 7,
          notBefore: new Date(Date.parse(T0) + 60_000),
        }),
      );
    const executor = new OutboxExecutor({ db: db(), handlers: [handler], clock, workerId: 'w1' });
    expect(await executor.drain()).toMatchObject({ claimed: 0 });
    clock.advance(60_000);
    expect(await executor.drain()).toEqual({ claimed: 1, done: 1, retried: 0, dead: 0, lost: 0 });
    expect(await executor.drain()).toMatchObject({ claimed: 0 });
    expect(calls).toEqual([{ key: 'perform-1', attempt: 1, payload: { n: 1 }, ctxKey: 'perform-1' }]);
    expect(await getAction(db(), id)).toMatchObject({
      status: 'done',
      attempts: 1,
      result: { accepted: 'perform-1' },
      doneAt: clock.now(),
      claimedBy: null,
      claimedUntil: null,
    });
    const performed = await listAudit(db(), { subject: 'case:7', kind: 'action.performed' });
    expect(performed).toHaveLength(1);
    expect(performed[0]).toMatchObject({
      actor: 'system:outbox',
      at: clock.now(),
      payload: { action: id, attempt: 1, result: { accepted: 'perform-1' } },
    });
  });

  it("records a round's outcomes together, in claim order; one the store refuses keeps none of the others back", async () => {
    const clock = new ManualClock(T0);
    const performed: string[] = [];
    // The third action's result cannot be stored (not JSON): its record fails, the others' must not.
    const handler: ActionHandler = {
      kind: 'test.round',
      async perform(action: OutboxAction): Promise<JsonValue> {
        performed.push(action.idempotencyKey);
        const unstorable = action.idempotencyKey === 'round-3' && action.attempt === 1;
        return (unstorable ? { n: 1n } : { ok: action.idempotencyKey }) as JsonValue;
      },
    };
    const ids: number[] = [];
    for (let n = 1; n <= 5; n++) {
      const { id } = await db()
        .transaction()
        .execute((trx) =>
          enqueueAction(trx, {
            at: clock.now(),
            kind: 'test.round',
            idempotencyKey: `round-${n}`,
            payload: {},
            caseId: 70,
          }),
        );
      ids.push(id);
    }
    const executor = new OutboxExecutor({ db: db(), handlers: [handler], clock, workerId: 'w-round' });
    await expect(executor.runOnce(10)).rejects.toThrow(/not representable as JSON/);
    expect(performed).toEqual(['round-1', 'round-2', 'round-3', 'round-4', 'round-5']);
    const statuses = await Promise.all(ids.map(async (id) => (await getAction(db(), id))?.status));
    expect(statuses).toEqual(['done', 'done', 'running', 'done', 'done']);
    const audited = await listAudit(db(), { subject: 'case:70', kind: 'action.performed' });
    expect(audited.map((e) => (e.payload as { idempotencyKey: string }).idempotencyKey)).toEqual([
      'round-1',
      'round-2',
      'round-4',
      'round-5',
    ]);
    expect(await verifyAudit(db())).toMatchObject({ ok: true });
    // Unrecorded, it is performed again once its lease runs out (at least once), and then recorded.
    clock.advance(6 * 60_000);
    expect(await executor.drain()).toMatchObject({ claimed: 1, done: 1 });
    expect((await getAction(db(), ids[2]!))?.status).toBe('done');
  });

  it('tells a handler the round of its kind before performing any (prepare); a failing prepare stops nothing', async () => {
    const clock = new ManualClock(T0);
    const events: string[] = [];
    let failPrepare = false;
    const handler: ActionHandler = {
      kind: 'test.prepared',
      async prepare(actions) {
        events.push(`prepare ${actions.map((a) => a.idempotencyKey).join(',')}`);
        if (failPrepare) throw new Error('the store is busy');
      },
      async perform(action: OutboxAction): Promise<JsonValue> {
        events.push(`perform ${action.idempotencyKey}`);
        return { ok: true };
      },
    };
    const enqueue = (key: string) =>
      db()
        .transaction()
        .execute((trx) =>
          enqueueAction(trx, {
            at: clock.now(),
            kind: 'test.prepared',
            idempotencyKey: key,
            payload: {},
            caseId: 71,
          }),
        );
    for (const key of ['p1', 'p2', 'p3']) await enqueue(key);
    const executor = new OutboxExecutor({ db: db(), handlers: [handler], clock, workerId: 'w-prep' });
    expect(await executor.runOnce(10)).toMatchObject({ claimed: 3, done: 3 });
    expect(events).toEqual(['prepare p1,p2,p3', 'perform p1', 'perform p2', 'perform p3']);
    // A round of one is not prepared; a prepare that throws leaves the round to perform one by one.
    events.length = 0;
    await enqueue('p4');
    expect(await executor.runOnce(10)).toMatchObject({ claimed: 1, done: 1 });
    expect(events).toEqual(['perform p4']);
    events.length = 0;
    failPrepare = true;
    for (const key of ['p5', 'p6']) await enqueue(key);
    expect(await executor.runOnce(10)).toMatchObject({ claimed: 2, done: 2 });
    expect(events).toEqual(['prepare p5,p6', 'perform p5', 'perform p6']);
  });

  it('retries with exponential backoff and succeeds', async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler(
      'test.retry',
      2,
      () => new AupError('AUP_ERR_ACTION_FAILED', 'SMTP 451'),
    );
    const { id } = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, { at: clock.now(), kind: 'test.retry', idempotencyKey: 'retry-1', payload: {} }),
      );
    const executor = new OutboxExecutor({
      db: db(),
      handlers: [handler],
      clock,
      backoff: { baseMs: 10_000, maxMs: 3_600_000, jitter: 0 },
    });
    expect(await executor.drain()).toMatchObject({ claimed: 1, retried: 1 });
    expect(await getAction(db(), id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'AUP_ERR_ACTION_FAILED: SMTP 451',
      nextAttemptAt: new Date(Date.parse(T0) + 10_000),
    });
    clock.advance(9_999);
    expect(await executor.drain()).toMatchObject({ claimed: 0 });
    clock.advance(1);
    expect(await executor.drain()).toMatchObject({ claimed: 1, retried: 1 });
    expect((await getAction(db(), id))?.nextAttemptAt).toEqual(new Date(Date.parse(T0) + 10_000 + 20_000));
    clock.advance(20_000);
    expect(await executor.drain()).toMatchObject({ claimed: 1, done: 1 });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(await getAction(db(), id)).toMatchObject({ status: 'done', attempts: 3, lastError: null });
    const kinds = (await listAudit(db(), { subject: `action:${id}` })).map((e) => e.kind);
    expect(kinds).toEqual(['action.enqueued', 'action.failed', 'action.failed', 'action.performed']);
  });

  it('goes dead after max attempts, and an operator retry brings it back', async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler('test.dead', 3);
    const { id } = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.dead',
          idempotencyKey: 'dead-1',
          payload: {},
          maxAttempts: 2,
        }),
      );
    const executor = new OutboxExecutor({
      db: db(),
      handlers: [handler],
      clock,
      backoff: { baseMs: 1_000, jitter: 0 },
    });
    await executor.drain();
    clock.advance(1_000);
    expect(await executor.drain()).toMatchObject({ claimed: 1, dead: 1 });
    clock.advance(3_600_000);
    expect(await executor.drain()).toMatchObject({ claimed: 0 });
    expect(await getAction(db(), id)).toMatchObject({ status: 'dead', attempts: 2, lastError: 'relay down' });
    expect((await listAudit(db(), { subject: `action:${id}`, kind: 'action.dead' })).length).toBe(1);

    await db()
      .transaction()
      .execute((trx) =>
        retryDeadAction(trx, id, { at: clock.now(), actor: 'user:ops', reason: 'relay fixed' }),
      );
    expect(await executor.drain()).toMatchObject({ claimed: 1, retried: 1 });
    clock.advance(1_000);
    expect(await executor.drain()).toMatchObject({ claimed: 1, done: 1 });
    expect(calls).toHaveLength(4);
    expect(new Set(calls.map((c) => c.key))).toEqual(new Set(['dead-1']));
  });

  it('goes dead at once when the far end refuses, or the payload fails the handler schema', async () => {
    const clock = new ManualClock(T0);
    const refused = recordingHandler(
      'test.refused',
      99,
      () => new AupError('AUP_ERR_ACTION_REJECTED', 'HTTP 400'),
    );
    const typed = defineActionHandler({
      kind: 'test.typed',
      payloadSchema: z.object({ service: z.string() }),
      perform: async (action) => ({ suspended: action.payload.service }),
    });
    await db()
      .transaction()
      .execute(async (trx) => {
        await enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.refused',
          idempotencyKey: 'refused-1',
          payload: {},
        });
        await enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.typed',
          idempotencyKey: 'typed-bad',
          payload: { service: 3 },
        });
        await enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.typed',
          idempotencyKey: 'typed-ok',
          payload: { service: 'vps-1' },
        });
      });
    const executor = new OutboxExecutor({ db: db(), handlers: [refused.handler, typed], clock });
    expect(await executor.drain()).toMatchObject({ claimed: 3, done: 1, dead: 2 });
    expect(await getActionByKey(db(), 'refused-1')).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'AUP_ERR_ACTION_REJECTED: HTTP 400',
    });
    expect((await getActionByKey(db(), 'typed-bad'))?.lastError).toMatch(/payload invalid at service/);
    expect(await getActionByKey(db(), 'typed-ok')).toMatchObject({
      status: 'done',
      result: { suspended: 'vps-1' },
    });
  });

  it('leaves kinds it has no handler for to other workers', async () => {
    const clock = new ManualClock(T0);
    await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.elsewhere',
          idempotencyKey: 'elsewhere-1',
          payload: {},
        }),
      );
    const { handler } = recordingHandler('test.nothing-due');
    await new OutboxExecutor({ db: db(), handlers: [handler], clock }).drain();
    expect(await getActionByKey(db(), 'elsewhere-1')).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it("reclaims a crashed worker's row when its lease expires, and fences the late worker's record", async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler('test.lease');
    const { id } = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, { at: clock.now(), kind: 'test.lease', idempotencyKey: 'lease-1', payload: {} }),
      );
    // Worker A claims and then "crashes": it never records.
    const [claimed] = await claimDueActions(db(), {
      workerId: 'worker-a',
      now: clock.now(),
      leaseMs: 60_000,
      kinds: ['test.lease'],
      limit: 5,
    });
    expect(claimed).toMatchObject({ id, status: 'running', attempts: 1, claimedBy: 'worker-a' });
    expect(claimed?.claimedUntil).toEqual(new Date(Date.parse(T0) + 60_000));

    const b = new OutboxExecutor({
      db: db(),
      handlers: [handler],
      clock,
      workerId: 'worker-b',
      leaseMs: 60_000,
    });
    clock.advance(59_999);
    expect(await b.drain()).toMatchObject({ claimed: 0 });
    clock.advance(1);
    expect(await b.drain()).toMatchObject({ claimed: 1, done: 1 });
    expect(calls).toEqual([{ key: 'lease-1', attempt: 2, payload: {}, ctxKey: 'lease-1' }]);

    // Worker A wakes up and tries to record its (first) attempt: the fence refuses it.
    const late = await db()
      .transaction()
      .execute((trx) =>
        markActionDone(trx, { id, workerId: 'worker-a', attempt: 1 }, clock.now(), { late: true }),
      );
    expect(late).toBeUndefined();
    expect(await getAction(db(), id)).toMatchObject({
      status: 'done',
      attempts: 2,
      result: { accepted: 'lease-1' },
    });
  });

  it('marks a round done in one statement: only the claims still held, a null result as JSON null', async () => {
    const clock = new ManualClock(T0);
    const ids: number[] = [];
    for (const key of ['marks-1', 'marks-2', 'marks-3']) {
      const { id } = await db()
        .transaction()
        .execute((trx) =>
          enqueueAction(trx, { at: clock.now(), kind: 'test.marks', idempotencyKey: key, payload: {} }),
        );
      ids.push(id);
    }
    const claimed = await claimDueActions(db(), {
      workerId: 'worker-r',
      now: clock.now(),
      leaseMs: 60_000,
      kinds: ['test.marks'],
      limit: 5,
    });
    expect(claimed.map((c) => c.id).sort()).toEqual([...ids].sort());
    const [first, second, third] = ids as [number, number, number];
    const now = clock.now();
    const done = await db()
      .transaction()
      .execute((trx) =>
        markActionsDone(trx, [
          { fence: { id: first, workerId: 'worker-r', attempt: 1 }, now, result: { sent: 'a' } },
          // Another worker's fence, and a past attempt's: both refused, their rows left running.
          { fence: { id: second, workerId: 'worker-x', attempt: 1 }, now, result: { sent: 'b' } },
          { fence: { id: third, workerId: 'worker-r', attempt: 0 }, now, result: null },
        ]),
      );
    expect([...done.keys()]).toEqual([first]);
    expect(done.get(first)).toMatchObject({
      status: 'done',
      result: { sent: 'a' },
      claimedBy: null,
      doneAt: now,
    });
    expect(await getAction(db(), second)).toMatchObject({
      status: 'running',
      claimedBy: 'worker-r',
      result: null,
    });
    const nulls = await db()
      .transaction()
      .execute((trx) =>
        markActionsDone(trx, [{ fence: { id: third, workerId: 'worker-r', attempt: 1 }, now, result: null }]),
      );
    expect(nulls.get(third)).toMatchObject({ status: 'done', result: null });
    // Stored as the JSON value null, as the one-action update stored it, not as SQL NULL.
    const stored = await sql<{ kind: string | null }>`select jsonb_typeof(result) as kind from outbox_actions
      where id = ${third}`.execute(db());
    expect(stored.rows).toEqual([{ kind: 'null' }]);
    // The claim's own worker still records the one another worker's fence could not.
    const own = await db()
      .transaction()
      .execute((trx) =>
        markActionsDone(trx, [{ fence: { id: second, workerId: 'worker-r', attempt: 1 }, now, result: {} }]),
      );
    expect(own.get(second)).toMatchObject({ status: 'done', result: {} });
  });

  it('declares dead a row whose lease ran out on its last attempt', async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler('test.exhausted');
    const { id } = await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, {
          at: clock.now(),
          kind: 'test.exhausted',
          idempotencyKey: 'exhausted-1',
          payload: {},
          maxAttempts: 1,
        }),
      );
    await claimDueActions(db(), {
      workerId: 'crashed',
      now: clock.now(),
      leaseMs: 1_000,
      kinds: ['test.exhausted'],
      limit: 1,
    });
    clock.advance(1_000);
    expect(await new OutboxExecutor({ db: db(), handlers: [handler], clock }).drain()).toMatchObject({
      claimed: 0,
      dead: 1,
    });
    expect(calls).toHaveLength(0);
    expect((await listAudit(db(), { subject: `action:${id}`, kind: 'action.dead' })).length).toBe(1);
    expect((await getAction(db(), id))?.lastError).toMatch(
      /lease expired on the last attempt \(worker crashed or timed out\); claimed by crashed/,
    );
  });

  it('lets concurrent executors share the work without performing any action twice', async () => {
    const clock = new ManualClock(T0);
    const seen = new Map<string, number>();
    const handler: ActionHandler = {
      kind: 'test.concurrent',
      async perform(action) {
        seen.set(action.idempotencyKey, (seen.get(action.idempotencyKey) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 2));
        return null;
      },
    };
    await db()
      .transaction()
      .execute(async (trx) => {
        for (let i = 0; i < 30; i++) {
          await enqueueAction(trx, {
            at: clock.now(),
            kind: 'test.concurrent',
            idempotencyKey: `concurrent-${i}`,
            payload: { i },
          });
        }
      });
    const executors = ['c1', 'c2', 'c3'].map(
      (workerId) => new OutboxExecutor({ db: db(), handlers: [handler], clock, workerId }),
    );
    const summaries = await Promise.all(executors.map((e) => e.drain({ batch: 3 })));
    expect(summaries.reduce((n, s) => n + s.done, 0)).toBe(30);
    expect(seen.size).toBe(30);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('runs in the background until stopped', async () => {
    const clock = new ManualClock(T0);
    const { handler, calls } = recordingHandler('test.background');
    await db()
      .transaction()
      .execute((trx) =>
        enqueueAction(trx, { at: clock.now(), kind: 'test.background', idempotencyKey: 'bg-1', payload: {} }),
      );
    const executor = new OutboxExecutor({ db: db(), handlers: [handler], clock });
    executor.start({ pollMs: 5, concurrency: 2 });
    for (let i = 0; i < 200 && (await getActionByKey(db(), 'bg-1'))?.status !== 'done'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await executor.stop();
    expect(calls).toHaveLength(1);
    expect((await getActionByKey(db(), 'bg-1'))?.status).toBe('done');
  });

  it('keeps the audit chain whole across all of it', async () => {
    const stats = await outboxStats(db());
    expect(stats.done).toBeGreaterThan(30);
    expect(stats.running).toBe(0);
    // An unrelated append in between must still chain.
    await db()
      .transaction()
      .execute((trx) =>
        appendAudit(trx, { at: new Date(T0), actor: 'system', kind: 'test.end', subject: 'test:end' }),
      );
    expect(await verifyAudit(db())).toMatchObject({ ok: true });
    const counts = await sql<{ n: string | number }>`select count(*) as n from audit_log`.execute(db());
    expect(Number(counts.rows[0]?.n)).toBeGreaterThan(60);
  });
});
