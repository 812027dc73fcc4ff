import { expireInboxClaims } from '../../intake/intake-inbox.js';
import type { Store } from '../../store/database.js';
import { expireOutboxLeases } from '../outbox/outbox-repository.js';

export interface ReleasedClaims {
  /** Inbox rows a dead worker had claimed, claimable again now. */
  readonly inbox: number;
  /** Outbox actions a dead worker was performing, claimable again now. */
  readonly outbox: number;
}

/**
 * At the start of a process that works the inbox or the outbox: on a store this process has to itself (the
 * embedded store, under its lock), every claim in it was left by a process that is gone (kill -9, a power
 * cut), so it is released now instead of after its lease (2 min for the inbox, 5 for the outbox). A desk
 * restarted after a crash picks up where the dead one stopped at once. Exactly-once is unchanged: the
 * releases only do early what the lease's expiry does, and each row is still fenced by its attempt.
 * On PostgreSQL, shared by any number of live workers, nothing is released: leases run out as usual.
 */
export async function releaseDeadClaims(store: Store, now: Date): Promise<ReleasedClaims> {
  if (!store.exclusive) return { inbox: 0, outbox: 0 };
  return {
    inbox: await expireInboxClaims(store.db, now),
    outbox: await expireOutboxLeases(store.db, now),
  };
}
