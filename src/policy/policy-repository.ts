import { type Kysely, sql, type Transaction } from 'kysely';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import {
  createPolicyHistory,
  type LoadedPolicy,
  type PolicyHistory,
  parsePolicySource,
} from './policy-loader.js';

/**
 * Published policy versions in the store (`providers`, `policy_versions`). Versions are immutable: the row
 * keeps the YAML exactly as published and its sha256; publishing the same source again is a no-op, a
 * different source under an existing version is refused (`AUP_ERR_POLICY_VERSION_EXISTS`): a changed policy
 * is a new version.
 */

export interface PublishResult {
  readonly provider: string;
  readonly version: string;
  readonly status: 'published' | 'unchanged';
  readonly sha256: string;
}

export interface PolicyVersionSummary {
  readonly provider: string;
  readonly version: string;
  readonly publishedAt: string;
  readonly effectiveAt: string;
  readonly sha256: string;
}

export async function publishPolicyVersion(
  db: Kysely<Database>,
  policy: LoadedPolicy,
): Promise<PublishResult> {
  const doc = policy.document;
  const result = (status: PublishResult['status']): PublishResult => ({
    provider: doc.provider.id,
    version: doc.version,
    status,
    sha256: policy.sha256,
  });
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('providers')
      .values({ id: doc.provider.id, name: doc.provider.name })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const inserted = await trx
      .insertInto('policy_versions')
      .values({
        provider_id: doc.provider.id,
        version: doc.version,
        published_at: doc.published_at,
        effective_at: doc.effective_at,
        document: JSON.stringify(doc),
        source: policy.source,
        source_sha256: policy.sha256,
      })
      .onConflict((oc) => oc.columns(['provider_id', 'version']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await trx
        .selectFrom('policy_versions')
        .select('source_sha256')
        .where('provider_id', '=', doc.provider.id)
        .where('version', '=', doc.version)
        .executeTakeFirstOrThrow();
      if (existing.source_sha256 === policy.sha256) return result('unchanged');
      throw new AupError(
        'AUP_ERR_POLICY_VERSION_EXISTS',
        `${doc.provider.id} ${doc.version} is already published with different content (sha256 ${existing.source_sha256}); publish the change as a new version`,
        {
          details: {
            provider: doc.provider.id,
            version: doc.version,
            published: existing.source_sha256,
            offered: policy.sha256,
          },
        },
      );
    }
    // The provider's display name follows its newest version in force order.
    const latest = await trx
      .selectFrom('policy_versions')
      .select('version')
      .where('provider_id', '=', doc.provider.id)
      .orderBy('effective_at', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    if (latest.version === doc.version) {
      await trx
        .updateTable('providers')
        .set({ name: doc.provider.name })
        .where('id', '=', doc.provider.id)
        .execute();
    }
    return result('published');
  });
}

export async function listProviders(
  db: Kysely<Database> | Transaction<Database>,
): Promise<Array<{ id: string; name: string }>> {
  return db.selectFrom('providers').select(['id', 'name']).orderBy('id').execute();
}

/** Versions (without their documents), by provider then effective date. */
export async function listPolicyVersions(
  db: Kysely<Database>,
  provider?: string,
): Promise<PolicyVersionSummary[]> {
  let query = db
    .selectFrom('policy_versions')
    .select(['provider_id', 'version', 'published_at', 'effective_at', 'source_sha256'])
    .orderBy('provider_id')
    .orderBy('effective_at')
    .orderBy('version');
  if (provider !== undefined) query = query.where('provider_id', '=', provider);
  const rows = await query.execute();
  return rows.map((r) => ({
    provider: r.provider_id,
    version: r.version,
    publishedAt: toIso(r.published_at),
    effectiveAt: toIso(r.effective_at),
    sha256: r.source_sha256,
  }));
}

/**
 * One published version, re-validated from the source it was published with (so it carries the same sha256
 * and the same defaults as when it was loaded from a file).
 */
export async function getPolicyVersion(
  db: Kysely<Database>,
  provider: string,
  version: string,
): Promise<LoadedPolicy | undefined> {
  const row = await db
    .selectFrom('policy_versions')
    .select(['source'])
    .where('provider_id', '=', provider)
    .where('version', '=', version)
    .executeTakeFirst();
  return row ? parsePolicySource(row.source, storeName(provider, version)) : undefined;
}

/** Every published version of a provider as a history; `AUP_ERR_NOT_FOUND` when none is published. */
export async function loadPolicyHistoryFromStore(
  db: Kysely<Database> | Transaction<Database>,
  provider: string,
): Promise<PolicyHistory> {
  const rows = await db
    .selectFrom('policy_versions')
    .select(['version', 'source'])
    .where('provider_id', '=', provider)
    .orderBy('effective_at')
    .execute();
  if (rows.length === 0) {
    throw new AupError('AUP_ERR_NOT_FOUND', `no policy version of provider "${provider}" is published`, {
      details: { provider },
    });
  }
  return createPolicyHistory(
    provider,
    rows.map((r) => parsePolicySource(r.source, storeName(provider, r.version))),
  );
}

function storeName(provider: string, version: string): string {
  return `store:${provider}/${version}`;
}

function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/**
 * A cheap fingerprint of what is published (how many versions, the latest publication): a long-running
 * process compares it per batch and reloads the histories only when it changed (live-policies.ts).
 */
export async function publishedPolicyStamp(db: Kysely<Database> | Transaction<Database>): Promise<string> {
  const row = await db
    .selectFrom('policy_versions')
    .select([sql<string>`count(*)::text`.as('n'), sql<string | null>`max(published_at)::text`.as('last')])
    .executeTakeFirst();
  return `${row?.n ?? 0}/${row?.last ?? ''}`;
}
