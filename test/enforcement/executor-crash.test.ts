import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit, verifyAudit } from '../../src/audit/audit-log.js';
import { listActions, type OutboxRecord } from '../../src/enforcement/outbox/outbox-repository.js';
import { openStore, type Store } from '../../src/store/database.js';
import { freshSchemaName } from '../support/store-backends.js';

/**
 * The executor is killed with SIGKILL at the worst moments and restarted; the far end must see exactly
 * one effective notice and one effective suspension, and the outbox must end `done`.
 *
 * The worker is a real child process (executor-crash-child.ts) against a durable database: a PGlite
 * data directory on disk (single-process: the child is dead before anyone opens it again), or, when
 * DATABASE_URL is set, a fresh schema on the PostgreSQL server. Its handler writes a line to a file and
 * POSTs to a loopback receiver that, like a real provisioning endpoint, dedupes by `Idempotency-Key`
 * and records every receipt.
 */

const CHILD = fileURLToPath(new URL('./executor-crash-child.ts', import.meta.url));
const LEASE_MS = 60_000;
const NOTICE = 'case:1:notice:1';
const SUSPEND = 'case:1:suspend:1';

interface Receipt {
  readonly path: string;
  readonly key: string;
  readonly duplicate: boolean;
}

/** The far end: answers a repeated Idempotency-Key with the first answer and counts both. */
async function startReceiver(): Promise<{ url: string; receipts: Receipt[]; server: Server }> {
  const receipts: Receipt[] = [];
  const first = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      if (!key) {
        res.writeHead(400).end();
        return;
      }
      const duplicate = first.has(key);
      if (!duplicate) {
        first.set(
          key,
          JSON.stringify({ effect: receipts.filter((r) => !r.duplicate).length + 1, path: req.url, key }),
        );
      }
      receipts.push({ path: req.url ?? '', key, duplicate });
      res.writeHead(200, { 'content-type': 'application/json' }).end(first.get(key));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, receipts, server };
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the worker; kills it with SIGKILL as soon as it announces a crash point. */
function runWorker(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (/^CRASHPOINT /m.test(stdout)) child.kill('SIGKILL');
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

interface Fixture {
  dbEnv: Record<string, string>;
  open(): Promise<Store>;
  effectFile: string;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
  cleanup(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-crash-'));
  const receiver = await startReceiver();
  const url = process.env.DATABASE_URL;
  const schema = freshSchemaName();
  const pgliteDir = path.join(dir, 'pglite');
  return {
    dbEnv: url ? { DATABASE_URL: url, CRASH_SCHEMA: schema } : { CRASH_PGLITE_DIR: pgliteDir },
    open: () =>
      url ? openStore({ databaseUrl: url, schema, poolSize: 2 }) : openStore({ pgliteDir: pgliteDir }),
    effectFile: path.join(dir, 'effects.log'),
    receiver,
    cleanup: async () => {
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

function workerEnv(f: Fixture, extra: Record<string, string>): Record<string, string> {
  return {
    ...f.dbEnv,
    RECEIVER_URL: f.receiver.url,
    EFFECT_FILE: f.effectFile,
    LEASE_MS: String(LEASE_MS),
    ...extra,
  };
}

/** The restarted worker: its clock is past the dead worker's lease, as it would be a lease later. */
const restart = (f: Fixture) =>
  runWorker(workerEnv(f, { CLOCK_OFFSET_MS: String(LEASE_MS + 1_000), CRASH_AT: '' }));

async function effectLines(f: Fixture): Promise<string[]> {
  const text = await readFile(f.effectFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

async function finalState(
  f: Fixture,
): Promise<{ actions: OutboxRecord[]; auditOk: boolean; kinds: string[] }> {
  const store = await f.open();
  try {
    const actions = await listActions(store.db, { caseId: 1 });
    const verification = await verifyAudit(store.db);
    const kinds = (await listAudit(store.db, { subject: 'case:1', limit: 1000 })).map((e) => e.kind);
    return { actions, auditOk: verification.ok, kinds };
  } finally {
    await store.close();
  }
}

function effective(receipts: readonly Receipt[], key: string): { receipts: number; effective: number } {
  const forKey = receipts.filter((r) => r.key === key);
  return { receipts: forKey.length, effective: forKey.filter((r) => !r.duplicate).length };
}

function expectRunOk(run: Run): void {
  expect(run.signal, run.stderr).toBeNull();
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^drained /m);
}

describe(`outbox executor killed and restarted [${process.env.DATABASE_URL ? 'postgres' : 'pglite on disk'}]`, () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('killed after the state change committed, before any action was claimed', {
    timeout: 120_000,
  }, async () => {
    const crashed = await runWorker(workerEnv(f, { CRASH_DECIDE: '1', CRASH_AT: 'after-commit' }));
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(crashed.stdout).toContain('state-committed');
    expect(f.receiver.receipts).toHaveLength(0);

    // Nothing was claimed, so no lease stands in the way: a restart at the same time finds both due.
    expectRunOk(await runWorker(workerEnv(f, { CRASH_AT: '' })));

    expect(effective(f.receiver.receipts, NOTICE)).toEqual({ receipts: 1, effective: 1 });
    expect(effective(f.receiver.receipts, SUSPEND)).toEqual({ receipts: 1, effective: 1 });
    const state = await finalState(f);
    expect(state.actions.map((a) => [a.idempotencyKey, a.status, a.attempts])).toEqual([
      [NOTICE, 'done', 1],
      [SUSPEND, 'done', 1],
    ]);
    expect(state.auditOk).toBe(true);
  });

  it('killed after claiming the notice, before performing it', { timeout: 120_000 }, async () => {
    const crashed = await runWorker(
      workerEnv(f, { CRASH_DECIDE: '1', CRASH_AT: 'after-claim', CRASH_KIND: 'mail.notice' }),
    );
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(crashed.stdout).toContain(`CRASHPOINT after-claim ${NOTICE}`);
    expect(f.receiver.receipts).toHaveLength(0);
    expect(await effectLines(f)).toEqual([]);

    // Restarted before the lease ran out: the claimed notice waits, the untouched suspension goes.
    expectRunOk(await runWorker(workerEnv(f, { CRASH_AT: '' })));
    expect(effective(f.receiver.receipts, NOTICE)).toEqual({ receipts: 0, effective: 0 });
    expect(effective(f.receiver.receipts, SUSPEND)).toEqual({ receipts: 1, effective: 1 });

    // A lease later the notice is reclaimed and sent.
    expectRunOk(await restart(f));
    expect(effective(f.receiver.receipts, NOTICE)).toEqual({ receipts: 1, effective: 1 });
    expect(effective(f.receiver.receipts, SUSPEND)).toEqual({ receipts: 1, effective: 1 });
    expect(await effectLines(f)).toEqual([
      `provision.suspend ${SUSPEND} attempt=1`,
      `mail.notice ${NOTICE} attempt=2`,
    ]);

    const state = await finalState(f);
    expect(state.actions.map((a) => [a.idempotencyKey, a.status, a.attempts])).toEqual([
      [NOTICE, 'done', 2],
      [SUSPEND, 'done', 1],
    ]);
    expect(state.auditOk).toBe(true);
    expect(state.kinds.filter((k) => k === 'action.performed')).toHaveLength(2);
  });

  it('killed after the suspension took effect, before the outcome was recorded', {
    timeout: 120_000,
  }, async () => {
    const crashed = await runWorker(
      workerEnv(f, { CRASH_DECIDE: '1', CRASH_AT: 'after-perform', CRASH_KIND: 'provision.suspend' }),
    );
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(crashed.stdout).toContain(`CRASHPOINT after-perform ${SUSPEND}`);
    // The effect really happened before the kill: the receiver has it, the outbox does not know.
    expect(effective(f.receiver.receipts, SUSPEND)).toEqual({ receipts: 1, effective: 1 });
    expect(effective(f.receiver.receipts, NOTICE)).toEqual({ receipts: 1, effective: 1 });

    expectRunOk(await restart(f));

    // Delivered twice (at least once), took effect once (the receiver deduped by Idempotency-Key).
    expect(effective(f.receiver.receipts, SUSPEND)).toEqual({ receipts: 2, effective: 1 });
    expect(effective(f.receiver.receipts, NOTICE)).toEqual({ receipts: 1, effective: 1 });
    expect(await effectLines(f)).toEqual([
      `mail.notice ${NOTICE} attempt=1`,
      `provision.suspend ${SUSPEND} attempt=1`,
      `provision.suspend ${SUSPEND} attempt=2`,
    ]);

    const state = await finalState(f);
    expect(state.actions.map((a) => [a.idempotencyKey, a.status, a.attempts])).toEqual([
      [NOTICE, 'done', 1],
      [SUSPEND, 'done', 2],
    ]);
    // The recorded result is the far end's answer to the first (effective) delivery.
    expect(state.actions[1]?.result).toMatchObject({ key: SUSPEND, path: '/provision.suspend' });
    expect(state.auditOk).toBe(true);
    expect(state.kinds).toEqual([
      'action.enqueued',
      'action.enqueued',
      'case.state',
      'action.performed',
      'action.performed',
    ]);
  });
});
