import { describe, expect, it } from 'vitest';
import { makePolicy } from '../../../test/factories.js';
import { isAupError } from '../../errors.js';
import { createPolicyHistory } from '../../policy/policy-loader.js';
import { simulateTimeline } from './desk-simulator.js';
import { readSimulationRegistry, readSimulationReports } from './simulation-input.js';

const registry = readSimulationRegistry(
  [
    'customer,email,service,kind,resource,valid_from,valid_to,policy_provider,policy_version,policy_accepted_at',
    'acme,noc@acme.example,acme-vps,vps,198.51.100.0/28,2026-01-01,2026-06-01,example,1.0,2026-01-01',
    'other,noc@other.example,other-vps,vps,198.51.100.0/28,2026-06-01,,,,',
  ].join('\n'),
  'csv',
);
const policy = createPolicyHistory('example', [
  { file: 'memory:1.0', document: makePolicy(), source: '', sha256: '0'.repeat(64) },
]);
const report = (receivedAt: string, time: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    format: 'email',
    channel: 'smtp',
    receivedAt,
    evidenceSha256: 'a'.repeat(64),
    reporter: { name: 'Alice', email: 'alice@reporter.example', anonymous: false, automated: false },
    status: 'parsed',
    events: [
      {
        'time.source': time,
        'classification.taxonomy': 'abusive-content',
        'classification.type': 'spam',
        'source.ip': '198.51.100.5',
        'feed.name': 'test',
        ...extra,
      },
    ],
    errors: [],
  });

describe('simulateTimeline', () => {
  it('recognises the same event of the same evidence as a duplicate, and joins further events to the case', () => {
    const reports = readSimulationReports(
      [
        report('2026-03-01T10:00:00.000Z', '2026-03-01T09:00:00.000Z'),
        report('2026-03-01T11:00:00.000Z', '2026-03-01T09:00:00.000Z'),
        report('2026-03-02T10:00:00.000Z', '2026-03-02T09:00:00.000Z'),
      ].join('\n'),
    );
    const { rows, cases } = simulateTimeline({
      reports,
      snapshot: registry.snapshot,
      policy,
      acceptance: registry.acceptance,
    });
    expect(cases.size).toBe(1);
    expect(rows.filter((r) => r.state === 'duplicate')).toEqual([
      expect.objectContaining({ case: 'AUP-000001', at: '2026-03-01T11:00:00.000Z' }),
    ]);
    expect(rows.filter((r) => r.detail?.reason.includes('joined the case'))).toHaveLength(1);
    // One notice for the case, however many events joined it.
    expect(
      rows.filter((r) => r.action === 'mail.notice' && r.detail?.template === 'violation-notice'),
    ).toHaveLength(1);
    // Three reports, three acknowledgements to the person who sent them.
    expect(rows.filter((r) => r.action === 'mail.ack').map((r) => r.state)).toEqual([
      'case-opened',
      'joined-case',
      'joined-case',
    ]);
  });

  it('attributes each event at its own time: a recycled address goes to whoever held it then', () => {
    const reports = readSimulationReports(
      [
        report('2026-05-01T10:00:00.000Z', '2026-05-01T09:00:00.000Z'),
        report('2026-07-01T10:00:00.000Z', '2026-07-01T09:00:00.000Z'),
      ].join('\n'),
    );
    const { rows } = simulateTimeline({ reports, snapshot: registry.snapshot, policy });
    expect(rows.filter((r) => r.state === 'open').map((r) => r.customer)).toEqual(['acme', 'other']);
  });

  it('runs the ladder at its due times until --until, and no further', () => {
    const reports = readSimulationReports(report('2026-03-01T10:00:00.000Z', '2026-03-01T09:00:00.000Z'));
    const full = simulateTimeline({ reports, snapshot: registry.snapshot, policy });
    // The example policy: notice (3-day cure), suspension, termination 7 days later.
    expect(full.rows.filter((r) => r.action?.startsWith('provision.')).map((r) => [r.at, r.action])).toEqual([
      ['2026-03-04T10:00:00.000Z', 'provision.suspend'],
      ['2026-03-11T10:00:00.000Z', 'provision.terminate'],
    ]);
    expect(full.until.toISOString()).toBe('2026-05-30T10:00:00.000Z');
    const cut = simulateTimeline({
      reports,
      snapshot: registry.snapshot,
      policy,
      until: new Date('2026-03-05T00:00:00Z'),
    });
    expect(cut.rows.map((r) => r.action)).not.toContain('provision.terminate');
    expect(cut.cases.get('AUP-000001')?.status).toBe('suspended');
  });

  it('takes bare IntelMQ event lines as feed reports (no acknowledgement to a feed)', () => {
    const line = JSON.stringify({
      __type: 'Event',
      classification: { taxonomy: 'abusive-content', type: 'spam' },
      source: { ip: '198.51.100.6' },
      time: { source: '2026-03-01T09:00:00+00:00', observation: '2026-03-01T09:30:00+00:00' },
      feed: { name: 'spamtrap', provider: 'Example CERT' },
    });
    const reports = readSimulationReports(line);
    expect(reports[0]).toMatchObject({ channel: 'feed', reporter: { automated: true, anonymous: false } });
    const { rows } = simulateTimeline({ reports, snapshot: registry.snapshot, policy });
    expect(rows[0]).toMatchObject({ at: '2026-03-01T09:30:00.000Z', case: 'AUP-000001', customer: 'acme' });
    expect(rows.map((r) => r.action)).not.toContain('mail.ack');
  });

  it('names the line of a bad input', () => {
    try {
      readSimulationReports(
        `${report('2026-03-01T10:00:00.000Z', '2026-03-01T09:00:00.000Z')}\n{"events": 3}`,
      );
      expect.unreachable();
    } catch (error) {
      expect(isAupError(error) && error.message).toMatch(/^events line 2: not a report: format: /);
    }
    expect(() => readSimulationRegistry('customer,email\nx,y', 'csv')).toThrow(/header lacks/);
  });
});
