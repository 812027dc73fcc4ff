import { expect, it } from 'vitest';
import { getCase } from '../../src/cases/case-repository.js';
import { recordCustomerResponse } from '../../src/enforcement/commands/customer-response-portal.js';
import { describeScenarios, noticeFacts, spamFrom } from '../scenarios/scenario-harness.js';

/**
 * Secure Packet §4.3: the customer must "evidence consent within 72 hours of recipient or Secure Packet
 * request". A bulk-mail complaint under that clause asks for the evidence with the policy's own 72-hour
 * deadline (not the generic 7-day cure); evidence sent in time holds the ladder for the analyst's review,
 * a missed deadline moves the case along the ladder.
 */
describeScenarios('consent evidence within 72 hours (Secure Packet §4.3)', 'securepacket', (ctx) => {
  it('asks for consent evidence due 72 hours after the notice; missed, the case escalates', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const result = await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    const ref = result.cases[0]!.ref;
    expect((await getCase(ctx.store.db, ref))?.clauseId).toBe('mail.consent');
    const notice = noticeFacts(desk.mailTo('noc@acme-mail.example')[0]!);
    expect(notice.text).toContain('Evidence of recipient consent within 72 hours');
    expect(notice.text).toContain('Send us that evidence by 2026-12-04 09:00 UTC');
    expect(notice.text).not.toContain('2026-12-08');

    await desk.advanceTo('2026-12-04T08:59:00.000Z');
    expect((await getCase(ctx.store.db, ref))?.status).toBe('awaiting-cure');
    await desk.advanceTo('2026-12-04T09:00:01.000Z');
    const escalated = await getCase(ctx.store.db, ref);
    expect(escalated?.state.ladder.awaitingApproval?.stepId).toBe('block');
  });

  it('evidence sent in the portal before the deadline holds the ladder for review', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const result = await desk.submit(spamFrom('198.51.100.11', '2026-12-01T09:00:00.000Z'));
    const ref = result.cases[0]!.ref;
    const record = await getCase(ctx.store.db, ref);
    await desk.advanceTo('2026-12-03T15:00:00.000Z');
    await recordCustomerResponse(desk.deps, {
      caseRef: ref,
      customerId: record!.customerId,
      author: 'noc@acme-mail.example',
      text: [
        'Consent evidence for alice@recipient.example:',
        'address alice@recipient.example; 2026-10-02T10:14:00Z; source: newsletter form at shop.acme.example;',
        'method: double opt-in; confirmation: link clicked 2026-10-02T10:20:11Z from 192.0.2.44.',
      ].join('\n'),
      cureClaimed: true,
    });
    await desk.advanceTo('2026-12-05T09:00:00.000Z');
    const held = await getCase(ctx.store.db, ref);
    expect(held?.status).toBe('customer-responded');
    expect(held?.state.ladder.awaitingApproval).toBeUndefined();
  });
});
