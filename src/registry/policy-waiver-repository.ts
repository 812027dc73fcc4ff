import type { Kysely, Selectable, Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { PolicyWaiverTable } from '../store/tables/registry.table.js';

/**
 * Per-customer waivers of a policy version (table `policy_waivers`, owned by the registry, since a waiver
 * is a fact about the customer's contract): the provider waived version V for this customer, who stays on
 * the version before it (policy/policy-binding.ts, rule 2). Whether the policy allows waivers at all is the
 * caller's check (compliance/policy-waivers.ts reads the policy's change terms). Granting and withdrawing
 * write their audit entry in the same transaction.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface PolicyWaiver {
  readonly id: number;
  readonly customerId: number;
  readonly provider: string;
  readonly version: string;
  readonly reason: string;
  readonly grantedAt: Date;
  readonly grantedBy: string;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
}

/** Grants (or grants again, after a withdrawal) the waiver; an active one is returned unchanged. */
export async function grantPolicyWaiver(
  trx: Transaction<Database>,
  input: {
    readonly customerId: number;
    readonly customerRef: string;
    readonly provider: string;
    readonly version: string;
    readonly reason: string;
    readonly at: Date;
    readonly actor: AuditActor;
  },
): Promise<{ waiver: PolicyWaiver; created: boolean }> {
  const existing = await trx
    .selectFrom('policy_waivers')
    .selectAll()
    .where('customer_id', '=', input.customerId)
    .where('provider_id', '=', input.provider)
    .where('version', '=', input.version)
    .forUpdate()
    .executeTakeFirst();
  if (existing && existing.revoked_at === null) return { waiver: waiverOf(existing), created: false };
  const row = existing
    ? await trx
        .updateTable('policy_waivers')
        .set({
          reason: input.reason,
          granted_at: input.at,
          granted_by: input.actor,
          revoked_at: null,
          revoked_by: null,
        })
        .where('id', '=', existing.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    : await trx
        .insertInto('policy_waivers')
        .values({
          customer_id: input.customerId,
          provider_id: input.provider,
          version: input.version,
          reason: input.reason,
          granted_at: input.at,
          granted_by: input.actor,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    at: input.at,
    actor: input.actor,
    kind: 'customer.policy-waived',
    subject: `customer:${input.customerId}`,
    payload: {
      customer: input.customerRef,
      provider: input.provider,
      version: input.version,
      reason: input.reason,
      waiver: row.id,
    },
  });
  return { waiver: waiverOf(row), created: true };
}

export async function revokePolicyWaiver(
  trx: Transaction<Database>,
  id: number,
  meta: { readonly at: Date; readonly actor: AuditActor; readonly reason: string },
): Promise<PolicyWaiver> {
  const row = await trx
    .selectFrom('policy_waivers')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no policy waiver ${id}`);
  if (row.revoked_at !== null) return waiverOf(row);
  const updated = await trx
    .updateTable('policy_waivers')
    .set({ revoked_at: meta.at, revoked_by: meta.actor })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    at: meta.at,
    actor: meta.actor,
    kind: 'customer.policy-waiver-withdrawn',
    subject: `customer:${row.customer_id}`,
    payload: { provider: row.provider_id, version: row.version, reason: meta.reason, waiver: id },
  });
  return waiverOf(updated);
}

export async function listPolicyWaivers(
  db: Db,
  filter: { readonly customerId?: number; readonly activeOnly?: boolean } = {},
): Promise<PolicyWaiver[]> {
  let q = db.selectFrom('policy_waivers').selectAll().orderBy('id', 'desc');
  if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
  if (filter.activeOnly) q = q.where('revoked_at', 'is', null);
  return (await q.execute()).map(waiverOf);
}

/** The versions waived for a customer now (what policy binding needs), by provider. */
export async function waivedVersionsOf(
  db: Db,
  customerId: number,
): Promise<ReadonlyArray<{ readonly provider: string; readonly version: string }>> {
  return db
    .selectFrom('policy_waivers')
    .select(['provider_id as provider', 'version'])
    .where('customer_id', '=', customerId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** `waivedVersionsOf` for many customers in one query, by customer (customers without any are absent). */
export async function waivedVersionsOfMany(
  db: Db,
  customerIds: readonly number[],
): Promise<Map<number, Array<{ readonly provider: string; readonly version: string }>>> {
  const out = new Map<number, Array<{ provider: string; version: string }>>();
  for (let i = 0; i < customerIds.length; i += 5_000) {
    const rows = await db
      .selectFrom('policy_waivers')
      .select(['customer_id', 'provider_id as provider', 'version'])
      .where('customer_id', 'in', customerIds.slice(i, i + 5_000))
      .where('revoked_at', 'is', null)
      .orderBy('id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.customer_id) ?? [];
      list.push({ provider: r.provider, version: r.version });
      out.set(r.customer_id, list);
    }
  }
  return out;
}

function waiverOf(row: Selectable<PolicyWaiverTable>): PolicyWaiver {
  return {
    id: row.id,
    customerId: row.customer_id,
    provider: row.provider_id,
    version: row.version,
    reason: row.reason,
    grantedAt: row.granted_at,
    grantedBy: row.granted_by,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}
