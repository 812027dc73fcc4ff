import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/audit-log.js';
import { AupError } from '../errors.js';
import { getPolicyVersion, listPolicyVersions } from '../policy/policy-repository.js';
import { grantPolicyWaiver, type PolicyWaiver } from '../registry/policy-waiver-repository.js';
import { findCustomerByRef } from '../registry/registry-repository.js';
import type { Database } from '../store/schema.js';

/**
 * Waiving a policy version for one customer (the console, the API, `aupdesk policy waive`): only where the
 * version's own change terms allow waivers (Secure Packet: "when the changes would severely adversely
 * effect Customer's business"), never the provider's first version (the customer would be bound by
 * nothing), with the reason on record. The customer then stays on the version before it, past any grace
 * period (policy/policy-binding.ts).
 */
export async function waivePolicyVersion(
  db: Kysely<Database>,
  input: {
    readonly customerRef: string;
    readonly provider: string;
    readonly version: string;
    readonly reason: string;
    readonly at: Date;
    readonly actor: AuditActor;
  },
): Promise<{ waiver: PolicyWaiver; created: boolean }> {
  const reason = input.reason.trim();
  if (reason === '') throw new AupError('AUP_ERR_INPUT_INVALID', 'a waiver needs its reason on record');
  const customer = await findCustomerByRef(db, input.customerRef);
  if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', `no customer "${input.customerRef}"`);
  const loaded = await getPolicyVersion(db, input.provider, input.version);
  if (!loaded) {
    throw new AupError('AUP_ERR_NOT_FOUND', `policy ${input.provider} ${input.version} is not published`);
  }
  const changes = loaded.document.terms.changes;
  if (!changes.waivers_allowed) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `the ${input.provider} AUP ${input.version} does not provide for waivers (terms.changes.waivers_allowed)`,
    );
  }
  const versions = await listPolicyVersions(db, input.provider);
  if (versions[0]?.version === input.version) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${input.version} is the first ${input.provider} version: there is no earlier version to stay on`,
    );
  }
  return db.transaction().execute((trx) =>
    grantPolicyWaiver(trx, {
      customerId: customer.id,
      customerRef: customer.ref,
      provider: input.provider,
      version: input.version,
      reason,
      at: input.at,
      actor: input.actor,
    }),
  );
}
