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
 * INFINCE: notice always precedes suspension (aupdesk's default reading of its "we will notify"), immediate
 * suspension when a violation endangers the network, suspension and termination at an analyst's word.
 */

describeScenarios('INFINCE scenarios', 'infince', (ctx) => {
  const { open } = ctx;

  it('spam: notice with the 7-day deadline; suspension proposed, not taken, when it passes', async () => {
    const desk = await open('2026-12-01T09:00:00.000Z');
    await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    const notice = noticeFacts(desk.mailTo('noc@acme-mail.example')[0]!);
    expect(notice.text).toContain('2026-12-08 09:00 UTC');
    expect(notice.autoSubmitted).toBe('auto-generated');
    await desk.advanceTo('2026-12-08T09:00:01.000Z');
    expect((await getCase(ctx.store.db, 'AUP-000001'))?.state.ladder.awaitingApproval?.stepId).toBe(
      'suspend',
    );
    expect(ctx.sinks.hooks).toHaveLength(0);
  });

  it('DDoS: the notice goes out and the service is suspended at once, exactly once; later notices thread', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.advanceTo('2026-12-20T00:00:00.000Z');
    expect(ctx.sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
    const notices = desk.mailTo('ops@gamehost.example').map(noticeFacts);
    expect(notices.length).toBeGreaterThanOrEqual(2);
    // The later notice answers the first: In-Reply-To/References carry the first notice's Message-ID.
    expect(notices[1]!.references).toContain(notices[0]!.messageId);
    expect(notices.every((n) => n.subject.startsWith('[AUP-000001] '))).toBe(true);
  });

  it('an anonymous complaint is accepted', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.events[0]).toMatchObject({ verdict: 'violation' });
  });
});
