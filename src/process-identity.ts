import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isErrno } from './errors.js';

/**
 * Who a process is, in the names it leaves behind (claims on the inbox and outbox, journal segments, the
 * embedded store's lock), so that a later process can tell a name of a live process from one of a process
 * that is gone. The assumption, stated once: a host name is not shared by two pid namespaces (give each
 * container its own host name, as container runtimes do by default).
 */

/** Whether a process with this pid exists on this machine (signal 0 checks without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists under another user.
    return !isErrno(error, 'ESRCH');
  }
}

/** A worker's name in its claims: `<host>:<pid>:<random>` (the random part tells two workers of one process apart). */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * True when `workerId` (as `newWorkerId` makes them) names a process on this host that no longer exists.
 * A worker of another host, of this process, or a name in another form is never presumed gone.
 */
export function workerIsGone(workerId: string): boolean {
  const parts = workerId.split(':');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join(':');
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return !processExists(pid);
}
