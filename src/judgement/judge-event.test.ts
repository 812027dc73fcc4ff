import { describe, expect, it } from 'vitest';
import { makeEvent, makePolicy, makeReporter } from '../../test/factories.js';
import { judgeEvent } from './judge-event.js';

const now = new Date('2026-03-02T00:00:00Z');
const base = {
  reporter: makeReporter(),
  channel: 'smtp' as const,
  receivedAt: new Date('2026-03-01T12:00:00Z'),
  serviceKind: 'vps',
  policy: makePolicy(),
  now,
};

describe('judgeEvent', () => {
  it('finds the clause that covers the event class', () => {
    const j = judgeEvent({ ...base, event: makeEvent() });
    expect(j.verdict).toBe('violation');
    if (j.verdict !== 'violation') return;
    expect(j.primary.id).toBe('spam');
    expect(j.endangering).toBe(false);
    expect(j.eventTime.toISOString()).toBe('2026-03-01T10:00:00.000Z');
  });

  it('flags clauses that endanger the infrastructure', () => {
    const j = judgeEvent({
      ...base,
      event: makeEvent({ 'classification.taxonomy': 'availability', 'classification.type': 'ddos' }),
    });
    expect(j).toMatchObject({ verdict: 'violation', endangering: true, severity: 'critical' });
  });

  it('answers "no clause" with the reason when nothing covers the class', () => {
    const j = judgeEvent({
      ...base,
      event: makeEvent({ 'classification.taxonomy': 'fraud', 'classification.type': 'phishing' }),
    });
    expect(j).toMatchObject({ verdict: 'no-clause', eventClass: 'fraud/phishing' });
  });

  it('scopes clauses to the service kinds they name', () => {
    const event = makeEvent({
      'classification.taxonomy': 'fraud',
      'classification.type': 'unauthorized-use-of-resources',
    });
    expect(judgeEvent({ ...base, event, serviceKind: 'shared-hosting' }).verdict).toBe('violation');
    const onVps = judgeEvent({ ...base, event, serviceKind: 'vps' });
    expect(onVps.verdict).toBe('no-clause');
    if (onVps.verdict === 'no-clause') expect(onVps.reason).toContain('for a vps service');
  });

  it('rejects anonymous complaints where the policy says so, telling the reporter when it can', () => {
    const anonymous = makeReporter({ name: undefined, email: undefined, anonymous: true });
    expect(judgeEvent({ ...base, event: makeEvent(), reporter: anonymous })).toMatchObject({
      verdict: 'rejected-anonymous',
      tellReporter: false,
    });
    const accepting = makePolicy({
      terms: {
        ...makePolicy().terms,
        complaints: {
          anonymous: 'accept',
          share_with_customer: 'shared',
          honour_confidentiality_requests: true,
        },
      },
    });
    expect(judgeEvent({ ...base, event: makeEvent(), reporter: anonymous, policy: accepting }).verdict).toBe(
      'violation',
    );
  });

  it('never treats the provider’s own detections as anonymous', () => {
    const machine = makeReporter({ name: undefined, email: undefined, anonymous: true, automated: true });
    expect(judgeEvent({ ...base, event: makeEvent(), reporter: machine, channel: 'detection' }).verdict).toBe(
      'violation',
    );
  });

  it('does not act on events older than the policy’s maximum age', () => {
    const j = judgeEvent({ ...base, event: makeEvent({ 'time.source': '2025-10-01T00:00:00.000Z' }) });
    expect(j.verdict).toBe('too-old');
  });

  it('uses the received time when the source gives none', () => {
    const event = makeEvent();
    delete event['time.source'];
    const j = judgeEvent({ ...base, event });
    expect(j.verdict === 'violation' && j.eventTime.toISOString()).toBe('2026-03-01T12:00:00.000Z');
  });
});
