import { expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit-log.js';
import { slaExclusions, slaExclusionsCsv, slaExclusionsJson } from '../../src/compliance/sla-exclusions.js';
import { reinstateCase } from '../../src/enforcement/commands/reinstate-case.js';
import { isAupError } from '../../src/errors.js';
import { ddosFrom, describeScenarios } from '../scenarios/scenario-harness.js';

/**
 * Secure Packet §11: no SLA credit for interruptions resulting from an AUP breach. A DDoS suspends the
 * customer's service through the real pipeline; an analyst reinstates it a day later; the report gives the
 * interval per customer, clipped to the period asked, as JSON and as CSV for billing.
 */

describeScenarios('SLA-credit exclusion report (Secure Packet §11)', 'securepacket', (ctx) => {
  it('reports the suspension-to-reinstatement interval per customer, clipped to the period', async () => {
    const desk = await ctx.open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.advanceTo('2026-12-02T15:00:00.000Z');
    const states = (await listAudit(ctx.store.db, { kind: 'case.state', limit: 1000 })).map(
      (e) => e.payload as { to: string },
    );
    expect(states.some((s) => s.to === 'suspended')).toBe(true);

    // Still suspended: ongoing up to the period's end.
    const ongoing = await slaExclusions(ctx.store.db, {
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-03T00:00:00Z'),
    });
    expect(ongoing.customers).toHaveLength(1);
    expect(ongoing.customers[0]!.customer).toBe('gamehost');
    expect(ongoing.customers[0]!.interruptions[0]).toMatchObject({
      service: 'gamehost-ded-7',
      ongoing: true,
    });

    desk.clock.set('2026-12-03T14:20:00.000Z');
    await reinstateCase(desk.deps, { caseRef: 'AUP-000001', analyst: 'analyst@desk.example' });
    const suspendedAt = (await listAudit(ctx.store.db, { kind: 'case.state', limit: 1000 })).find(
      (e) => (e.payload as { to: string }).to === 'suspended',
    )!.at;

    const december = await slaExclusions(ctx.store.db, {
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2027-01-01T00:00:00Z'),
    });
    const hours = (Date.parse('2026-12-03T14:20:00.000Z') - suspendedAt.getTime()) / 3_600_000;
    expect(december.customers).toEqual([
      {
        customer: 'gamehost',
        hours: Math.round(hours * 100) / 100,
        interruptions: [
          expect.objectContaining({
            case: 'AUP-000001',
            service: 'gamehost-ded-7',
            start: suspendedAt,
            end: new Date('2026-12-03T14:20:00.000Z'),
            ongoing: false,
          }),
        ],
      },
    ]);

    const clipped = await slaExclusions(ctx.store.db, {
      from: new Date('2026-12-03T00:00:00Z'),
      to: new Date('2026-12-04T00:00:00Z'),
    });
    expect(clipped.customers[0]!.hours).toBeCloseTo(14.33, 2);
    expect(slaExclusionsJson(clipped).customers[0]!.interruptions[0]!.start).toBe('2026-12-03T00:00:00.000Z');

    const csv = slaExclusionsCsv(december).split('\r\n');
    expect(csv[0]).toBe('customer,service,case,start,end,hours,ongoing');
    expect(csv[1]).toMatch(
      /^gamehost,gamehost-ded-7,AUP-000001,2026-12-02T14:2\d:\d\d\.\d{3}Z,2026-12-03T14:20:00\.000Z,[\d.]+,false$/,
    );

    const november = await slaExclusions(ctx.store.db, {
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-12-01T00:00:00Z'),
    });
    expect(november.customers).toEqual([]);
    const backwards = await slaExclusions(ctx.store.db, {
      from: new Date('2026-12-05'),
      to: new Date('2026-12-01'),
    }).catch((e: unknown) => e);
    expect(isAupError(backwards) && backwards.code).toBe('AUP_ERR_INPUT_INVALID');
  });
});
