import type { Kysely } from 'kysely';
import { type Role, roles } from '../../accounts/principal.js';
import { AupError } from '../../errors.js';
import { getCustomerById } from '../../registry/registry-query.js';
import { findCustomerByRef } from '../../registry/registry-repository.js';
import type { Database } from '../../store/schema.js';

/** Shared option handling of `aupdesk apikey` and `aupdesk user`. */

export function parseRole(value: string): Role {
  if (!(roles as readonly string[]).includes(value)) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `--role must be one of ${roles.join(', ')}, not "${value}"`);
  }
  return value as Role;
}

/**
 * `--customer` names the registry customer by its reference (the provider's billing id); a number that is no
 * customer's reference is taken as the internal id. Unknown customers are refused: a key bound to nobody
 * would see nothing and hide the mistake.
 */
export async function resolveCustomer(
  db: Kysely<Database>,
  value: string | undefined,
): Promise<number | null> {
  if (value === undefined) return null;
  const byRef = await findCustomerByRef(db, value);
  if (byRef) return byRef.id;
  if (/^[0-9]{1,10}$/.test(value)) {
    const byId = await getCustomerById(db, Number(value));
    if (byId) return byId.id;
  }
  throw new AupError('AUP_ERR_NOT_FOUND', `no customer "${value}" in the registry (give its reference)`, {
    details: { customer: value },
  });
}
