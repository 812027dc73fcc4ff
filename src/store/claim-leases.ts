import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Work tables whose rows a worker claims with a lease (`claimed_by`, `claimed_until`) while they are in
 * `status`: the outbox's running actions and the intake inbox's pending items. One rule for both: the
 * leases of workers that are gone are ended now, so their rows are claimed again at once instead of after
 * the lease, and nothing else about the row (its attempts) changes.
 */
export interface LeasedTable {
  readonly table: 'outbox_actions' | 'intake_inbox';
  /** The status a claimed row has. */
  readonly status: string;
  /** The table keeps an `updated_at` that a release sets too. */
  readonly touchesUpdatedAt: boolean;
}

/** Ends at `now` the live leases of the workers `isGone` names; returns the number of rows released. */
export async function releaseLeasesOfGoneWorkers(
  db: Kysely<Database>,
  leased: LeasedTable,
  now: Date,
  isGone: (workerId: string) => boolean,
): Promise<number> {
  const table = sql.table(leased.table);
  const claimants = await sql<{ claimed_by: string | null }>`
    select distinct claimed_by from ${table}
    where status = ${leased.status} and claimed_until > ${now}`.execute(db);
  const gone = claimants.rows.flatMap((c) =>
    c.claimed_by !== null && isGone(c.claimed_by) ? [c.claimed_by] : [],
  );
  if (gone.length === 0) return 0;
  const released = await sql`
    update ${table} set claimed_until = ${now}${leased.touchesUpdatedAt ? sql`, updated_at = ${now}` : sql``}
    where status = ${leased.status} and claimed_until > ${now} and claimed_by in (${sql.join(gone)})`.execute(
    db,
  );
  return Number(released.numAffectedRows ?? 0n);
}
