import type { Kysely } from 'kysely';
import { AupError } from '../../errors.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import { listProviders, loadPolicyHistoryFromStore } from '../../policy/policy-repository.js';
import type { Database } from '../../store/schema.js';
import type { Clock } from '../outbox/clock.js';
import type { EnforcementDeps } from './case-transition.js';

/**
 * The enforcement context a long-running process or a CLI command builds from the store and the
 * environment: every published policy history (cases keep the version they were opened under, so all
 * versions are needed), the Message-ID domain the mail adapters use (the case thread must compute the same
 * ids), and the clock.
 */

export async function loadPublishedPolicies(
  db: Kysely<Database>,
  provider?: string,
): Promise<PolicyHistory[]> {
  // Every provider is served (each customer is judged under its own); the default one comes first.
  const providers = (await listProviders(db))
    .map((p) => p.id)
    .sort((a, b) => Number(b === provider) - Number(a === provider));
  if (providers.length === 0 || (provider !== undefined && providers[0] !== provider)) {
    throw new AupError(
      'AUP_ERR_NOT_FOUND',
      provider === undefined
        ? 'no policy is published: run `aupdesk policy publish <file>` first'
        : `no policy of provider "${provider}" is published`,
    );
  }
  const histories: PolicyHistory[] = [];
  for (const id of providers) histories.push(await loadPolicyHistoryFromStore(db, id));
  return histories;
}

/** AUPDESK_MESSAGE_ID_DOMAIN, else the domain of AUPDESK_MAIL_FROM, else `aupdesk.invalid`. */
export function messageIdDomainFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.AUPDESK_MESSAGE_ID_DOMAIN?.trim();
  if (explicit) return explicit;
  const fromDomain = /@([^>\s]+)>?\s*$/.exec(env.AUPDESK_MAIL_FROM ?? '')?.[1];
  return fromDomain ?? 'aupdesk.invalid';
}

export async function deskDeps(
  db: Kysely<Database>,
  clock: Clock,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EnforcementDeps> {
  const policies = await loadPublishedPolicies(db, env.AUPDESK_PROVIDER || undefined);
  const replyTo = env.AUPDESK_REPLY_TO || env.AUPDESK_MAIL_FROM;
  return {
    db,
    policies,
    clock,
    messageIdDomain: messageIdDomainFromEnv(env),
    ...(replyTo ? { replyTo } : {}),
  };
}
