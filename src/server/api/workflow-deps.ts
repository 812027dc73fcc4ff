import type { InTransactionDeps } from '../../enforcement/pipeline/case-transition.js';
import { listProviders, loadPolicyHistoryFromStore } from '../../policy/policy-repository.js';
import type { ResolvedAppDeps } from '../app-deps.js';

/**
 * What the DMCA and legal workflows need from an HTTP request's context: every provider's published policy
 * history (read fresh, as case actions do: policies can be published while the server runs), the clock and
 * the Message-ID domain.
 */
export async function workflowDeps(deps: ResolvedAppDeps): Promise<InTransactionDeps> {
  if (deps.caseCommands) {
    const { db: _db, ...rest } = deps.caseCommands;
    return rest;
  }
  const db = deps.store.db;
  const providers = await listProviders(db);
  const policies = await Promise.all(providers.map((p) => loadPolicyHistoryFromStore(db, p.id)));
  return { clock: deps.clock, policies, messageIdDomain: deps.messageIdDomain ?? 'aupdesk.invalid' };
}
