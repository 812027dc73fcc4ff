import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { SimulationRow } from '../../src/enforcement/simulation/desk-simulator.js';

/**
 * The same seven complaints (test/fixtures/scenarios/complaints.jsonl: spam from a VPS, spam advertising a
 * hosted site, a DDoS, a port scan, a DMCA notice, an open resolver, an anonymous brute-force complaint)
 * through `aupdesk simulate` under each seed policy: the differences asserted are the ones the texts promise.
 */

const fixtures = 'test/fixtures/scenarios';

async function simulate(
  policy: string,
  ...extra: string[]
): Promise<{ code: number; rows: SimulationRow[] }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const code = await main(
    [
      'simulate',
      '--policy',
      `policies/${policy}`,
      '--registry',
      `${fixtures}/registry.csv`,
      '--events',
      `${fixtures}/complaints.jsonl`,
      ...extra,
    ],
    { out, err },
  );
  const rows = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SimulationRow);
  return { code, rows };
}

const of = (rows: SimulationRow[], customer: string) => rows.filter((r) => r.customer === customer);
const actions = (rows: SimulationRow[]) => rows.map((r) => r.action).filter((a) => a !== null);

describe('aupdesk simulate: the five seed policies on the same complaints', () => {
  it('prints JSON lines with exactly the timeline keys, sorted by time, the same each run', async () => {
    const first = await simulate('iitgen');
    const second = await simulate('iitgen');
    expect(first.code).toBe(0);
    expect(first.rows.length).toBeGreaterThan(10);
    expect(second.rows).toEqual(first.rows);
    const keys = ['at', 'case', 'customer', 'service', 'clause', 'state', 'action'];
    for (const row of first.rows) {
      expect(Object.keys(row).filter((k) => k !== 'detail')).toEqual(keys);
    }
    const times = first.rows.map((r) => Date.parse(r.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('iITGEN: email notice with a cure deadline, termination (for an analyst) when not cured, immediate suspension of the DDoS, the anonymous complaint rejected', async () => {
    const { rows } = await simulate('iitgen');
    const spam = of(rows, 'acme-mail').filter((r) => r.clause === 'email.can-spam');
    const notice = spam.find((r) => r.action === 'mail.notice');
    expect(notice).toMatchObject({ at: '2026-12-01T09:00:00.000Z', state: 'awaiting-cure' });
    expect(notice?.detail?.deadline).toBe('2026-12-08T09:00:00.000Z');
    // Not cured by the deadline: "we may terminate your contract" is proposed at the deadline.
    expect(spam.find((r) => r.action === 'proposed:provision.terminate')?.at).toBe(
      '2026-12-08T09:00:00.000Z',
    );
    expect(actions(spam)).not.toContain('provision.suspend');

    const ddos = of(rows, 'gamehost');
    expect(ddos[0]).toMatchObject({ clause: 'content.network-stability', state: 'open' });
    const suspend = ddos.filter((r) => r.action === 'provision.suspend');
    expect(suspend).toHaveLength(1);
    expect(suspend[0]).toMatchObject({ at: '2026-12-02T14:20:00.000Z', state: 'suspended' });

    const anonymous = rows.find((r) => r.detail?.report === 7);
    expect(anonymous).toMatchObject({ state: 'rejected-anonymous', case: null, customer: 'acme-mail' });
    // The open resolver: no iITGEN clause covers a vulnerable system.
    expect(of(rows, 'dnsco')).toEqual([expect.objectContaining({ state: 'no-clause', case: null })]);
  });

  it('Injazat: every step is a proposal awaiting an analyst’s choice; nothing is sent on its own except the immediate suspension', async () => {
    const { rows } = await simulate('injazat');
    const spam = of(rows, 'acme-mail').filter((r) => r.clause === 'spam');
    expect(actions(spam)).toEqual(['proposed:mail.notice']);
    expect(spam.at(-1)?.state).toBe('open');
    const scan = of(rows, 'labco');
    expect(actions(scan)).toEqual(['proposed:mail.notice']);
    // Spamvertising through third-party networks: Injazat's spam clause covers only mail sent from its network.
    expect(of(rows, 'shopco')).toEqual([expect.objectContaining({ state: 'no-clause' })]);
    // The anonymous complaint is accepted (the text says nothing against anonymous complaints).
    expect(rows.find((r) => r.detail?.report === 7)?.state).toBe('open');
  });

  it('Influxis: notice before suspension unless the violation is harming the service', async () => {
    const { rows } = await simulate('influxis');
    const scan = of(rows, 'labco');
    expect(scan.find((r) => r.action === 'mail.notice')).toMatchObject({ state: 'awaiting-cure' });
    expect(actions(scan)).not.toContain('provision.suspend');
    // After the cure period the suspension is proposed, after the notice.
    const proposed = scan.find((r) => r.action === 'proposed:provision.suspend');
    expect(proposed?.at).toBe('2026-12-10T06:00:00.000Z');

    const ddos = of(rows, 'gamehost');
    const firstInterruption = ddos.findIndex((r) => r.action === 'provision.suspend');
    expect(firstInterruption).toBeGreaterThan(0);
    expect(ddos[firstInterruption]?.at).toBe('2026-12-02T14:20:00.000Z');
    expect(ddos.filter((r) => r.action === 'provision.suspend')).toHaveLength(1);
    // Spamvertising from third-party networks is its own clause.
    expect(of(rows, 'shopco')[0]).toMatchObject({ clause: 'email.spamvertising' });
    expect(rows.find((r) => r.detail?.report === 7)?.case).not.toBeNull();
  });

  it('Secure Packet: block, suspend and terminate, every interruption flagged as not eligible for SLA credit', async () => {
    const { rows } = await simulate('securepacket');
    const interruptions = rows.filter((r) =>
      /^(proposed:)?(provision\.(suspend|terminate)|block\.add)$/.test(r.action ?? ''),
    );
    expect(new Set(interruptions.map((r) => r.action?.replace('proposed:', '')))).toEqual(
      new Set(['provision.suspend', 'provision.terminate', 'block.add']),
    );
    for (const row of interruptions) expect(row.detail?.slaCreditEligible).toBe(false);
    // The block rung follows the notice's cure period for the spam case.
    const spam = of(rows, 'acme-mail').filter((r) => r.clause === 'mail.consent');
    expect(spam.find((r) => r.action === 'proposed:block.add')?.at).toBe('2026-12-08T09:00:00.000Z');
    // Section 1's security obligations cover the open resolver.
    expect(of(rows, 'dnsco')[0]).toMatchObject({ clause: 'abuse.security-obligations', state: 'open' });
  });

  it('INFINCE: notice always comes before a suspension, even an immediate one', async () => {
    const { rows } = await simulate('infince');
    const ddos = of(rows, 'gamehost').filter((r) => r.action !== null);
    expect(ddos.map((r) => r.action).slice(0, 3)).toEqual([
      'mail.notice',
      'provision.suspend',
      'mail.notice',
    ]);
    expect(of(rows, 'dnsco')[0]).toMatchObject({ clause: 'network.open-services' });
  });

  it('anonymous complaints: rejected only where the policy refuses them', async () => {
    const verdicts: Record<string, string | undefined> = {};
    for (const provider of ['iitgen', 'injazat', 'influxis', 'securepacket', 'infince']) {
      const { rows } = await simulate(provider);
      verdicts[provider] = rows.find((r) => r.detail?.report === 7)?.state;
    }
    expect(verdicts.iitgen).toBe('rejected-anonymous');
    for (const provider of ['injazat', 'influxis', 'securepacket', 'infince']) {
      expect(verdicts[provider]).not.toBe('rejected-anonymous');
    }
  });

  it('--until cuts the timeline', async () => {
    const { rows } = await simulate('iitgen', '--until', '2026-12-02T00:00:00Z');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => Date.parse(r.at) <= Date.parse('2026-12-02T00:00:00Z'))).toBe(true);
    expect(rows.some((r) => r.customer === 'gamehost')).toBe(false);
  });

  it('refuses a bad --until with exit 2 (usage error)', async () => {
    expect((await simulate('iitgen', '--until', 'next week')).code).toBe(2);
  });
});
