import { beforeEach, expect, it } from 'vitest';
import { BlocklistAdapter, renderBlocklistText } from '../../src/actions/blocklist-adapter.js';
import { FeeAdapter } from '../../src/actions/fee-adapter.js';
import {
  storeAckRateLimiter,
  storeBlocklistRepository,
  storeFeeRepository,
} from '../../src/actions/store-action-repositories.js';
import { resetDesk } from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';
import { contextOf, outboxActionOf } from './action-support.js';

const base = { customerId: 'cust-a', serviceId: 'vps-a' };

describeEachBackend('fee, block-list and acknowledgement-limit adapters on the case tables', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  it('records a fee once per action key, in cents', async () => {
    const fees = storeFeeRepository(ctx.store.db);
    const adapter = new FeeAdapter(fees);
    const payload = { ...base, caseId: '000001', amount: 150.005, currency: 'aed', basis: 'contract 4.2' };
    const action = outboxActionOf('fee.record', '000001/fee/1/fee.record', payload);
    const first = await adapter.perform(action, contextOf(action.idempotencyKey));
    const again = await adapter.perform(action, contextOf(action.idempotencyKey));
    expect(first).toMatchObject({ recorded: true, amount: 150.01, currency: 'AED' });
    expect(again).toMatchObject({ recorded: false });
    expect(await fees.list('cust-a')).toEqual([
      expect.objectContaining({ caseId: '000001', amount: 150.01, currency: 'AED', basis: 'contract 4.2' }),
    ]);
  });

  it('keeps a prefix listed while any case holds it', async () => {
    const repository = storeBlocklistRepository(ctx.store.db);
    const adapter = new BlocklistAdapter(repository);
    const block = (caseId: string, operation: 'add' | 'remove', targets: string[]) => {
      const action = outboxActionOf(`block.${operation}`, `${caseId}/b/1/block.${operation}`, {
        ...base,
        caseId,
        operation,
        targets,
        reason: `case ${caseId}`,
        slaCreditEligible: false,
      });
      return adapter.perform(action, contextOf(action.idempotencyKey));
    };
    expect(await block('000001', 'add', ['198.51.100.7', '2001:DB8::/48'])).toMatchObject({
      changed: ['198.51.100.7/32', '2001:db8::/48'],
    });
    expect(await block('000001', 'add', ['198.51.100.7'])).toMatchObject({ changed: [] });
    await block('000002', 'add', ['198.51.100.7']);
    await block('000001', 'remove', ['198.51.100.7', '2001:db8::/48']);
    const entries = await repository.list();
    expect(entries.map((e) => [e.cidr, e.caseId])).toEqual([['198.51.100.7/32', '000002']]);
    expect(renderBlocklistText(entries, new Date('2026-03-01T00:00:00Z'))).toContain('\n198.51.100.7/32\n');
  });

  it('limits acknowledgements per address across workers, counts a retried action once, and forgets after the window', async () => {
    const limit = { max: 2, windowMs: 3_600_000 };
    // Two workers of one desk: each its own limiter over the same store.
    const workerA = storeAckRateLimiter(ctx.store.db, limit);
    const workerB = storeAckRateLimiter(ctx.store.db, limit);
    const at = (minutes: number) => new Date(Date.parse('2026-03-02T09:00:00Z') + minutes * 60_000);
    expect(await workerA.take('Rita <RITA@victim.example>', at(0), 'report:1:ack')).toBe(true);
    expect(await workerB.take('rita@victim.example', at(1), 'report:2:ack')).toBe(true);
    expect(await workerA.take('rita@victim.example', at(2), 'report:3:ack')).toBe(false);
    expect(await workerB.take('rita@victim.example', at(3), 'report:2:ack')).toBe(true);
    expect(await workerB.take('other@victim.example', at(3), 'report:4:ack')).toBe(true);
    // An hour after the first: one slot free again, and the pruned row is gone.
    expect(await workerA.take('rita@victim.example', at(60), 'report:5:ack')).toBe(true);
    expect(await workerA.take('rita@victim.example', at(60), 'report:6:ack')).toBe(false);
    const rows = await ctx.store.db
      .selectFrom('reporter_ack_sends')
      .select(['action_key', 'address'])
      .orderBy('action_key')
      .execute();
    expect(rows).toEqual([
      { action_key: 'report:2:ack', address: 'rita@victim.example' },
      { action_key: 'report:4:ack', address: 'other@victim.example' },
      { action_key: 'report:5:ack', address: 'rita@victim.example' },
    ]);
  });

  it('lets exactly the limit through when workers take slots for one address at once', async () => {
    const limiters = Array.from({ length: 4 }, () => storeAckRateLimiter(ctx.store.db, { max: 3 }));
    const now = new Date('2026-03-02T10:00:00Z');
    const taken = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        limiters[i % 4]!.take('noc@reporter.example', now, `report:${i}:ack`),
      ),
    );
    expect(taken.filter(Boolean)).toHaveLength(3);
  });

  it('takes a round of acknowledgements at once as one by one would, also racing single takes', async () => {
    const now = new Date('2026-03-02T11:00:00Z');
    const limiter = storeAckRateLimiter(ctx.store.db, { max: 2 });
    const requests = [
      { address: 'Ann <ANN@reporter.example>', key: 'report:100:ack' },
      { address: 'bob@reporter.example', key: 'report:101:ack' },
      { address: 'ann@reporter.example', key: 'report:102:ack' },
      { address: 'ann@reporter.example', key: 'report:103:ack' },
      // A retried send of one already counted goes through without counting twice.
      { address: 'ann@reporter.example', key: 'report:100:ack' },
    ];
    expect(await limiter.takeMany!(requests, now)).toEqual([true, true, true, false, true]);
    // Rounds of several workers and single takes for one address at once: still exactly the limit.
    const limiters = Array.from({ length: 3 }, () => storeAckRateLimiter(ctx.store.db, { max: 3 }));
    const address = 'flood@reporter.example';
    const answers = await Promise.all([
      ...limiters.map((l, w) =>
        l.takeMany!(
          Array.from({ length: 5 }, (_, i) => ({ address, key: `round:${w}:${i}` })),
          now,
        ),
      ),
      ...Array.from({ length: 5 }, (_, i) => limiters[i % 3]!.take(address, now, `single:${i}`)),
    ]);
    expect(answers.flat().filter(Boolean)).toHaveLength(3);
  });
});
