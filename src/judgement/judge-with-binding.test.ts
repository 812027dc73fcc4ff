import { describe, expect, it } from 'vitest';
import { makeEvent, makePolicy, makeReporter } from '../../test/factories.js';
import { createPolicyHistory, type LoadedPolicy } from '../policy/policy-loader.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import { judgeWithBinding } from './judge-with-binding.js';

function loaded(document: PolicyDocument): LoadedPolicy {
  return { file: `memory:${document.version}`, document, source: '', sha256: '0'.repeat(64) };
}

// v1 forbids spam only; v2 (effective 2026-06-01, 90-day grace for the previous version) adds scanning.
const v1 = makePolicy({ version: '1' });
const v2 = makePolicy({
  version: '2',
  published_at: '2026-06-01T00:00:00Z',
  effective_at: '2026-06-01T00:00:00Z',
  supersedes: '1',
  sections: [{ id: 'prohibited', title: 'Prohibited uses', clauses: ['spam', 'scan'] }],
  clauses: [
    { id: 'spam', title: 'Spam', text: 'No spam.', covers: ['abusive-content/spam'], severity: 'medium' },
    {
      id: 'scan',
      title: 'Scanning',
      text: 'No port scans.',
      covers: ['information-gathering/scanner'],
      severity: 'medium',
    },
  ],
  terms: {
    ...v1.terms,
    changes: {
      announce: ['email'],
      notify_customers: 'all',
      effective: 'on-posting',
      grace_period_previous_version: 'P90D',
    },
  },
});
const history = createPolicyHistory('example', [loaded(v1), loaded(v2)]);
const scan = (at: string) =>
  makeEvent({
    'classification.taxonomy': 'information-gathering',
    'classification.type': 'scanner',
    'time.source': at,
  });
const input = (event: ReturnType<typeof makeEvent>) => ({
  event,
  reporter: makeReporter(),
  channel: 'smtp' as const,
  receivedAt: new Date('2026-12-01T00:00:00Z'),
  serviceKind: 'vps',
  now: new Date('2026-09-10T00:00:00Z'),
});

describe('judgeWithBinding', () => {
  it('judges under the previous version while the customer’s grace period runs', () => {
    const r = judgeWithBinding(
      history,
      { acceptedVersion: '1', acceptedAt: '2026-02-01' },
      input(scan('2026-08-01T00:00:00.000Z')),
    );
    expect(r.binding).toMatchObject({ version: '1', graceFor: '2', graceEndsAt: '2026-08-30T00:00:00Z' });
    expect(r.judgement.verdict).toBe('no-clause');
    expect(r.bindingReason).toContain('grace period');
  });

  it('binds the new version once the grace period has run, at the event’s time (not the report’s)', () => {
    const r = judgeWithBinding(
      history,
      { acceptedVersion: '1', acceptedAt: '2026-02-01' },
      input(scan('2026-09-01T00:00:00.000Z')),
    );
    expect(r.binding?.version).toBe('2');
    expect(r.boundAt.toISOString()).toBe('2026-09-01T00:00:00.000Z');
    expect(r.judgement).toMatchObject({ verdict: 'violation', policyVersion: '2' });
  });

  it('without a recorded acceptance, the version in force binds at once (no grace to claim)', () => {
    const r = judgeWithBinding(history, {}, input(scan('2026-07-01T00:00:00.000Z')));
    expect(r.binding?.version).toBe('2');
    expect(r.binding?.reason).toContain('continued use');
  });

  it('an event before the first version took effect is judged under no clause, saying why', () => {
    const r = judgeWithBinding(history, {}, input(scan('2025-12-01T00:00:00.000Z')));
    expect(r.binding).toBeNull();
    expect(r.judgement.verdict).toBe('no-clause');
    if (r.judgement.verdict === 'no-clause') expect(r.judgement.reason).toContain('no version');
  });
});
