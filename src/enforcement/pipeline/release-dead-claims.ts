import { expireInboxClaims } from '../../intake/inbox/inbox-worker.js';
import { workerIsGone } from '../../process-identity.js';
import type { Store } from '../../store/database.js';
import { expireOutboxLeases } from '../outbox/outbox-repository.js';

export interface ReleasedClaims {
  /** Inbox rows a dead worker had claimed, claimable again now. */
  readonly inbox: number;
  /** Outbox actions a dead worker was performing, claimable again now. */
  readonly outbox: number;
}

/**
 * At the start of a process that works the inbox or the outbox: claims (leases) that a process which is
 * gone (kill -9, an OOM kill, a power cut) left behind are released now instead of after their lease (2 min
 * for the inbox, 5 for the outbox), so a desk restarted after a crash picks up where the dead one stopped.
 *
 * Which claims are a dead process's: on a store this process has to itself (the embedded store, under its
 * lock) every one; on a shared store (PostgreSQL) those whose worker name (`<host>:<pid>:…`) is of this host
 * and whose pid no longer exists. Claims of other hosts' workers wait for their leases, as before.
 *
 * Exactly-once is unchanged: a release does early only what the lease's expiry does, and a row is still
 * fenced by worker and attempt, so a worker wrongly presumed dead cannot record its outcome over the new
 * claim's (an outbox effect it already had is deduplicated at the far end by the idempotency key).
 */
export async function releaseDeadClaims(store: Store, now: Date): Promise<ReleasedClaims> {
  const isGone = store.exclusive ? () => true : workerIsGone;
  return {
    inbox: await expireInboxClaims(store.db, now, isGone),
    outbox: await expireOutboxLeases(store.db, now, isGone),
  };
}
