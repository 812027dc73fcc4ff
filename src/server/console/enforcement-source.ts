import type { EnforcementDeps } from '../../enforcement/pipeline/case-transition.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import {
  listProviders,
  loadPolicyHistoryFromStore,
  publishedPolicyStamp,
} from '../../policy/policy-repository.js';
import type { ResolvedAppDeps } from '../app-deps.js';

/**
 * What the console's and portal's case actions run the ladder with: the policy versions published in the
 * store (so a version published from the admin page binds new cases at once, in every process), the clock,
 * and the mail identity notices are threaded under. Histories are re-read only when the published versions
 * change (`publishedPolicyStamp`, the policy repository's cheap probe, per call), since parsing every
 * version's YAML on each click would cost more than the page.
 */

export type EnforcementSource = () => Promise<EnforcementDeps>;

export interface MailIdentity {
  /** Right-hand side of our Message-IDs: must be the mail adapter's, or replies will not thread. */
  readonly messageIdDomain: string;
  readonly replyTo?: string;
}

export function storeEnforcementSource(
  deps: ResolvedAppDeps,
  mail: MailIdentity = { messageIdDomain: deps.messageIdDomain ?? 'aupdesk.invalid' },
): EnforcementSource {
  const fixed = deps.caseCommands;
  if (fixed) return async () => fixed;
  const db = deps.store.db;
  let cached: { key: string; histories: PolicyHistory[] } | undefined;
  return async () => {
    const key = await publishedPolicyStamp(db);
    if (!cached || cached.key !== key) {
      const providers = await listProviders(db);
      const histories: PolicyHistory[] = [];
      for (const p of providers) {
        try {
          histories.push(await loadPolicyHistoryFromStore(db, p.id));
        } catch {
          // A provider row without versions binds nothing.
        }
      }
      cached = { key, histories };
    }
    return {
      db,
      policies: cached.histories,
      clock: deps.clock,
      messageIdDomain: mail.messageIdDomain,
      ...(mail.replyTo === undefined ? {} : { replyTo: mail.replyTo }),
    };
  };
}
