import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/database.js';
import { freshSchemaName } from '../support/store-backends.js';

/**
 * `kill -9` of the intake process during a burst of 1,000 SMTP messages from 20 concurrent nodemailer
 * clients. The clients then do what a real MTA does with a message that got no `250`: send it again to
 * the restarted server. In the end every message that got a `250` (before or after the crash) is stored
 * once and processed exactly once, and none twice.
 *
 * Durable store: a PGlite data directory on disk, or a fresh schema on PostgreSQL when DATABASE_URL is set.
 */

const CHILD = fileURLToPath(new URL('./smtp-crash-child.ts', import.meta.url));
const TOTAL = 1_000;
const CLIENTS = 20;
const KILL_AFTER = 300;

interface Child {
  readonly process: ChildProcess;
  readonly port: Promise<number>;
  readonly drained: Promise<void>;
}

function startChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let resolvePort!: (p: number) => void;
  let rejectPort!: (e: Error) => void;
  let resolveDrained!: () => void;
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve;
  });
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /READY (\d+)/.exec(out);
    if (m) resolvePort(Number(m[1]));
    if (out.includes('DRAINED')) resolveDrained();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.once('exit', (code, signal) => {
    rejectPort(new Error(`intake child exited (${code ?? signal}) before READY: ${err.slice(-2000)}`));
    resolveDrained();
  });
  return { process: child, port, drained };
}

function messageOf(i: number) {
  return {
    from: `reporter${i % CLIENTS}@example.net`,
    to: 'abuse@desk.test',
    subject: `spam from 192.0.2.${i % 250}`,
    text: `Message ${i}: spam from 192.0.2.${i % 250} at 2026-02-28T22:00:00Z`,
    messageId: `<crash-${i}@example.net>`,
    date: new Date('2026-02-28T22:00:00Z'),
  };
}

describe('SMTP intake crash', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('kill -9 mid-burst: every message that got 250 is stored and processed exactly once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-smtp-crash-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
    const schema = freshSchemaName();
    const env: Record<string, string> = process.env.DATABASE_URL
      ? { CRASH_SCHEMA: schema, CRASH_EVIDENCE_DIR: path.join(dir, 'evidence') }
      : { CRASH_PGLITE_DIR: path.join(dir, 'pglite'), CRASH_EVIDENCE_DIR: path.join(dir, 'evidence') };

    const first = startChild(env);
    cleanup.push(async () => {
      first.process.kill('SIGKILL');
    });
    const port = await first.port;

    const acked = new Set<number>();
    let killed = false;
    const burst = async (client: number, target: number): Promise<number[]> => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: target,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 1,
        connectionTimeout: 5_000,
        socketTimeout: 10_000,
      });
      const unacked: number[] = [];
      for (let i = client; i < TOTAL; i += CLIENTS) {
        try {
          const info = await transport.sendMail(messageOf(i));
          if (/^250/.test(info.response)) acked.add(i);
          else unacked.push(i);
        } catch {
          unacked.push(i);
        }
        if (!killed && acked.size >= KILL_AFTER) {
          killed = true;
          first.process.kill('SIGKILL');
        }
      }
      transport.close();
      return unacked;
    };
    const unacked = (await Promise.all(Array.from({ length: CLIENTS }, (_, c) => burst(c, port)))).flat();
    expect(killed).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(unacked.length).toBeGreaterThan(0);
    const ackedBeforeCrash = acked.size;
    await new Promise<void>((resolve) => {
      if (first.process.exitCode !== null || first.process.signalCode !== null) resolve();
      else first.process.once('exit', () => resolve());
    });

    // Restart; the dead process's leases look expired to the new one.
    const second = startChild({ ...env, CLOCK_OFFSET_MS: '60000' });
    cleanup.push(async () => {
      second.process.kill('SIGKILL');
    });
    const port2 = await second.port;
    // The clients retry what got no 250 (some of it was stored before the crash: those are duplicates).
    const retry = [...new Set(unacked)];
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: port2,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 5,
    });
    await Promise.all(
      retry.map(async (i) => {
        const info = await transport.sendMail(messageOf(i));
        if (/^250/.test(info.response)) acked.add(i);
      }),
    );
    transport.close();
    expect(acked.size).toBe(TOTAL);
    second.process.kill('SIGTERM');
    await second.drained;

    const store: Store = await openStore(
      process.env.DATABASE_URL
        ? { databaseUrl: process.env.DATABASE_URL, schema, poolSize: 2 }
        : { pgliteDir: path.join(dir, 'pglite') },
    );
    try {
      const rows = await store.db.selectFrom('intake_inbox').select(['message_id', 'status']).execute();
      const byId = new Map<string, number>();
      for (const r of rows) byId.set(r.message_id ?? '', (byId.get(r.message_id ?? '') ?? 0) + 1);
      // Stored once each: every acknowledged message has exactly one inbox row, done.
      expect(rows).toHaveLength(TOTAL);
      for (const i of acked) expect(byId.get(`crash-${i}@example.net`)).toBe(1);
      expect(rows.every((r) => r.status === 'done')).toBe(true);
      // Processed exactly once: one effect per message, none twice.
      const effects = await sql<{ message_id: string; n: string }>`
        select message_id, count(*) as n from crash_effects group by message_id`.execute(store.db);
      expect(effects.rows).toHaveLength(TOTAL);
      expect(effects.rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
      console.info(
        `smtp crash: ${ackedBeforeCrash} acknowledged before kill -9, ${retry.length} retried after restart`,
      );
    } finally {
      await store.close();
    }
  }, 300_000);
});
