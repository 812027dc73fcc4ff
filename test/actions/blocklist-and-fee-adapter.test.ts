import { describe, expect, it } from 'vitest';
import {
  BlocklistAdapter,
  memoryBlocklistRepository,
  normaliseCidr,
  renderBlocklistJson,
  renderBlocklistText,
} from '../../src/actions/blocklist-adapter.js';
import { FeeAdapter, memoryFeeRepository } from '../../src/actions/fee-adapter.js';
import type { BlockPayload, FeePayload } from '../../src/enforcement/planned-action.js';
import { isAupError } from '../../src/errors.js';
import { contextOf, outboxActionOf } from './action-support.js';

const block = (caseId: string, targets: string[], operation: 'add' | 'remove' = 'add'): BlockPayload => ({
  caseId,
  customerId: 'cust-1',
  serviceId: 'svc-1',
  operation,
  targets,
  reason: `AUP case ${caseId}`,
  slaCreditEligible: false,
});

describe('block list adapter', () => {
  it('normalises addresses to CIDR and refuses what is not one', () => {
    expect(normaliseCidr('192.0.2.10')).toBe('192.0.2.10/32');
    expect(normaliseCidr('2001:DB8::/48')).toBe('2001:db8::/48');
    expect(() => normaliseCidr('192.0.2.10/33')).toThrow();
    expect(() => normaliseCidr('example.com')).toThrow();
    try {
      normaliseCidr('10.0.0.0/8/1');
    } catch (error) {
      expect(isAupError(error, 'AUP_ERR_ACTION_REJECTED')).toBe(true);
    }
  });

  it('adds once per case, keeps a prefix another case still holds, exports text and JSON', async () => {
    const repo = memoryBlocklistRepository();
    const adapter = new BlocklistAdapter(repo);
    const run = (key: string, payload: BlockPayload) =>
      adapter.perform(outboxActionOf(`block.${payload.operation}`, key, payload), contextOf(key));
    expect(await run('1/b/1/block.add', block('1', ['192.0.2.10', '2001:db8::/48']))).toMatchObject({
      changed: ['192.0.2.10/32', '2001:db8::/48'],
    });
    // A repeat of the same action changes nothing.
    expect(await run('1/b/1/block.add', block('1', ['192.0.2.10']))).toMatchObject({ changed: [] });
    await run('2/b/1/block.add', block('2', ['192.0.2.10/32', '198.51.100.0/24']));
    await run('1/r/1/block.remove', block('1', ['192.0.2.10', '2001:db8::/48'], 'remove'));

    const at = new Date('2026-03-02T10:00:00Z');
    const text = renderBlocklistText(await repo.list(), at);
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '192.0.2.10/32',
      '198.51.100.0/24',
    ]);
    expect(text).toMatch(/^# aupdesk block list/);
    expect(text).toContain('# generated 2026-03-02T10:00:00.000Z; 2 prefixes from 1 cases');
    const json = JSON.parse(renderBlocklistJson(await repo.list(), at));
    expect(json.count).toBe(2);
    expect(json.entries[0]).toEqual({
      cidr: '192.0.2.10/32',
      cases: [
        {
          case: '2',
          customer: 'cust-1',
          service: 'svc-1',
          reason: 'AUP case 2',
          addedAt: '2026-03-02T09:00:00.000Z',
        },
      ],
    });
  });
});

describe('fee adapter', () => {
  it('records one fee per action, however often the action is performed', async () => {
    const repo = memoryFeeRepository();
    const adapter = new FeeAdapter(repo);
    const payload: FeePayload = {
      caseId: '42',
      customerId: 'cust-1',
      serviceId: 'svc-1',
      amount: 0.1 + 0.2,
      currency: 'aed',
      basis: 'contract 4.2',
    };
    const first = await adapter.perform(
      outboxActionOf('fee.record', '42/fee/1/fee.record', payload),
      contextOf('k'),
    );
    const again = await adapter.perform(
      outboxActionOf('fee.record', '42/fee/1/fee.record', payload),
      contextOf('k'),
    );
    expect(first).toMatchObject({
      recorded: true,
      amount: 0.3,
      currency: 'AED',
      customer: 'cust-1',
      case: '42',
    });
    expect(again).toMatchObject({ recorded: false });
    expect(repo.rows()).toEqual([
      {
        idempotencyKey: '42/fee/1/fee.record',
        caseId: '42',
        customerId: 'cust-1',
        serviceId: 'svc-1',
        amount: 0.3,
        currency: 'AED',
        basis: 'contract 4.2',
        recordedAt: '2026-03-02T09:00:00.000Z',
      },
    ]);
  });
});
