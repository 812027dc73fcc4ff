import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AupError } from '../errors.js';
import { openStore } from './database.js';
import { acquireEmbeddedStoreLock } from './embedded-store-lock.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'aupdesk-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

const freshDir = (): string => path.join(root, `db${++n}`);

function ownerFile(fields: { pid: number; host?: string; boot?: string }): string {
  return `${JSON.stringify({
    pid: fields.pid,
    host: fields.host ?? hostname(),
    boot: fields.boot ?? currentBoot,
    since: '2026-12-01T00:00:00.000Z',
    command: 'aupdesk serve',
  })}\n`;
}

let currentBoot = '';
beforeAll(async () => {
  currentBoot = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (t) => t.trim(),
    () => '',
  );
});

/** A child process that has exited: its pid is free (and, for the instants of a test, not reused). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function refusal(promise: Promise<unknown>): Promise<AupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AupError);
  expect((error as AupError).code).toBe('AUP_ERR_STORE_IN_USE');
  return error as AupError;
}

describe('embedded store lock', () => {
  it('is held once: a second acquire in the same process is refused; release frees it', async () => {
    const dir = freshDir();
    const lock = await acquireEmbeddedStoreLock(dir);
    expect(JSON.parse(await readFile(`${dir}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    const error = await refusal(acquireEmbeddedStoreLock(dir));
    expect(error.message).toContain('this process already has it open');
    await lock.release();
    await expect(stat(`${dir}.lock`)).rejects.toThrow();
    await lock.release();
    const again = await acquireEmbeddedStoreLock(dir);
    await again.release();
  });

  it('refuses while a live process on this host holds it, naming the process', async () => {
    const dir = freshDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await writeFile(`${dir}.lock`, ownerFile({ pid: holder.pid! }));
      const error = await refusal(acquireEmbeddedStoreLock(dir));
      expect(error.message).toContain(`process ${holder.pid}`);
      expect(error.message).toContain('DATABASE_URL');
      expect(error.details).toMatchObject({ pid: holder.pid, host: hostname() });
      // Still the holder's: a refused acquire never removes a live lock.
      expect(JSON.parse(await readFile(`${dir}.lock`, 'utf8'))).toMatchObject({ pid: holder.pid });
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone (kill -9) or of an earlier boot', async () => {
    for (const stale of [ownerFile({ pid: await deadPid() }), ownerFile({ pid: 1, boot: 'another-boot' })]) {
      const dir = freshDir();
      await writeFile(`${dir}.lock`, stale);
      const lock = await acquireEmbeddedStoreLock(dir);
      expect(JSON.parse(await readFile(`${dir}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
      await lock.release();
    }
  });

  it('never presumes a lock from another host dead, and says how to clear it', async () => {
    const dir = freshDir();
    await writeFile(`${dir}.lock`, ownerFile({ pid: await deadPid(), host: 'other-host.example' }));
    const error = await refusal(acquireEmbeddedStoreLock(dir));
    expect(error.message).toContain('on other-host.example');
    expect(error.message).toContain(`remove ${dir}.lock`);
  });

  it('takes over an unreadable lock file (a creator that died before writing it) once it is old', async () => {
    const dir = freshDir();
    await writeFile(`${dir}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${dir}.lock`, old, old);
    const lock = await acquireEmbeddedStoreLock(dir);
    await lock.release();
  });

  it('openStore: a second open of one embedded data directory is refused until the first closes', async () => {
    const dir = freshDir();
    const first = await openStore({ pgliteDir: dir });
    expect(first.exclusive).toBe(true);
    try {
      await refusal(openStore({ pgliteDir: dir }));
      // The first store is unharmed by the refused open.
      await expect(first.db.selectFrom('intake_inbox').select('id').execute()).resolves.toEqual([]);
    } finally {
      await first.close();
    }
    const second = await openStore({ pgliteDir: dir });
    await second.close();
  });
});
