import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { createSession, findSession } from '../accounts/session-repository.js';
import { createUser } from '../accounts/user-repository.js';
import { loadConfig } from '../config.js';
import { ManualClock } from '../enforcement/outbox/clock.js';
import { type ServeHandle, startServe } from './serve.js';
import { Housekeeping, housekeepingTasks } from './serve-housekeeping.js';

/**
 * The desk's upkeep runs by itself on its intervals: expired sessions disappear while live ones stay, and on
 * the embedded store the planner statistics follow the data (ANALYZE) without anyone asking.
 */

const HOUR = 3_600_000;

async function until(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeEachBackend('serve housekeeping', (ctx) => {
  let handle: ServeHandle | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await handle?.stop();
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    handle = undefined;
    dir = undefined;
  });

  it('purges expired sessions periodically and keeps live ones', async () => {
    const clock = new ManualClock('2026-03-01T08:00:00.000Z');
    const db = ctx.store.db;
    const user = await createUser(db, { email: 'hk@desk.example', role: 'analyst', now: clock.now() });
    const old = await createSession(db, {
      userId: user.id,
      now: new Date(clock.now().getTime() - 13 * HOUR),
    });
    const live = await createSession(db, { userId: user.id, now: clock.now() });
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-hk-'));
    handle = await startServe(
      { role: 'api', host: '127.0.0.1', httpPort: 0, policyDir: path.join(dir, 'none') },
      {
        config: loadConfig({ AUPDESK_DATA: dir }),
        store: ctx.store,
        clock,
        env: {},
        logger: pino({ level: 'silent' }),
        intervals: { registryMs: 60_000, sessionPurgeMs: 40, analyzeMs: 60_000 },
      },
    );
    const count = async () =>
      Number((await db.selectFrom('sessions').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    await until('the expired session to be purged', async () => (await count()) === 1);
    expect(await findSession(db, live.token, clock.now())).toBeDefined();
    expect(await findSession(db, old.token, clock.now())).toBeUndefined();

    // Not only at start: a session that expires later goes at a later turn.
    clock.advance(13 * HOUR);
    await until('the second session to be purged', async () => (await count()) === 0);
  });

  it('runs ANALYZE on the embedded store at its interval (none on a PostgreSQL server)', async () => {
    const db = ctx.store.db;
    await sql`create table hk_probe (n int)`.execute(db);
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-hk-'));
    handle = await startServe(
      { role: 'api', host: '127.0.0.1', httpPort: 0, policyDir: path.join(dir, 'none') },
      {
        config: loadConfig({ AUPDESK_DATA: dir }),
        store: ctx.store,
        env: {},
        logger: pino({ level: 'silent' }),
        intervals: { registryMs: 60_000, sessionPurgeMs: 60_000, analyzeMs: 40 },
      },
    );
    // Rows added while the desk runs: the statistics catch up at a later round of the task.
    await sql`insert into hk_probe select generate_series(1, 750)`.execute(db);
    const reltuples = async () =>
      Number(
        (
          await sql<{
            reltuples: number;
          }>`select reltuples from pg_class where oid = 'hk_probe'::regclass`.execute(db)
        ).rows[0]?.reltuples,
      );
    if (ctx.store.kind === 'pglite') {
      await until('ANALYZE to count the new rows', async () => (await reltuples()) === 750);
    } else {
      expect(
        housekeepingTasks({ store: ctx.store, clock: handle.clock, purgeSessions: true }).map((t) => t.id),
      ).toEqual(['purge-sessions']);
    }
    await sql`drop table hk_probe`.execute(db);
  });
});

describe('Housekeeping', () => {
  it('keeps running a task after it failed, and stop waits for a running task', async () => {
    const logged: string[] = [];
    const logger = {
      info: () => undefined,
      debug: () => undefined,
      warn: (fields: { task: string }) => logged.push(fields.task),
    } as unknown as Logger;
    let calls = 0;
    let finished = 0;
    const keeper = new Housekeeping(
      [
        {
          id: 'flaky',
          everyMs: 5,
          atStart: true,
          run: async () => {
            calls++;
            if (calls === 1) throw new Error('first round fails');
            await new Promise((resolve) => setTimeout(resolve, 5));
            finished++;
            return undefined;
          },
        },
      ],
      logger,
    );
    keeper.start();
    await until('three rounds', async () => calls >= 3);
    await keeper.stop();
    const after = calls;
    expect(logged).toEqual(['flaky']);
    expect(finished).toBe(calls - 1);
    expect(keeper.runs.get('flaky')).toBe(finished);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(after);
  });
});
