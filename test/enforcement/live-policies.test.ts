import { createHash } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { getCase } from '../../src/cases/case-repository.js';
import { LivePolicies } from '../../src/enforcement/pipeline/live-policies.js';
import { inboxProcessorFor } from '../../src/enforcement/pipeline/report-processor.js';
import type { InboxItem } from '../../src/intake/inbox/inbox-worker.js';
import { publishPolicyVersion } from '../../src/policy/policy-repository.js';
import type { PolicyDocument } from '../../src/policy/policy-schema.js';
import { makePolicy } from '../factories.js';
import { clockAt, pipelineDeps, reportOf, resetDesk, seedRegistry } from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * A version published while the desk runs binds the next event, with no restart: the pipeline's policy
 * list is refreshed per report from a cheap stamp of what is published (live-policies.ts).
 */

const asLoaded = (document: PolicyDocument) => ({
  file: `policies/${document.provider.id}/${document.version}.yaml`,
  document,
  source: JSON.stringify(document),
  sha256: createHash('sha256').update(JSON.stringify(document)).digest('hex'),
});

const item = { id: '1', attempt: 1 } as unknown as InboxItem;

describeEachBackend('live policies', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
    await ctx.store.db.deleteFrom('policy_versions').execute();
    await ctx.store.db.deleteFrom('providers').execute();
  });

  it('binds the next event under a version published while the desk runs; the default provider first', async () => {
    const v1 = makePolicy({
      version: '1.0',
      effective_at: '2026-01-01T00:00:00Z',
      published_at: '2026-01-01T00:00:00Z',
    });
    await publishPolicyVersion(ctx.store.db, asLoaded(v1));
    const other = makePolicy({
      provider: { id: 'other', name: 'Other Hosting', abuse_contact: { email: 'abuse@other.example' } },
    });
    await publishPolicyVersion(ctx.store.db, asLoaded(other));
    const live = await LivePolicies.load(ctx.store.db, 'example');
    expect(live.providers()).toEqual(['example', 'other']);

    const snapshot = await seedRegistry(ctx.store, {
      customers: [{ ref: 'cust-a' }, { ref: 'cust-b' }],
      services: [
        { ref: 'vps-a', customer: 'cust-a' },
        { ref: 'vps-b', customer: 'cust-b' },
      ],
      assignments: [
        { service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' },
        { service: 'vps-b', resource: '192.0.2.0/24', from: '2025-01-01T00:00:00Z' },
      ],
    });
    const deps = {
      ...pipelineDeps(ctx.store, snapshot, live.histories[0]!, clockAt('2026-03-01T12:00:00Z')),
      policies: live.histories,
    };
    const processor = inboxProcessorFor(deps, live);
    const spamAt = (ip: string) =>
      reportOf({
        receivedAt: '2026-03-01T12:00:00.000Z',
        events: [{ 'source.ip': ip, 'time.source': '2026-03-01T11:00:00.000Z' }],
      });

    const first = await ctx.store.db
      .transaction()
      .execute((trx) => processor(trx, spamAt('198.51.100.7'), item));
    expect((await getCase(ctx.store.db, (first.cases as string[])[0]!))!.policyVersion).toBe('1.0');

    // Published by another process (the console, the API, `aupdesk policy publish`): in force from 1 Feb.
    const v2 = makePolicy({
      version: '2.0',
      effective_at: '2026-02-01T00:00:00Z',
      published_at: '2026-02-01T00:00:00Z',
    });
    await publishPolicyVersion(ctx.store.db, asLoaded(v2));
    const second = await ctx.store.db
      .transaction()
      .execute((trx) => processor(trx, spamAt('192.0.2.8'), item));
    const record = (await getCase(ctx.store.db, (second.cases as string[])[0]!))!;
    expect(record.policyVersion).toBe('2.0');
    // The first case keeps the version it was opened under.
    expect((await getCase(ctx.store.db, (first.cases as string[])[0]!))!.policyVersion).toBe('1.0');
    expect(await live.refresh(ctx.store.db)).toBe(false);
  });
});
