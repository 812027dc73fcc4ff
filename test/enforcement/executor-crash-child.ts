/**
 * The worker process of the executor crash tests (executor-crash.test.ts spawns it with `node --import
 * tsx`). It optionally makes the state change (a case moves to "notified" and two actions are enqueued
 * in the same transaction), then runs the outbox executor until nothing is due. At the crash point the
 * test names it prints `CRASHPOINT <where> <key>` and waits to be killed with SIGKILL.
 *
 * Environment: CRASH_PGLITE_DIR or (DATABASE_URL and CRASH_SCHEMA); CRASH_DECIDE=1 to make the state
 * change; CRASH_AT=after-commit|after-claim|after-perform and CRASH_KIND; RECEIVER_URL; EFFECT_FILE;
 * LEASE_MS; CLOCK_OFFSET_MS (a restarted worker sees the dead worker's lease as expired).
 */
import { appendFile } from 'node:fs/promises';
import { appendAudit } from '../../src/audit/audit-log.js';
import type { ActionHandler, JsonValue } from '../../src/enforcement/outbox/action-handler.js';
import { offsetClock, systemClock } from '../../src/enforcement/outbox/clock.js';
import { OutboxExecutor } from '../../src/enforcement/outbox/outbox-executor.js';
import { enqueueAction, type OutboxRecord } from '../../src/enforcement/outbox/outbox-repository.js';
import { AupError } from '../../src/errors.js';
import { openStore } from '../../src/store/database.js';

const env = process.env;
const crashAt = env.CRASH_AT ?? '';
const crashKind = env.CRASH_KIND ?? '';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Announce the crash point and wait for SIGKILL (the interval keeps the event loop alive). */
async function crashPoint(where: string, key: string): Promise<never> {
  say(`CRASHPOINT ${where} ${key}`);
  setInterval(() => undefined, 1_000);
  return new Promise<never>(() => undefined);
}

/** The real side effect: a line in a file, then a POST the receiver dedupes by Idempotency-Key. */
function effectHandler(kind: string): ActionHandler {
  return {
    kind,
    async perform(action, ctx): Promise<JsonValue> {
      await appendFile(env.EFFECT_FILE!, `${kind} ${action.idempotencyKey} attempt=${action.attempt}\n`);
      const response = await fetch(`${env.RECEIVER_URL}/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': action.idempotencyKey },
        body: JSON.stringify({ payload: action.payload, caseId: action.caseId }),
        signal: ctx.signal,
      });
      if (!response.ok) throw new AupError('AUP_ERR_ACTION_FAILED', `receiver answered ${response.status}`);
      return (await response.json()) as JsonValue;
    },
  };
}

const store = await openStore(
  env.CRASH_PGLITE_DIR
    ? { pgliteDir: env.CRASH_PGLITE_DIR }
    : { databaseUrl: env.DATABASE_URL, schema: env.CRASH_SCHEMA!, poolSize: 2 },
);
const clock = offsetClock(systemClock, Number(env.CLOCK_OFFSET_MS ?? 0));

if (env.CRASH_DECIDE === '1') {
  await store.db.transaction().execute(async (trx) => {
    const at = clock.now();
    await enqueueAction(trx, {
      at,
      kind: 'mail.notice',
      idempotencyKey: 'case:1:notice:1',
      payload: { to: 'abuse-contact@customer.example', template: 'notice' },
      caseId: 1,
    });
    await enqueueAction(trx, {
      at,
      kind: 'provision.suspend',
      idempotencyKey: 'case:1:suspend:1',
      payload: { service: 'vps-1001' },
      caseId: 1,
    });
    await appendAudit(trx, {
      at,
      actor: 'system:ladder',
      kind: 'case.state',
      subject: 'case:1',
      payload: { from: 'open', to: 'suspended', reason: 'endangers the infrastructure' },
    });
  });
  say('state-committed');
  if (crashAt === 'after-commit') await crashPoint('after-commit', 'case:1');
}

const executor = new OutboxExecutor({
  db: store.db,
  handlers: [effectHandler('mail.notice'), effectHandler('provision.suspend')],
  clock,
  workerId: `crash-child-${process.pid}`,
  leaseMs: Number(env.LEASE_MS ?? 60_000),
  backoff: { baseMs: 100, jitter: 0 },
  hooks: {
    afterClaim: async (row: OutboxRecord) => {
      if (crashAt === 'after-claim' && row.kind === crashKind)
        await crashPoint('after-claim', row.idempotencyKey);
    },
    afterPerform: async (row: OutboxRecord) => {
      if (crashAt === 'after-perform' && row.kind === crashKind) {
        await crashPoint('after-perform', row.idempotencyKey);
      }
    },
  },
});
const summary = await executor.drain();
say(`drained ${JSON.stringify(summary)}`);
await store.close();
