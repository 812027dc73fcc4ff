import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';

/** Tables whose ids a set-based writer takes ahead of its multi-row insert. */
export type ReservableTable = 'cases' | 'case_events' | 'outbox_actions' | 'scheduled_steps';

/**
 * Takes `count` ids from `table`'s id sequence in one statement, ascending. A writer that inserts thousands
 * of rows in one statement needs their ids before it writes them (audit payloads, case numbers and outbox
 * keys name them); these are the ids the same rows inserted one by one would have got, since the sequence
 * hands them out in the same order. Sequences are not transactional: ids of a rolled-back transaction are
 * gaps, as with ordinary inserts.
 */
export async function reserveIds(
  trx: Transaction<Database>,
  table: ReservableTable,
  count: number,
): Promise<number[]> {
  if (count <= 0) return [];
  // The sequence is looked up once (a materialized CTE): written inside nextval() it was looked up again
  // for every id. The ids come back as one comma-separated text, not a row each (a chunk takes thousands,
  // and decoding a result row costs more than taking the id).
  const rows = await sql<{ ids: string | null }>`
    with s as materialized (select pg_get_serial_sequence(${table}, 'id')::regclass as seq)
    select string_agg(nextval(s.seq)::text, ',') as ids from s, generate_series(1, ${count}::int)`.execute(
    trx,
  );
  return (rows.rows[0]?.ids ?? '')
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
}

/** Which of `keys` an idempotency-keyed table (outbox actions, due steps) holds already. */
export async function usedKeys(
  db: Kysely<Database> | Transaction<Database>,
  table: 'outbox_actions' | 'scheduled_steps',
  keys: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < keys.length; i += 5_000) {
    const rows = await db
      .selectFrom(table)
      .select('idempotency_key')
      .where('idempotency_key', 'in', keys.slice(i, i + 5_000))
      .execute();
    for (const r of rows) found.add(r.idempotency_key);
  }
  return found;
}
