import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import {
  type AssignmentRecord,
  type CustomerRecord,
  type ServiceRecord,
  toAssignment,
  toCustomer,
  toService,
} from './registry-repository.js';

/**
 * Paged reads of the registry for the API and the console: customers, services and assignments, each
 * optionally narrowed to one customer (a customer principal sees only its own). Keyset pages by id: the
 * cursor is the last id returned, so a page never shifts when rows are added.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface RegistryPage<T> {
  readonly items: T[];
  /** The id to pass as `afterId` for the next page; null on the last page. */
  readonly nextAfterId: number | null;
}

export interface RegistryListQuery {
  readonly customerId?: number;
  readonly serviceId?: number;
  readonly afterId?: number;
  readonly limit: number;
}

export async function listCustomers(db: Db, q: RegistryListQuery): Promise<RegistryPage<CustomerRecord>> {
  let query = db
    .selectFrom('customers')
    .selectAll()
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.customerId !== undefined) query = query.where('id', '=', q.customerId);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return page((await query.execute()).map(toCustomer), q.limit);
}

export async function getCustomerById(db: Db, id: number): Promise<CustomerRecord | undefined> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toCustomer(row) : undefined;
}

export async function listServices(db: Db, q: RegistryListQuery): Promise<RegistryPage<ServiceRecord>> {
  let query = db
    .selectFrom('services')
    .selectAll()
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.customerId !== undefined) query = query.where('customer_id', '=', q.customerId);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return page((await query.execute()).map(toService), q.limit);
}

export async function getServiceById(db: Db, id: number): Promise<ServiceRecord | undefined> {
  const row = await db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toService(row) : undefined;
}

/** Customer and service references by id, for presenting rows that carry only ids. */
export async function refsOf(
  db: Db,
  ids: { customerIds: readonly number[]; serviceIds: readonly number[] },
): Promise<{ customers: Map<number, string>; services: Map<number, string> }> {
  const customers = new Map<number, string>();
  const services = new Map<number, string>();
  if (ids.customerIds.length > 0) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'ref'])
      .where('id', 'in', [...new Set(ids.customerIds)])
      .execute();
    for (const r of rows) customers.set(r.id, r.ref);
  }
  if (ids.serviceIds.length > 0) {
    const rows = await db
      .selectFrom('services')
      .select(['id', 'ref'])
      .where('id', 'in', [...new Set(ids.serviceIds)])
      .execute();
    for (const r of rows) services.set(r.id, r.ref);
  }
  return { customers, services };
}

export async function listAssignmentsPage(
  db: Db,
  q: RegistryListQuery,
): Promise<RegistryPage<AssignmentRecord>> {
  let query = db
    .selectFrom('assignments')
    .select(['id', 'service_id', 'customer_id', 'prefix', 'domain', 'valid_from', 'valid_to'])
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.customerId !== undefined) query = query.where('customer_id', '=', q.customerId);
  if (q.serviceId !== undefined) query = query.where('service_id', '=', q.serviceId);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return page((await query.execute()).map(toAssignment), q.limit);
}

function page<T extends { id: number }>(rows: T[], limit: number): RegistryPage<T> {
  const items = rows.slice(0, limit);
  return { items, nextAfterId: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
