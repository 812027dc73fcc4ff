import type { Kysely, Selectable, Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { TestConsentTable } from '../store/tables/compliance.table.js';
import { type TestConsent, TestConsentSet } from './test-consent.js';

/**
 * The store of vulnerability-test authorisations (table `test_consents`, owned here). Recording a consent
 * and revoking one each write an audit entry in the same transaction. A consent already recorded (same
 * service, reference and window) is found again, not duplicated, so importing a file twice is harmless.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface StoredTestConsent extends TestConsent {
  readonly id: number;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
}

export interface RecordConsentsResult {
  readonly created: readonly StoredTestConsent[];
  /** Consents the store already held (same service, reference and window). */
  readonly existing: readonly StoredTestConsent[];
}

export async function recordTestConsents(
  trx: Transaction<Database>,
  consents: readonly TestConsent[],
  meta: { readonly at: Date; readonly actor: AuditActor; readonly source: string },
): Promise<RecordConsentsResult> {
  const created: StoredTestConsent[] = [];
  const existing: StoredTestConsent[] = [];
  for (const consent of consents) {
    const inserted = await trx
      .insertInto('test_consents')
      .values({
        service_ref: consent.service,
        targets: JSON.stringify(consent.targets),
        valid_from: consent.validFrom,
        valid_to: consent.validTo,
        reference: consent.reference,
        created_at: meta.at,
        created_by: meta.actor,
      })
      .onConflict((oc) => oc.columns(['service_ref', 'reference', 'valid_from', 'valid_to']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      const found = await trx
        .selectFrom('test_consents')
        .selectAll()
        .where('service_ref', '=', consent.service)
        .where('reference', '=', consent.reference)
        .where('valid_from', '=', consent.validFrom)
        .where('valid_to', '=', consent.validTo)
        .executeTakeFirstOrThrow();
      existing.push(consentOf(found));
      continue;
    }
    const stored = consentOf(inserted);
    created.push(stored);
    await appendAudit(trx, {
      at: meta.at,
      actor: meta.actor,
      kind: 'consent.recorded',
      subject: `consent:${stored.id}`,
      payload: {
        service: stored.service,
        targets: stored.targets,
        validFrom: stored.validFrom.toISOString(),
        validTo: stored.validTo.toISOString(),
        reference: stored.reference,
        source: meta.source,
      },
    });
  }
  return { created, existing };
}

export async function revokeTestConsent(
  trx: Transaction<Database>,
  id: number,
  meta: { readonly at: Date; readonly actor: AuditActor; readonly reason: string },
): Promise<StoredTestConsent> {
  const row = await trx
    .selectFrom('test_consents')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no test consent ${id}`);
  if (row.revoked_at) return consentOf(row);
  const updated = await trx
    .updateTable('test_consents')
    .set({ revoked_at: meta.at, revoked_by: meta.actor })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    at: meta.at,
    actor: meta.actor,
    kind: 'consent.revoked',
    subject: `consent:${id}`,
    payload: { service: row.service_ref, reference: row.reference, reason: meta.reason },
  });
  return consentOf(updated);
}

export async function listTestConsents(
  db: Db,
  filter: { readonly service?: string; readonly services?: readonly string[] } = {},
): Promise<StoredTestConsent[]> {
  let query = db.selectFrom('test_consents').selectAll().orderBy('valid_from', 'desc').orderBy('id', 'desc');
  if (filter.service !== undefined) query = query.where('service_ref', '=', filter.service);
  if (filter.services !== undefined) {
    if (filter.services.length === 0) return [];
    query = query.where('service_ref', 'in', [...filter.services]);
  }
  return (await query.execute()).map(consentOf);
}

/**
 * The snapshot the desk's pipeline judges a report's events with (one query per report). Revoked consents
 * are kept in it: a test that ran before the revocation stayed authorised (the set checks `revokedAt`).
 */
export async function loadTestConsentSet(db: Db): Promise<TestConsentSet> {
  return new TestConsentSet(await listTestConsents(db));
}

function consentOf(row: Selectable<TestConsentTable>): StoredTestConsent {
  return {
    id: row.id,
    service: row.service_ref,
    targets: row.targets as string[],
    validFrom: row.valid_from,
    validTo: row.valid_to,
    reference: row.reference,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}
