import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { isAupError } from '../../src/errors.js';
import { type LoadedPolicy, loadPolicyDirectory, parsePolicySource } from '../../src/policy/policy-loader.js';
import {
  getPolicyVersion,
  listPolicyVersions,
  listProviders,
  loadPolicyHistoryFromStore,
  publishPolicyVersion,
} from '../../src/policy/policy-repository.js';
import { describeEachBackend } from '../support/store-backends.js';

let v1: LoadedPolicy;
let v2: LoadedPolicy;
beforeAll(async () => {
  const history = await loadPolicyDirectory(path.resolve('test/fixtures/policy/tree/examplehost'));
  [v1, v2] = history.versions as [LoadedPolicy, LoadedPolicy];
});

describeEachBackend('policy repository', (ctx) => {
  it('publishes a version and reads it back byte for byte', async () => {
    const result = await publishPolicyVersion(ctx.store.db, v1);
    expect(result).toEqual({
      provider: 'examplehost',
      version: '2023-01-01',
      status: 'published',
      sha256: v1.sha256,
    });
    const back = await getPolicyVersion(ctx.store.db, 'examplehost', '2023-01-01');
    expect(back?.source).toBe(v1.source);
    expect(back?.sha256).toBe(v1.sha256);
    expect(back?.document).toEqual(v1.document);
    expect(back?.file).toBe('store:examplehost/2023-01-01');
  });

  it('treats re-publishing the identical source as a no-op', async () => {
    const result = await publishPolicyVersion(ctx.store.db, v1);
    expect(result.status).toBe('unchanged');
    expect(await listPolicyVersions(ctx.store.db, 'examplehost')).toHaveLength(1);
  });

  it('refuses a different source under an existing version', async () => {
    const changed = parsePolicySource(`${v1.source}\n# an edit after publication\n`, 'edited.yaml');
    try {
      await publishPolicyVersion(ctx.store.db, changed);
      expect.unreachable();
    } catch (error) {
      expect(isAupError(error, 'AUP_ERR_POLICY_VERSION_EXISTS')).toBe(true);
      expect((error as { details: Record<string, unknown> }).details).toMatchObject({
        provider: 'examplehost',
        version: '2023-01-01',
        published: v1.sha256,
        offered: changed.sha256,
      });
    }
    expect((await getPolicyVersion(ctx.store.db, 'examplehost', '2023-01-01'))?.sha256).toBe(v1.sha256);
  });

  it('lists versions by effective date and loads them as a history', async () => {
    await publishPolicyVersion(ctx.store.db, v2);
    expect(await listPolicyVersions(ctx.store.db)).toEqual([
      {
        provider: 'examplehost',
        version: '2023-01-01',
        publishedAt: '2022-12-01T00:00:00.000Z',
        effectiveAt: '2023-01-01T00:00:00.000Z',
        sha256: v1.sha256,
      },
      {
        provider: 'examplehost',
        version: '2024-03-01',
        publishedAt: '2024-02-15T00:00:00.000Z',
        effectiveAt: '2024-03-01T00:00:00.000Z',
        sha256: v2.sha256,
      },
    ]);
    const history = await loadPolicyHistoryFromStore(ctx.store.db, 'examplehost');
    expect(history.versions.map((v) => v.document.version)).toEqual(['2023-01-01', '2024-03-01']);
    expect(await listProviders(ctx.store.db)).toEqual([{ id: 'examplehost', name: 'ExampleHost' }]);
  });

  it('answers not found for an unknown provider or version', async () => {
    expect(await getPolicyVersion(ctx.store.db, 'examplehost', '1999-01-01')).toBeUndefined();
    await expect(loadPolicyHistoryFromStore(ctx.store.db, 'nobody')).rejects.toMatchObject({
      code: 'AUP_ERR_NOT_FOUND',
    });
  });

  it('publishes one new version concurrently exactly once', async () => {
    const v3 = parsePolicySource(
      v2.source
        .replace('version: "2024-03-01"', 'version: "2025-01-01"')
        .replace('supersedes: "2023-01-01"', 'supersedes: "2024-03-01"')
        .replace('published_at: 2024-02-15', 'published_at: 2024-12-01')
        .replace('effective_at: 2024-03-01T00:00:00Z', 'effective_at: 2025-01-01T00:00:00Z'),
      '2025-01-01.yaml',
    );
    const results = await Promise.all([v3, v3, v3].map((v) => publishPolicyVersion(ctx.store.db, v)));
    expect(results.map((r) => r.status).sort()).toEqual(['published', 'unchanged', 'unchanged']);
    expect(await listPolicyVersions(ctx.store.db, 'examplehost')).toHaveLength(3);
  });
});
