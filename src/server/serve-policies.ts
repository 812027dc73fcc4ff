import { existsSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { AupError, isAupError } from '../errors.js';
import { loadPolicyTree } from '../policy/policy-loader.js';
import { listProviders, publishPolicyVersion } from '../policy/policy-repository.js';
import type { Database } from '../store/schema.js';

/** What `serve` does with policies at start (serve.ts): publish the `--policy` folder, choose the provider. */

/** Publishes every policy version under `dir` (identical re-publish is a no-op; a changed one is refused). */
export async function publishPolicyFolder(db: Kysely<Database>, dir: string, logger: Logger): Promise<void> {
  if (!existsSync(dir)) {
    logger.warn({ dir }, 'policy folder not found: serving the policies already published');
    return;
  }
  const histories = await loadPolicyTree(dir);
  for (const history of histories) {
    for (const version of history.versions) {
      try {
        const result = await publishPolicyVersion(db, version);
        if (result.status === 'published')
          logger.info({ provider: result.provider, version: result.version }, 'policy published');
      } catch (error) {
        if (!isAupError(error, 'AUP_ERR_POLICY_VERSION_EXISTS')) throw error;
        logger.warn(
          { file: version.file, err: error.message },
          'policy file differs from the published version: kept the published one',
        );
      }
    }
  }
}

export async function chooseProvider(
  db: Kysely<Database>,
  wanted: string | undefined,
  logger: Logger,
): Promise<string | undefined> {
  const providers = (await listProviders(db)).map((r) => r.id);
  if (wanted !== undefined) {
    if (!providers.includes(wanted)) {
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        `--provider ${wanted}: no policy of that provider is published (published: ${providers.join(', ') || 'none'})`,
      );
    }
    return wanted;
  }
  if (providers.length > 1) {
    logger.warn(
      { providers, chosen: providers[0] },
      `several providers are published: each customer is judged under its own provider's AUP; customers naming none under ${providers[0]} (choose with --provider)`,
    );
  }
  return providers[0];
}
