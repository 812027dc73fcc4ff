import type { Transaction } from 'kysely';
import type { CustomerAcceptance } from '../../judgement/judge-with-binding.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import { type PolicyAcceptance, policyAcceptanceOf } from '../../registry/customer-lookup.js';
import { waivedVersionsOf } from '../../registry/policy-waiver-repository.js';
import type { Database } from '../../store/schema.js';
import { type EnforcementDeps, historyOf, policyHistories } from './case-transition.js';

/**
 * Which provider's AUP judges a customer, and what the customer accepted of it. One desk serves every
 * published provider: the customer's registry row names its provider (`policy_provider`); a customer that
 * names none, or names one this desk has no policy of, is judged under the desk's default provider (the
 * first history: `serve --provider`). An acceptance of another provider's AUP, or of a version this
 * history does not know, says nothing here.
 */
export function bindingInputOf(
  deps: Pick<EnforcementDeps, 'policies'>,
  accepted: PolicyAcceptance | undefined,
  waivers: readonly CustomerWaiver[] = [],
): { history: PolicyHistory; acceptance: CustomerAcceptance } {
  const histories = policyHistories(deps);
  const history = histories.find((h) => h.provider === accepted?.provider) ?? historyOf(deps);
  const ours =
    accepted !== undefined && (accepted.provider === null || accepted.provider === history.provider);
  const knownVersion =
    ours &&
    accepted.version !== null &&
    history.versions.some((v) => v.document.version === accepted.version);
  // Waivers of versions this history knows (registry/policy-waiver-repository.ts): the customer stays on
  // the version before each. A waiver of the accepted version itself cannot apply and is left out.
  const waived = waivers
    .filter((w) => w.provider === history.provider)
    .map((w) => w.version)
    .filter((v) => history.versions.some((h) => h.document.version === v))
    .filter((v) => !(knownVersion && v === accepted?.version));
  return {
    history,
    acceptance: {
      ...(knownVersion && accepted?.version ? { acceptedVersion: accepted.version } : {}),
      ...(ours && accepted?.at ? { acceptedAt: accepted.at.toISOString() } : {}),
      ...(waived.length > 0 ? { waivedVersions: waived } : {}),
    },
  };
}

/** A waiver recorded for the customer: it stays on the version before `version` of `provider`. */
export interface CustomerWaiver {
  readonly provider: string;
  readonly version: string;
}

/** The same, reading the customer's record. */
export async function customerBindingInput(
  trx: Transaction<Database>,
  deps: Pick<EnforcementDeps, 'policies'>,
  customerId: number,
): Promise<{ history: PolicyHistory; acceptance: CustomerAcceptance }> {
  return bindingInputOf(
    deps,
    await policyAcceptanceOf(trx, customerId),
    await waivedVersionsOf(trx, customerId),
  );
}
