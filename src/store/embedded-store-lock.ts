import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AupError, isErrno } from '../errors.js';
import { processExists } from '../process-identity.js';

/**
 * The embedded store belongs to one process at a time. PGlite has no postmaster and takes no lock of its
 * own: two processes that open one data directory both succeed and then write over each other's pages (an
 * `aupdesk registry import` run beside `aupdesk serve` would corrupt the database). So the store factory
 * takes this lock first, a file `<data dir>.lock` naming the owner: its pid, host and boot.
 *
 * A lock left by a process that is gone (kill -9, power loss) is taken over at once: same host, and either
 * another boot or no such pid. A lock from another host (a data directory on shared storage) is never
 * presumed dead; the error says which host holds it. Two processes taking over the same stale lock at the
 * same instant are kept apart by re-reading it just before removing it: what is removed is the dead
 * owner's file, not a live one's (a narrow window remains between that read and the unlink; both would
 * have had to find the lock stale within it).
 *
 * Because it is exclusive, a process holding this lock knows that every claim (lease) it finds in the store
 * was left by a process that is gone, and can release those claims at once instead of waiting for them to
 * expire (serve does: see `releaseDeadClaims`).
 */

export interface EmbeddedStoreLock {
  readonly path: string;
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly boot: string;
  readonly since: string;
  readonly command: string;
}

/** Locks this process holds (a second open of the same directory in one process is refused too). */
const held = new Set<string>();

/** An unreadable lock this young may be a creator still writing it. */
const YOUNG_LOCK_MS = 5_000;

export async function acquireEmbeddedStoreLock(dir: string): Promise<EmbeddedStoreLock> {
  const path = `${dir}.lock`;
  if (held.has(path)) throw inUse(dir, path, 'this process already has it open');
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    boot: bootId(),
    since: new Date().toISOString(),
    command: process.argv.slice(1, 4).join(' ').slice(0, 200),
  };
  for (let attempt = 0; ; attempt++) {
    if (attempt >= 20) throw inUse(dir, path, 'the lock file keeps changing');
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await handle.close();
      }
      held.add(path);
      return { path, release: () => release(path, me) };
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) {
        throw new AupError('AUP_ERR_STORE_UNAVAILABLE', `cannot create the lock file ${path}`, {
          cause: error,
        });
      }
    }
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    });
    if (text === undefined) continue;
    const owner = parseOwner(text);
    if (owner === undefined) {
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age < YOUNG_LOCK_MS) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
    } else if (alive(owner, me)) {
      throw inUse(dir, path, describe(owner), owner);
    }
    // Stale: remove it only if it is still the file we judged.
    const again = await readFile(path, 'utf8').catch(() => undefined);
    if (again === text) await unlink(path).catch(() => undefined);
  }
}

async function release(path: string, me: LockOwner): Promise<void> {
  if (!held.delete(path)) return;
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const owner = text === undefined ? undefined : parseOwner(text);
  if (owner && owner.pid === me.pid && owner.since === me.since) await unlink(path).catch(() => undefined);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.boot !== 'string') {
      return undefined;
    }
    return {
      pid: value.pid,
      host: value.host,
      boot: value.boot,
      since: String(value.since ?? ''),
      command: String(value.command ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner may still be running. */
function alive(owner: LockOwner, me: LockOwner): boolean {
  if (owner.host !== me.host) return true;
  if (owner.boot !== '' && me.boot !== '' && owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) return false;
  return processExists(owner.pid);
}

function describe(owner: LockOwner): string {
  const where = owner.host === hostname() ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
  return `${where} (${owner.command || 'aupdesk'}) has had it open since ${owner.since}`;
}

function inUse(dir: string, path: string, why: string, owner?: LockOwner): AupError {
  return new AupError(
    'AUP_ERR_STORE_IN_USE',
    `the embedded database at ${dir} is in use: ${why}. The embedded store serves one process at a time: ` +
      'stop that process first, or share the desk between processes through PostgreSQL (DATABASE_URL)' +
      (owner && owner.host !== hostname() ? `; if ${owner.host} is gone, remove ${path}` : ''),
    { details: { dir, lock: path, ...(owner ? { pid: owner.pid, host: owner.host } : {}) } },
  );
}

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}
