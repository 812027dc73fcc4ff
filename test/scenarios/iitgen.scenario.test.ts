import { expect, it } from 'vitest';
import { getCase, listCases } from '../../src/cases/case-repository.js';
import {
  anonymousBruteForce,
  ddosFrom,
  describeScenarios,
  noticeFacts,
  spamFrom,
} from './scenario-harness.js';

/**
 * iITGEN (AUP of 2018-02-24): "We will contact you by email should you violate this AUP. You will be given
 * an opportunity to cure this violation. If the violation endangers our infrastructure ... we may
 * immediately suspend services. If you fail to take the actions set out in our email, within the time
 * period set out in it, we may terminate your contract." And: "We do not respond to anonymous complaints".
 */

describeScenarios('iITGEN scenarios', 'iitgen', (ctx) => {
  const { open } = ctx;

  it('spam: an email notice with the clause, the cure deadline in UTC and threading headers; termination is only proposed at the deadline', async () => {
    const desk = await open('2026-12-01T09:00:00.000Z');
    const result = await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    expect(result.cases).toEqual([{ ref: 'AUP-000001', opened: true }]);

    const notices = desk.mailTo('noc@acme-mail.example');
    expect(notices).toHaveLength(1);
    const notice = noticeFacts(notices[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.text).toContain('must comply with the CAN-SPAM Act of 2003');
    expect(notice.text).toContain('2026-12-08 09:00 UTC');
    expect(notice.autoSubmitted).toBe('auto-generated');
    expect(notice.messageId).toMatch(/@desk\.example\.net>$/);
    // The reporter hears a case was opened (a person, with an address).
    expect(desk.mailTo('alice@recipient.example')).toHaveLength(1);

    await desk.advanceTo('2026-12-08T09:00:01.000Z');
    const record = await getCase(ctx.store.db, 'AUP-000001');
    expect(record?.state.ladder.awaitingApproval?.stepId).toBe('terminate');
    expect(ctx.sinks.hooks).toHaveLength(0);
    expect(desk.mailTo('noc@acme-mail.example')).toHaveLength(1);
  });

  it('DDoS endangering the infrastructure: suspended at once through the webhook, exactly once, with notice', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    expect(ctx.sinks.hooks.map((h) => [h.body.action, h.body.service, h.signatureValid])).toEqual([
      ['suspend', 'gamehost-ded-7', true],
    ]);
    expect(ctx.sinks.hooks[0]!.body.case).toBe('000001');
    const notice = noticeFacts(desk.mailTo('ops@gamehost.example')[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.text.toLowerCase()).toContain('suspend');

    // A second complaint about the same attack and the days after: no second suspension.
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T18:00:00.000Z'));
    await desk.advanceTo('2026-12-10T00:00:00.000Z');
    expect(ctx.sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
    expect((await listCases(ctx.store.db, {})).length).toBe(1);
  });

  it('an anonymous complaint is rejected: no case, no mail to the customer', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.cases).toEqual([]);
    expect(result.events[0]).toMatchObject({ verdict: 'rejected-anonymous' });
    expect(ctx.sinks.mail).toHaveLength(0);
    expect(ctx.sinks.hooks).toHaveLength(0);
  });
});
