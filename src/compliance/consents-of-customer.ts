import type { Kysely } from 'kysely';
import { listServices } from '../registry/registry-query.js';
import type { Database } from '../store/schema.js';
import { listTestConsents, type StoredTestConsent } from './test-consent-repository.js';

/** The consents recorded for one customer's services (the portal's view and a customer's API key). */
export async function consentsOfCustomer(
  db: Kysely<Database>,
  customerId: number,
): Promise<StoredTestConsent[]> {
  const services = await listServices(db, { customerId, limit: 10_000 });
  return listTestConsents(db, { services: services.items.map((s) => s.ref) });
}
