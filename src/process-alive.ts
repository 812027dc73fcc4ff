import { isErrno } from './errors.js';

/**
 * Whether a process with this pid exists on this machine (signal 0 checks without signalling). EPERM means
 * it exists under another user. Used to tell a lock or journal segment left by a dead process from one in
 * use; the caller checks that the owner was on this host (and this boot) first.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}
