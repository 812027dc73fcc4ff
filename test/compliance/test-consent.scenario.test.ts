import { expect, it } from 'vitest';
import { auditHead, listAudit } from '../../src/audit/audit-log.js';
import { listCases } from '../../src/cases/case-repository.js';
import { importTestConsents } from '../../src/compliance/import-test-consents.js';
import { isAupError } from '../../src/errors.js';
import { complaint, describeScenarios } from '../scenarios/scenario-harness.js';

/**
 * Secure Packet §5: "Customer may conduct vulnerability testing of their Hosted System with Secure Packet's
 * prior written consent." A consented scan (the service, the targets, the window) is recorded as authorised
 * and opens no case; the same scan outside the window, or against another target, is judged as usual.
 */

const CONSENTS = [
  'service,targets,valid_from,valid_to,reference',
  'gamehost-ded-7,203.0.113.0/28;2001:db8:77::/48,2026-12-05T08:00:00Z,2026-12-05T20:00:00Z,SP-TICKET-4411',
].join('\n');

const scan = (target: string, at: string) =>
  complaint({
    receivedAt: at,
    reporter: { name: 'Target NOC', email: 'noc@target.example', anonymous: false, automated: false },
    event: {
      'classification.taxonomy': 'information-gathering',
      'classification.type': 'scanner',
      'source.ip': '198.51.100.33',
      'destination.ip': target,
      // The scan itself ran an hour before the complaint (complaint() sets time.source).
    },
  });

describeScenarios('vulnerability-test consents (Secure Packet §5)', 'securepacket', (ctx) => {
  it('a consented scan opens no case; the same scan outside the window or the targets opens one', async () => {
    const desk = await ctx.open('2026-12-05T10:00:00.000Z');
    const recorded = await importTestConsents(
      ctx.store.db,
      { csv: CONSENTS },
      { at: desk.clock.now(), actor: 'user:analyst@desk.example', source: 'test' },
    );
    expect(recorded.created).toHaveLength(1);

    const inside = await desk.submit(scan('203.0.113.9', '2026-12-05T10:00:00.000Z'));
    expect(inside.events[0]).toMatchObject({ verdict: 'authorised' });
    expect(inside.cases).toHaveLength(0);
    const v6 = await desk.submit(scan('2001:db8:77::25', '2026-12-05T11:00:00.000Z'));
    expect(v6.events[0]).toMatchObject({ verdict: 'authorised' });
    expect(desk.mailTo('ops@gamehost.example')).toHaveLength(0);
    const judged = await listAudit(ctx.store.db, { kind: 'judgement' });
    expect(judged.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({
        verdict: 'authorised',
        reference: 'SP-TICKET-4411',
        consent: recorded.created[0]!.id,
        clause: 'abuse.unauthorized-access',
      }),
    );
    expect(await listCases(ctx.store.db)).toHaveLength(0);

    // The same scan the next day: the window has closed, the ladder runs (endangering: immediate suspension).
    await desk.advanceTo('2026-12-06T10:00:00.000Z');
    const after = await desk.submit(scan('203.0.113.9', '2026-12-06T10:00:00.000Z'));
    expect(after.events[0]).toMatchObject({ verdict: 'violation', opened: true });
    expect(await listCases(ctx.store.db)).toHaveLength(1);
    expect(ctx.sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
  });

  it('a target outside the consented prefixes is judged as usual, inside the window', async () => {
    const desk = await ctx.open('2026-12-05T10:00:00.000Z');
    await importTestConsents(
      ctx.store.db,
      { csv: CONSENTS },
      { at: desk.clock.now(), actor: 'user:analyst@desk.example', source: 'test' },
    );
    const outside = await desk.submit(scan('203.0.113.16', '2026-12-05T10:00:00.000Z'));
    expect(outside.events[0]).toMatchObject({ verdict: 'violation', opened: true });
  });

  it('refuses a consent for a service the registry does not know, recording nothing; a repeat adds nothing', async () => {
    const desk = await ctx.open('2026-12-05T10:00:00.000Z');
    const meta = { at: desk.clock.now(), actor: 'system:cli', source: 'test' } as const;
    const head = await auditHead(ctx.store.db);
    let error: unknown;
    try {
      await importTestConsents(
        ctx.store.db,
        { csv: `${CONSENTS}\ngamehots-ded-7,192.0.2.1,2026-12-05,2026-12-06,T2` },
        meta,
      );
    } catch (e) {
      error = e;
    }
    expect(isAupError(error, 'AUP_ERR_REGISTRY_UNKNOWN_SERVICE')).toBe(true);
    expect((error as Error).message).toContain('"gamehots-ded-7"');
    const first = await importTestConsents(ctx.store.db, { csv: CONSENTS }, meta);
    const again = await importTestConsents(ctx.store.db, { csv: CONSENTS }, meta);
    expect(first.created).toHaveLength(1);
    expect(again).toMatchObject({ created: [], existing: [{ id: first.created[0]!.id }] });
    expect(await listAudit(ctx.store.db, { kind: 'consent.recorded', afterSeq: head.seq })).toHaveLength(1);
  });
});
