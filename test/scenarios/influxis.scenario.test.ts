import { expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit-log.js';
import { getCase } from '../../src/cases/case-repository.js';
import { listCaseEvents } from '../../src/cases/report-repository.js';
import {
  anonymousBruteForce,
  complaint,
  ddosFrom,
  describeScenarios,
  noticeFacts,
  spamFrom,
} from './scenario-harness.js';

/**
 * Influxis: notice to the customer before suspension "unless the violation is harming the service"; the
 * suspension and termination rungs are "may" (an analyst's); anonymous complaints are not refused.
 */

const scan = (ip: string, receivedAt: string) => ({
  ...spamFrom(ip, receivedAt),
  events: [
    {
      'time.source': new Date(Date.parse(receivedAt) - 3_600_000).toISOString(),
      'classification.taxonomy': 'information-gathering' as const,
      'classification.type': 'scanner' as const,
      'source.ip': ip,
      'feed.name': 'scanners',
    },
  ],
});

/** Spam sent through someone else's network (the sender is not ours) advertising a site hosted here. */
const spamvertising = (senderIp: string, url: string, receivedAt: string) =>
  complaint({
    receivedAt,
    subject: 'Spam advertising a site on your network',
    event: {
      'classification.taxonomy': 'abusive-content',
      'classification.type': 'spam',
      'source.ip': senderIp,
      'source.url': url,
    },
  });

describeScenarios('Influxis scenarios', 'influxis', (ctx) => {
  const { open } = ctx;

  it('a port scan (not harming): notice first with the cure deadline; at the deadline suspension is only proposed', async () => {
    const desk = await open('2026-12-03T06:00:00.000Z');
    await desk.submit(scan('198.51.100.41', '2026-12-03T06:00:00.000Z'));
    const notices = desk.mailTo('it@labco.example');
    expect(notices).toHaveLength(1);
    const notice = noticeFacts(notices[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.text).toContain('2026-12-10 06:00 UTC');
    expect(notice.autoSubmitted).toBe('auto-generated');
    await desk.advanceTo('2026-12-10T06:00:01.000Z');
    expect((await getCase(ctx.store.db, 'AUP-000001'))?.state.ladder.awaitingApproval?.stepId).toBe(
      'suspend',
    );
    expect(ctx.sinks.hooks).toHaveLength(0);
  });

  it('a DDoS harming the service: suspended without waiting, exactly once, and told', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.submit(ddosFrom('198.51.100.34', '2026-12-02T15:00:00.000Z'));
    await desk.advanceTo('2026-12-12T00:00:00.000Z');
    expect(ctx.sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
    expect(ctx.sinks.hooks.every((h) => h.signatureValid)).toBe(true);
    expect(desk.mailTo('ops@gamehost.example').length).toBeGreaterThanOrEqual(1);
  });

  it('an anonymous complaint is accepted', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.events[0]).toMatchObject({ verdict: 'violation' });
    expect(result.cases).toHaveLength(1);
  });

  it('spam from a third-party network advertising a site hosted here: judged under the spamvertising clause', async () => {
    const desk = await open('2026-12-05T09:00:00.000Z');
    const result = await desk.submit(
      spamvertising('203.0.113.9', 'http://media-share.example/deal', '2026-12-05T09:00:00.000Z'),
    );
    // The sender is someone else's; the promoted site is mediaco's, and only the clause extending to
    // third-party networks applies (email.spam covers mail sent from the Influxis network).
    expect(result.events[0]).toMatchObject({
      verdict: 'violation',
      clause: 'email.spamvertising',
      customer: 'mediaco',
      service: 'mediaco-web',
    });
    expect(result.cases).toEqual([{ ref: 'AUP-000001', opened: true }]);
    const record = await getCase(ctx.store.db, 'AUP-000001');
    expect(record?.clauseId).toBe('email.spamvertising');
    // The case is about the site: the sender's address belongs to another network and is never its subject.
    expect(record?.state.subjects).toMatchObject({
      addresses: [],
      urls: ['http://media-share.example/deal'],
    });
    const [event] = await listCaseEvents(ctx.store.db, { caseId: record!.id });
    expect(event?.reason).toContain('promoting a site hosted here via source.url');
    // The audit log outlives the desk's reset (a hash chain is never truncated): this test's entry is the last.
    const judgements = await listAudit(ctx.store.db, { subject: `case:${record!.id}`, kind: 'judgement' });
    expect(judgements.at(-1)?.payload).toMatchObject({ via: 'promoted-url', attributedBy: 'source.url' });

    // The customer hosting the site is told, under the spamvertising clause.
    const notices = desk.mailTo('legal@mediaco.example');
    expect(notices).toHaveLength(1);
    const notice = noticeFacts(notices[0]!);
    expect(notice.subject).toMatch(/^\[AUP-000001\] /);
    expect(notice.text).toContain('third-party network');

    // A spam run advertising nothing of ours is not ours, whatever it promotes.
    const elsewhere = await desk.submit(
      spamvertising('203.0.113.9', 'http://elsewhere.example/deal', '2026-12-05T10:00:00.000Z'),
    );
    expect(elsewhere.events[0]).toMatchObject({ verdict: 'not-ours' });
  });
});
