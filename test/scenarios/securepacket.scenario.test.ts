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
 * Secure Packet (section 11): it may block content or traffic, suspend, or terminate; "Customer shall not
 * be entitled to any credit ... for any interruption of service resulting from an AUP breach". Anonymous
 * complaints are not refused (the text is silent; aupdesk accepts).
 */

describeScenarios('Secure Packet scenarios', 'securepacket', (ctx) => {
  const { open } = ctx;

  it('spam: a notice asking for consent evidence within 72 hours (§4.3); the block is proposed when they pass', async () => {
    const desk = await open('2026-12-01T09:00:00.000Z');
    await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    const notice = noticeFacts(desk.mailTo('noc@acme-mail.example')[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.text).toContain('2026-12-04 09:00 UTC');
    await desk.advanceTo('2026-12-04T09:00:01.000Z');
    expect((await getCase(ctx.store.db, 'AUP-000001'))?.state.ladder.awaitingApproval?.stepId).toBe('block');
    expect(ctx.sinks.hooks).toHaveLength(0);
  });

  it('DDoS: suspended once through the signed webhook, flagged as not eligible for SLA credit', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.advanceTo('2026-12-20T00:00:00.000Z');
    const suspends = ctx.sinks.hooks.filter((h) => h.body.action === 'suspend');
    expect(suspends).toHaveLength(1);
    expect(suspends[0]!.body).toMatchObject({ service: 'gamehost-ded-7', slaCreditEligible: false });
    expect(suspends[0]!.signatureValid).toBe(true);
    const texts = desk.mailTo('ops@gamehost.example').map((m) => noticeFacts(m).text);
    expect(texts.some((t) => t.includes('no service level credit'))).toBe(true);
  });

  it('an anonymous complaint is accepted', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.events[0]).toMatchObject({ verdict: 'violation' });
  });
});
