import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Updates of a case row that touch no indexed column, done in place (PostgreSQL's heap-only tuples).
 *
 * A feed report's events mostly join cases already open, and each segment of it writes every case its events
 * reached: the event times, the version, the state. `cases_correlation_idx` held `last_event_at`, which
 * every such write changes, so each one put a new entry into every index of the table (six). Correlation
 * never searched by that column (`correlationCandidates` looks up a service's and a clause's open cases and
 * compares the times in the process), so the index keeps the two columns it is searched by.
 *
 * The new version of a row must also fit in the page of the old one. A case row is large (its state), and
 * with a tenth of each page free only half of a 100,000-event report's 66,000 case writes were heap-only;
 * with 30 % free, 92 % were, for about a tenth less of the server's CPU on that report (docs/benchmarks.md).
 * The table ends smaller, not bigger: old versions are pruned within their page instead of left for vacuum.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index cases_correlation_idx`.execute(db);
  await sql`create index cases_correlation_idx on cases (service_id, clause_id) where merged_into is null`.execute(
    db,
  );
  await sql`alter table cases set (fillfactor = 70)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table cases reset (fillfactor)`.execute(db);
  await sql`drop index cases_correlation_idx`.execute(db);
  await sql`create index cases_correlation_idx on cases (service_id, clause_id, last_event_at) where merged_into is null`.execute(
    db,
  );
}
