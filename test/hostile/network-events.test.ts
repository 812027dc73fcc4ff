import { beforeEach, describe, expect, it } from 'vitest';
import { attributeNetworkEvent } from '../../src/attribution/attribute-event.js';
import { getCase } from '../../src/cases/case-repository.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { shadowserverParser } from '../../src/intake/parsers/shadowserver/shadowserver-parser.js';
import { makePolicy } from '../factories.js';
import {
  clockAt,
  historyOf,
  pipelineDeps,
  reportOf,
  resetDesk,
  seedRegistry,
} from '../support/case-support.js';
import { HARNESS_RECEIVED_AT } from '../support/parser-harness.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * A blocklist names whole networks in its `ip` column. Such a row is a network event (`source.network`), not
 * a dropped row, and attribution resolves it to every service holding part of the network at the time.
 */

const REGISTRY = {
  customers: [
    { ref: 'cust-a', emails: ['ops@a.example'] },
    { ref: 'cust-b', emails: ['ops@b.example'] },
    { ref: 'cust-c', emails: ['ops@c.example'] },
  ],
  services: [
    { ref: 'vps-a', customer: 'cust-a' },
    { ref: 'vps-b', customer: 'cust-b' },
    { ref: 'vps-c', customer: 'cust-c' },
  ],
  assignments: [
    { service: 'vps-a', resource: '198.51.100.0/28', from: '2025-01-01T00:00:00Z' },
    { service: 'vps-b', resource: '198.51.100.64/26', from: '2025-01-01T00:00:00Z' },
    // Outside the listed network.
    { service: 'vps-c', resource: '203.0.113.0/24', from: '2025-01-01T00:00:00Z' },
  ],
};

describe('blocklist rows naming a network', () => {
  it('become network events instead of failing', async () => {
    const csv = [
      '"timestamp","ip","hostname","source","reason","asn","geo","region","city","naics","sic","sector","tag"',
      '"2026-01-15 07:00:19","198.51.100.0/24",,"Spamhaus DROP","Hijacked range",64496,"NL"',
      '"2026-01-15 07:00:20","198.51.100.134","host.example.net","Alien Vault","Malicious Host",64496,"NL"',
    ].join('\n');
    const out = await shadowserverParser.parse({
      bytes: new TextEncoder().encode(csv),
      fileName: '2026-01-15-blocklist-example_org-geo.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({ 'source.network': '198.51.100.0/24', 'raw.location': '2' });
    expect(out.events[0]?.['source.ip']).toBeUndefined();
    expect(out.events[1]?.['source.ip']).toBe('198.51.100.134');
  });
});

describeEachBackend('network events through attribution and the pipeline', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  it('attributes a network to every service holding part of it, and judges the event once for each', async () => {
    const snapshot = await seedRegistry(ctx.store, REGISTRY);
    const report = reportOf({ events: [{ 'source.network': '198.51.100.0/24' }] });
    const { 'source.ip': _dropped, ...networkOnly } = report.events[0]!;
    const event = { ...networkOnly, 'time.source': '2026-03-01T10:00:00.000Z' };
    const held = attributeNetworkEvent(snapshot, event, new Date('2026-03-01T12:00:00Z'));
    expect(held.map((h) => (h.attribution.ours ? h.attribution.service.ref : null))).toEqual([
      'vps-a',
      'vps-b',
    ]);

    const deps = pipelineDeps(
      ctx.store,
      snapshot,
      historyOf(makePolicy()),
      clockAt('2026-03-01T12:00:00.000Z'),
    );
    const result = await processReport(deps, { ...report, events: [event] });
    expect(result.events.map((e) => (e.verdict === 'violation' ? e.service : e.verdict))).toEqual([
      'vps-a',
      'vps-b',
    ]);
    expect(result.cases).toHaveLength(2);
    const a = await getCase(ctx.store.db, result.cases[0]!.ref);
    // Each case names the part of the network its service holds, not the whole range.
    expect(a?.state.subjects.addresses).toEqual(['198.51.100.0/28']);
    // Processed again (the same evidence): duplicates, not new cases.
    const again = await processReport(deps, { ...report, events: [event] });
    expect(again.events.map((e) => e.verdict)).toEqual(['duplicate', 'duplicate']);
  });
});
