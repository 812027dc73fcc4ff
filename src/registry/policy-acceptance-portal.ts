import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';

/**
 * A customer accepts a policy version through the portal: the customer row records which version and when
 * (what policy binding reads for versions that need explicit acceptance), and the audit log keeps who
 * clicked, in the same transaction. Accepting an older version than the one on record is refused. The
 * versions' dates come from the caller (the policy module owns them): the registry owns only the customer.
 */

export async function acceptPolicyVersion(
  db: Kysely<Database>,
  input: {
    customerId: number;
    provider: string;
    version: string;
    effectiveAt: Date;
    /** When another version of the same provider took effect (from its published history). */
    effectiveAtOf: (version: string) => Date | undefined;
    at: Date;
    actor: `user:${string}`;
  },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const customer = await trx
      .selectFrom('customers')
      .select(['id', 'ref', 'accepted_policy_provider', 'accepted_policy_version'])
      .where('id', '=', input.customerId)
      .forUpdate()
      .executeTakeFirst();
    if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', 'the customer does not exist');
    if (customer.accepted_policy_provider === input.provider && customer.accepted_policy_version !== null) {
      const current = input.effectiveAtOf(customer.accepted_policy_version);
      if (current && current.getTime() > input.effectiveAt.getTime()) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `version ${input.version} is older than the accepted ${customer.accepted_policy_version}`,
        );
      }
    }
    await trx
      .updateTable('customers')
      .set({
        accepted_policy_provider: input.provider,
        accepted_policy_version: input.version,
        accepted_policy_at: input.at,
        updated_at: input.at,
      })
      .where('id', '=', input.customerId)
      .execute();
    await appendAudit(trx, {
      at: input.at,
      actor: input.actor,
      kind: 'customer.policy-accepted',
      subject: `customer:${customer.id}`,
      payload: {
        customer: customer.ref,
        provider: input.provider,
        version: input.version,
        channel: 'portal',
      },
    });
  });
}
