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

describe('judgeEvent: identifiers narrow what a clause covers', () => {
  const policy = makePolicy({
    sections: [{ id: 'prohibited', title: 'Prohibited uses', clauses: ['open-services', 'vulnerable'] }],
    clauses: [
      {
        id: 'open-services',
        title: 'Open services',
        text: 'No open resolvers or proxies.',
        covers: ['vulnerable/vulnerable-system'],
        identifiers: ['dns-open-resolver', 'open-http-proxy'],
        severity: 'high',
      },
      {
        id: 'vulnerable',
        title: 'Keep systems patched',
        text: 'Patch your systems.',
        covers: ['vulnerable/vulnerable-system'],
        severity: 'low',
      },
    ],
  });
  const vulnerable = (identifier?: string) =>
    makeEvent({
      'classification.taxonomy': 'vulnerable',
      'classification.type': 'vulnerable-system',
      ...(identifier === undefined ? {} : { 'classification.identifier': identifier }),
    });

  it('an open resolver falls under the open-services clause, whatever spelling the feed uses', () => {
    for (const spelling of ['dns-open-resolver', 'openresolver', 'open-resolver', 'OpenResolver']) {
      const j = judgeEvent({ ...base, policy, event: vulnerable(spelling) });
      expect(j.verdict === 'violation' && j.clauses.map((c) => c.id)).toEqual([
        'open-services',
        'vulnerable',
      ]);
    }
  });

  it('another vulnerable system does not: only the clause without identifiers covers it', () => {
    const j = judgeEvent({ ...base, policy, event: vulnerable('exchange-proxylogon') });
    expect(j.verdict === 'violation' && j.clauses.map((c) => c.id)).toEqual(['vulnerable']);
    const none = judgeEvent({ ...base, policy, event: vulnerable() });
    expect(none.verdict === 'violation' && none.primary.id).toBe('vulnerable');
  });

  it('says which identifiers the clause wanted when nothing else covers the class', () => {
    const only = makePolicy({
      sections: [{ id: 'prohibited', title: 'Prohibited uses', clauses: ['open-services'] }],
      clauses: [policy.clauses[0]!],
    });
    const j = judgeEvent({ ...base, policy: only, event: vulnerable('ssl-poodle') });
    expect(j.verdict).toBe('no-clause');
    if (j.verdict === 'no-clause') {
      expect(j.reason).toContain('identifier ssl-poodle');
      expect(j.reason).toContain('dns-open-resolver, open-http-proxy');
    }
  });
});

describe('judgeEvent: spam through third-party networks promoting a site hosted here', () => {
  const policy = makePolicy({
    sections: [{ id: 'prohibited', title: 'Prohibited uses', clauses: ['spam', 'spamvertised'] }],
    clauses: [
      { id: 'spam', title: 'Spam', text: 'No spam.', covers: ['abusive-content/spam'], severity: 'medium' },
      {
        id: 'spamvertised',
        title: 'Sites advertised in spam',
        text: 'Functioning as a linked site listed in spam.',
        covers: ['abusive-content/spam'],
        severity: 'medium',
        includes_third_party_networks: true,
      },
    ],
  });
  const spamvertising = makeEvent({
    'source.ip': '203.0.113.9',
    'source.url': 'http://pills.example/buy',
    'classification.identifier': 'spamvertised',
  });

  it('judges a promoted-url event only under the clause that extends to third-party networks', () => {
    const j = judgeEvent({ ...base, policy, event: spamvertising, via: 'promoted-url' });
    expect(j).toMatchObject({ verdict: 'violation', via: 'promoted-url' });
    expect(j.verdict === 'violation' && j.clauses.map((c) => c.id)).toEqual(['spamvertised']);
  });

  it('judges spam sent from here under every spam clause, the plain one first', () => {
    const j = judgeEvent({ ...base, policy, event: makeEvent() });
    expect(j.verdict === 'violation' && j.clauses.map((c) => c.id)).toEqual(['spam', 'spamvertised']);
    expect(j.verdict === 'violation' && j.via).toBe('source');
  });

  it('finds no clause for promoted-url spam when the policy only forbids sending it', () => {
    const j = judgeEvent({ ...base, event: spamvertising, via: 'promoted-url' });
    expect(j.verdict).toBe('no-clause');
    if (j.verdict === 'no-clause') expect(j.reason).toContain("third party's network");
  });
});
