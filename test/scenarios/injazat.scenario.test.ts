import { expect, it } from 'vitest';
import { getCase } from '../../src/cases/case-repository.js';
import {
  anonymousBruteForce,
  ddosFrom,
  describeScenarios,
  noticeFacts,
  spamFrom,
} from './scenario-harness.js';

/**
 * Injazat (AUP retrieved 2026-11-22): "If Company becomes aware of a violation ... Company may, in Company's
 * sole discretion, take any of the following actions": warning, content removal, suspension, fees, denial
 * of service. Every rung is the Company's choice: the desk proposes and an analyst decides. The text is
 * silent on anonymous complaints (aupdesk accepts them).
 */

describeScenarios('Injazat scenarios', 'injazat', (ctx) => {
  const { open } = ctx;

  it('spam: the warning is proposed for an analyst, nothing reaches the customer on its own', async () => {
    const desk = await open('2026-12-01T09:00:00.000Z');
    await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    const record = await getCase(ctx.store.db, 'AUP-000001');
    expect(record?.state.ladder.awaitingApproval?.stepId).toBe('warning');
    expect(record?.status).toBe('open');
    await desk.advanceTo('2026-12-20T00:00:00.000Z');
    expect(desk.mailTo('noc@acme-mail.example')).toHaveLength(0);
    expect(ctx.sinks.hooks).toHaveLength(0);
    // The reporter is still acknowledged.
    expect(desk.mailTo('alice@recipient.example')).toHaveLength(1);
  });

  it('DDoS endangering the infrastructure: suspended at once, exactly once', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.advanceTo('2026-12-30T00:00:00.000Z');
    expect(ctx.sinks.hooks.map((h) => [h.body.action, h.body.service, h.signatureValid])).toEqual([
      ['suspend', 'gamehost-ded-7', true],
    ]);
    const notice = noticeFacts(desk.mailTo('ops@gamehost.example')[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.autoSubmitted).toBe('auto-generated');
  });

  it('an anonymous complaint is accepted and opens a case', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.cases).toEqual([{ ref: 'AUP-000001', opened: true }]);
    expect(result.events[0]).toMatchObject({ verdict: 'violation', clause: 'unauthorized-access' });
  });
});
