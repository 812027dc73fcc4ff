import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/audit-log.js';
import { AupError } from '../errors.js';
import { findServiceByRef } from '../registry/registry-repository.js';
import type { Database } from '../store/schema.js';
import type { TestConsent } from './test-consent.js';
import { parseTestConsentCsv } from './test-consent-csv.js';
import { type RecordConsentsResult, recordTestConsents } from './test-consent-repository.js';

/**
 * Records vulnerability-test consents (a CSV file, a console form, an API body) in one transaction. Every
 * consent must name a service the registry knows: a consent for a mistyped service would authorise
 * nothing and leave the customer's agreed test to be suspended, so it is refused with the others.
 */
export async function importTestConsents(
  db: Kysely<Database>,
  input: { readonly csv: string } | { readonly consents: readonly TestConsent[] },
  meta: { readonly at: Date; readonly actor: AuditActor; readonly source: string },
): Promise<RecordConsentsResult> {
  const consents = 'csv' in input ? parseTestConsentCsv(input.csv) : input.consents;
  if (consents.length === 0) throw new AupError('AUP_ERR_INPUT_INVALID', 'no consent to record');
  const unknown: string[] = [];
  for (const service of new Set(consents.map((c) => c.service))) {
    if (!(await findServiceByRef(db, service))) unknown.push(service);
  }
  if (unknown.length > 0) {
    throw new AupError(
      'AUP_ERR_REGISTRY_UNKNOWN_SERVICE',
      `no service ${unknown.map((s) => `"${s}"`).join(', ')} in the registry: nothing was recorded`,
      { details: { services: unknown } },
    );
  }
  return db.transaction().execute((trx) => recordTestConsents(trx, consents, meta));
}
