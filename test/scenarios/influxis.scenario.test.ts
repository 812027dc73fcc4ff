import { afterAll, beforeAll, expect, it } from 'vitest';
import { getCase } from '../../src/cases/case-repository.js';
import { describeEachBackend } from '../support/store-backends.js';
import {
  anonymousBruteForce,
  ddosFrom,
  noticeFacts,
  openDesk,
  type Sinks,
  scenarioRegistry,
  spamFrom,
  startSinks,
} from './scenario-harness.js';

/**
 * Influxis: notice to the customer before suspension "unless the violation is harming the service"; the
 * suspension and termination rungs are "may" (an analyst's); anonymous complaints are not refused.
 */

let sinks: Sinks;
beforeAll(async () => {
  sinks = await startSinks();
});
afterAll(async () => {
  await sinks.close();
});

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

describeEachBackend('Influxis scenarios', (ctx) => {
  const open = (now: string) =>
    openDesk(ctx.store, sinks, { provider: 'influxis', registry: scenarioRegistry, now });

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
    expect(sinks.hooks).toHaveLength(0);
  });

  it('a DDoS harming the service: suspended without waiting, exactly once, and told', async () => {
    const desk = await open('2026-12-02T14:20:00.000Z');
    await desk.submit(ddosFrom('198.51.100.33', '2026-12-02T14:20:00.000Z'));
    await desk.submit(ddosFrom('198.51.100.34', '2026-12-02T15:00:00.000Z'));
    await desk.advanceTo('2026-12-12T00:00:00.000Z');
    expect(sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
    expect(sinks.hooks.every((h) => h.signatureValid)).toBe(true);
    expect(desk.mailTo('ops@gamehost.example').length).toBeGreaterThanOrEqual(1);
  });

  it('an anonymous complaint is accepted', async () => {
    const desk = await open('2026-12-04T16:00:00.000Z');
    const result = await desk.submit(anonymousBruteForce('198.51.100.12', '2026-12-04T16:00:00.000Z'));
    expect(result.events[0]).toMatchObject({ verdict: 'violation' });
    expect(result.cases).toHaveLength(1);
  });
});
