import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * Small reads other modules need from the registry tables, so they never query those tables themselves
 * (DESIGN.md): which AUP version a customer accepted (policy binding) and where its notices go.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface PolicyAcceptance {
  readonly provider: string | null;
  readonly version: string | null;
  readonly at: Date | null;
}

/** What the customer accepted, as recorded; undefined for an unknown customer. */
export async function policyAcceptanceOf(db: Db, customerId: number): Promise<PolicyAcceptance | undefined> {
  const row = await db
    .selectFrom('customers')
    .select(['accepted_policy_provider', 'accepted_policy_version', 'accepted_policy_at'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    provider: row.accepted_policy_provider,
    version: row.accepted_policy_version,
    at: row.accepted_policy_at,
  };
}

/** `policyAcceptanceOf` for many customers in one query (absent: no such customer). */
export async function policyAcceptancesOf(
  db: Db,
  customerIds: readonly number[],
): Promise<Map<number, PolicyAcceptance>> {
  const out = new Map<number, PolicyAcceptance>();
  for (let i = 0; i < customerIds.length; i += 5_000) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'accepted_policy_provider', 'accepted_policy_version', 'accepted_policy_at'])
      .where('id', 'in', customerIds.slice(i, i + 5_000))
      .execute();
    for (const row of rows) {
      out.set(row.id, {
        provider: row.accepted_policy_provider,
        version: row.accepted_policy_version,
        at: row.accepted_policy_at,
      });
    }
  }
  return out;
}

export interface CustomerContact {
  readonly customerRef: string;
  readonly name: string;
  readonly emails: readonly string[];
  readonly serviceRef: string | null;
  readonly serviceKind: string | null;
  readonly provisioningRef: string | null;
}

/** Name and addresses of a customer by its reference, with one of its services (by reference) if given. */
export async function customerContact(
  db: Db,
  customerRef: string,
  serviceRef?: string,
): Promise<CustomerContact | undefined> {
  const customer = await db
    .selectFrom('customers')
    .select(['id', 'ref', 'name', 'emails'])
    .where('ref', '=', customerRef)
    .executeTakeFirst();
  if (!customer) return undefined;
  const service =
    serviceRef === undefined
      ? undefined
      : await db
          .selectFrom('services')
          .select(['ref', 'kind', 'provisioning_ref'])
          .where('ref', '=', serviceRef)
          .where('customer_id', '=', customer.id)
          .executeTakeFirst();
  return {
    customerRef: customer.ref,
    name: customer.name,
    emails: customer.emails,
    serviceRef: service?.ref ?? null,
    serviceKind: service?.kind ?? null,
    provisioningRef: service?.provisioning_ref ?? null,
  };
}

export interface NoticeRecipient {
  readonly id: number;
  readonly ref: string;
  readonly name: string;
  readonly emails: readonly string[];
}

/**
 * The customers a provider's AUP governs and who are still customers (not terminated): those who accepted
 * that provider's AUP, or none recorded (a single-provider desk). For announcements of policy changes.
 */
export async function customersOfProvider(db: Db, provider: string): Promise<NoticeRecipient[]> {
  const rows = await db
    .selectFrom('customers')
    .select(['id', 'ref', 'name', 'emails'])
    .where('status', '!=', 'terminated')
    .where((eb) =>
      eb.or([eb('accepted_policy_provider', '=', provider), eb('accepted_policy_provider', 'is', null)]),
    )
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, ref: r.ref, name: r.name, emails: r.emails }));
}

export interface ServiceOfCustomer {
  readonly serviceId: number;
  readonly serviceRef: string;
  readonly serviceKind: string;
  readonly customerId: number;
  readonly customerRef: string;
  readonly customerName: string;
}

/** A service by its reference, with its customer (an analyst opening a case by hand names the service). */
export async function serviceByRef(db: Db, serviceRef: string): Promise<ServiceOfCustomer | undefined> {
  const row = await db
    .selectFrom('services')
    .innerJoin('customers', 'customers.id', 'services.customer_id')
    .select([
      'services.id as service_id',
      'services.ref as service_ref',
      'services.kind as service_kind',
      'customers.id as customer_id',
      'customers.ref as customer_ref',
      'customers.name as customer_name',
    ])
    .where('services.ref', '=', serviceRef)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    serviceId: row.service_id,
    serviceRef: row.service_ref,
    serviceKind: row.service_kind,
    customerId: row.customer_id,
    customerRef: row.customer_ref,
    customerName: row.customer_name,
  };
}

/** A service by its id (the triage queue keeps ids). */
export async function serviceById(db: Db, serviceId: number): Promise<ServiceOfCustomer | undefined> {
  const row = await db.selectFrom('services').select('ref').where('id', '=', serviceId).executeTakeFirst();
  return row ? serviceByRef(db, row.ref) : undefined;
}
