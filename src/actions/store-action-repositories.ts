import { type Kysely, sql, type Transaction } from 'kysely';
import { ackAddressOf } from '../enforcement/notices/ack-decision.js';
import type { Database } from '../store/schema.js';
import type { BlocklistEntry, BlocklistRepository } from './blocklist-adapter.js';
import type { FeeRepository, FeeRow } from './fee-adapter.js';
import { type AckRateLimit, type AckRateLimiter, DEFAULT_ACK_RATE_LIMIT } from './reporter-ack-adapter.js';

/**
 * The fee, block-list and acknowledgement adapters' persistence on the case tables (`fees`,
 * `blocklist_entries`, `reporter_ack_sends`): the same contracts as their in-memory versions, keyed so that
 * a repeated action (at-least-once delivery) changes nothing the second time.
 */

export function storeFeeRepository(
  db: Kysely<Database>,
): FeeRepository & { list(customerRef?: string): Promise<FeeRow[]> } {
  const toRow = (r: {
    idempotency_key: string;
    case_ref: string;
    customer_ref: string;
    service_ref: string;
    amount: string | number;
    currency: string;
    basis: string;
    recorded_at: Date;
  }): FeeRow => ({
    idempotencyKey: r.idempotency_key,
    caseId: r.case_ref,
    customerId: r.customer_ref,
    serviceId: r.service_ref,
    amount: Number(r.amount),
    currency: r.currency,
    basis: r.basis,
    recordedAt: r.recorded_at.toISOString(),
  });
  return {
    async recordFee(row) {
      const inserted = await db
        .insertInto('fees')
        .values({
          idempotency_key: row.idempotencyKey,
          case_ref: row.caseId,
          customer_ref: row.customerId,
          service_ref: row.serviceId,
          amount: row.amount,
          currency: row.currency,
          basis: row.basis,
          recorded_at: new Date(row.recordedAt),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { row: toRow(inserted), inserted: true };
      const existing = await db
        .selectFrom('fees')
        .selectAll()
        .where('idempotency_key', '=', row.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { row: toRow(existing), inserted: false };
    },
    async list(customerRef) {
      let q = db.selectFrom('fees').selectAll().orderBy('id');
      if (customerRef !== undefined) q = q.where('customer_ref', '=', customerRef);
      return (await q.execute()).map(toRow);
    },
  };
}

export function storeBlocklistRepository(db: Kysely<Database>): BlocklistRepository {
  return {
    async add(entry) {
      const inserted = await db
        .insertInto('blocklist_entries')
        .values({
          cidr: entry.cidr,
          case_ref: entry.caseId,
          customer_ref: entry.customerId,
          service_ref: entry.serviceId,
          reason: entry.reason,
          idempotency_key: entry.idempotencyKey,
          added_at: new Date(entry.addedAt),
        })
        .onConflict((oc) => oc.columns(['cidr', 'case_ref']).doNothing())
        .returning('cidr')
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async remove(cidr, caseId) {
      const removed = await db
        .deleteFrom('blocklist_entries')
        .where(sql<boolean>`cidr = ${cidr}::cidr`)
        .where('case_ref', '=', caseId)
        .returning('cidr')
        .executeTakeFirst();
      return removed !== undefined;
    },
    async list(): Promise<BlocklistEntry[]> {
      const rows = await db
        .selectFrom('blocklist_entries')
        .select([
          sql<string>`cidr::text`.as('cidr'),
          'case_ref',
          'customer_ref',
          'service_ref',
          'reason',
          'added_at',
          'idempotency_key',
        ])
        .orderBy('cidr')
        .execute();
      return rows.map((r) => ({
        cidr: r.cidr,
        caseId: r.case_ref,
        customerId: r.customer_ref,
        serviceId: r.service_ref,
        reason: r.reason,
        addedAt: r.added_at.toISOString(),
        idempotencyKey: r.idempotency_key,
      }));
    },
  };
}

/**
 * The per-reporter acknowledgement limit in the store, so that every worker process counts against one
 * limit and a restart forgets nothing. Checks of one address are serialised by a transaction-scoped
 * advisory lock (two workers must not both take the last slot); one statement then prunes the address's
 * rows older than the window, finds whether this action was already counted, counts the rest and, under
 * the limit, records this one.
 */
export function storeAckRateLimiter(db: Kysely<Database>, limit: AckRateLimit = {}): AckRateLimiter {
  const max = limit.max ?? DEFAULT_ACK_RATE_LIMIT.max;
  const windowMs = limit.windowMs ?? DEFAULT_ACK_RATE_LIMIT.windowMs;
  /** The decision for one acknowledgement, in a transaction that holds its address's lock. */
  const takeIn = async (trx: Transaction<Database>, normalised: string, now: Date, key: string) => {
    const since = new Date(now.getTime() - windowMs);
    const { rows } = await sql<{ counted: boolean; taken: boolean }>`
          with pruned as (
            delete from reporter_ack_sends where address = ${normalised}::text and sent_at <= ${since}::timestamptz
          ),
          counted as (select 1 from reporter_ack_sends where action_key = ${key}::text),
          recent as (
            select count(*) as n from reporter_ack_sends
            where address = ${normalised}::text and sent_at > ${since}::timestamptz
          ),
          taken as (
            insert into reporter_ack_sends (action_key, address, sent_at)
            select ${key}::text, ${normalised}::text, ${now}::timestamptz
            where not exists (select 1 from counted) and (select n from recent) < ${max}::int
            returning 1
          )
          select exists (select 1 from counted) as counted, exists (select 1 from taken) as taken`.execute(
      trx,
    );
    return rows[0]!.counted || rows[0]!.taken;
  };
  const lockKey = (normalised: string) => `reporter-ack:${normalised}`;
  return {
    take(address, now, key) {
      const normalised = ackAddressOf(address);
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${lockKey(normalised)}::text, 0))`.execute(
          trx,
        );
        return takeIn(trx, normalised, now, key);
      });
    },
    // A round's acknowledgements: every address's lock in one statement (in sorted order, as two rounds
    // sharing addresses must take them), then each decision in order, in one transaction.
    takeMany(requests, now) {
      const normalised = requests.map((r) => ackAddressOf(r.address));
      const keys = [...new Set(normalised.map(lockKey))].sort();
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(k, 0))
          from (select k from unnest(${keys}::text[]) as k order by k) as sorted`.execute(trx);
        const answers: boolean[] = [];
        for (const [i, request] of requests.entries())
          answers.push(await takeIn(trx, normalised[i]!, now, request.key));
        return answers;
      });
    },
  };
}
