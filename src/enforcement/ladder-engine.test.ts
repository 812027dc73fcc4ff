import { describe, expect, it } from 'vitest';
import {
  ddosClause,
  iitgen,
  infince,
  influxis,
  injazat,
  securepacket,
  spamClause,
} from '../../test/enforcement/seed-ladders.js';
import { openCaseState } from '../cases/case-state.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import { nextStep } from './ladder-engine.js';
import type { NoticePayload, PlannedAction } from './planned-action.js';
import { type SimulationEvent, simulateCase, type TimelineRow } from './simulation/ladder-simulator.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const h = (hours: number) => new Date(T0 + hours * 3_600_000).toISOString();
const d = (days: number) => h(days * 24);

function open(extra: Partial<Extract<SimulationEvent, { kind: 'open' }>> = {}): SimulationEvent {
  return {
    kind: 'open',
    at: h(0),
    caseId: '42',
    customerId: 'cust-1',
    serviceId: 'svc-1',
    clauses: [spamClause],
    addresses: ['192.0.2.10/32'],
    urls: ['https://shop.example/promo.html'],
    ...extra,
  };
}

const analyst = (at: string, command: Extract<SimulationEvent, { kind: 'intervention' }>['command']) =>
  ({ kind: 'intervention', at, analyst: 'ana', command }) as const;

/** `+<hours>h <action>` for each row that did something: compact and readable in a failing diff. */
function trace(rows: TimelineRow[]): string[] {
  return rows
    .filter((r) => r.action !== null)
    .map((r) => `+${(Date.parse(r.at) - T0) / 3_600_000}h ${r.action}`);
}

interface Scenario {
  name: string;
  policy: PolicyDocument;
  timeline: SimulationEvent[];
  until?: number;
  expected: string[];
  finalState: string;
}

const scenarios: Scenario[] = [
  // iITGEN
  {
    name: 'iITGEN: email notice with the cure period, then termination proposed (the provider "may")',
    policy: iitgen,
    timeline: [open(), analyst(d(8), { kind: 'approve-step', stepId: 'terminate' })],
    expected: [
      '+0h mail.notice',
      '+168h proposed:provision.terminate',
      '+168h proposed:mail.notice',
      '+192h provision.terminate',
      '+192h mail.notice',
    ],
    finalState: 'terminated',
  },
  {
    name: 'iITGEN: a violation endangering the infrastructure is suspended at once, one email tells of it',
    policy: iitgen,
    timeline: [open({ clauses: [ddosClause] })],
    expected: [
      '+0h provision.suspend',
      '+0h mail.notice',
      '+168h proposed:provision.terminate',
      '+168h proposed:mail.notice',
    ],
    finalState: 'suspended',
  },
  {
    name: 'iITGEN: cured within the period, nothing further',
    policy: iitgen,
    timeline: [open(), { kind: 'customer-response', at: h(30) }, analyst(h(40), { kind: 'mark-cured' })],
    expected: ['+0h mail.notice', '+40h mail.notice'],
    finalState: 'cured',
  },
  {
    name: 'iITGEN: an event that endangers joins an open case: suspended when it arrives',
    policy: iitgen,
    timeline: [open(), { kind: 'event', at: h(50), endangering: true }],
    until: 100,
    expected: ['+0h mail.notice', '+50h provision.suspend', '+50h mail.notice'],
    finalState: 'suspended',
  },
  // Injazat
  {
    name: 'Injazat: warning, then every further remedy proposed and taken only when approved',
    policy: injazat,
    timeline: [
      open(),
      analyst(d(6), { kind: 'approve-step', stepId: 'remove-content' }),
      analyst(d(9), { kind: 'skip-step' }),
      analyst(d(10), { kind: 'approve-step' }),
    ],
    until: 24 * 20,
    expected: [
      '+0h mail.notice',
      '+120h proposed:provision.remove-content',
      '+120h proposed:mail.notice',
      '+144h provision.remove-content',
      '+144h mail.notice',
      '+192h proposed:fee.record',
      '+192h proposed:mail.notice',
      '+216h proposed:provision.suspend',
      '+216h proposed:mail.notice',
      '+240h provision.suspend',
      '+240h mail.notice',
    ],
    finalState: 'suspended',
  },
  {
    name: 'Injazat: an unreserved remedy is refused; a fee is recorded when the analyst imposes one',
    policy: injazat,
    timeline: [
      open(),
      analyst(h(1), { kind: 'apply-remedy', remedy: 'terminate' }),
      analyst(h(2), {
        kind: 'apply-remedy',
        remedy: 'fee',
        fee: { amount: 500, currency: 'AED', basis: 'contract 4.2' },
      }),
      analyst(h(3), { kind: 'mark-cured' }),
    ],
    expected: ['+0h mail.notice', '+2h fee.record', '+2h mail.notice', '+3h mail.notice'],
    finalState: 'cured',
  },
  {
    name: 'Injazat: no immediate suspension is promised, even for an endangering violation',
    policy: injazat,
    timeline: [open({ clauses: [ddosClause], endangering: true })],
    until: 24,
    expected: ['+0h mail.notice'],
    finalState: 'awaiting-cure',
  },
  // Influxis
  {
    name: 'Influxis: notice before suspension, suspension when the notice period ends',
    policy: influxis,
    timeline: [open()],
    expected: [
      '+0h mail.notice',
      '+72h provision.suspend',
      '+72h mail.notice',
      '+408h proposed:provision.terminate',
      '+408h proposed:mail.notice',
    ],
    finalState: 'suspended',
  },
  {
    name: 'Influxis: harming the service: suspended without prior notice',
    policy: influxis,
    timeline: [open({ harming: true, clauses: [ddosClause] })],
    until: 24,
    expected: ['+0h provision.suspend', '+0h mail.notice'],
    finalState: 'suspended',
  },
  {
    name: 'Influxis: a held case does not advance; released after its deadline, it acts at once',
    policy: influxis,
    timeline: [open(), analyst(h(10), { kind: 'hold' }), analyst(h(200), { kind: 'release' })],
    until: 300,
    expected: ['+0h mail.notice', '+200h provision.suspend', '+200h mail.notice'],
    finalState: 'suspended',
  },
  // Secure Packet
  {
    name: 'Secure Packet: notice, block, suspend, then termination proposed',
    policy: securepacket,
    timeline: [open()],
    expected: [
      '+0h mail.notice',
      '+48h block.add',
      '+48h mail.notice',
      '+96h provision.suspend',
      '+96h mail.notice',
      '+264h proposed:provision.terminate',
      '+264h proposed:mail.notice',
    ],
    finalState: 'suspended',
  },
  {
    name: 'Secure Packet: endangering: suspended at once, no notice required first',
    policy: securepacket,
    timeline: [open({ clauses: [ddosClause] })],
    until: 1,
    expected: ['+0h provision.suspend', '+0h mail.notice'],
    finalState: 'suspended',
  },
  {
    name: 'Secure Packet: reported to authorities without telling the customer; reinstated: unblock and unsuspend',
    policy: securepacket,
    timeline: [
      open(),
      analyst(h(1), { kind: 'apply-remedy', remedy: 'report-to-authorities' }),
      analyst(h(100), { kind: 'reinstate' }),
    ],
    until: 300,
    expected: [
      '+0h mail.notice',
      '+1h task.report-to-authorities',
      '+48h block.add',
      '+48h mail.notice',
      '+96h provision.suspend',
      '+96h mail.notice',
      '+100h provision.unsuspend',
      '+100h block.remove',
      '+100h mail.notice',
    ],
    finalState: 'reinstated',
  },
  // INFINCE
  {
    name: 'INFINCE: notice always first, even before an immediate suspension (same instant, notice first)',
    policy: infince,
    timeline: [open({ clauses: [ddosClause] })],
    until: 1,
    expected: ['+0h mail.notice', '+0h provision.suspend', '+0h mail.notice'],
    finalState: 'suspended',
  },
  {
    name: 'INFINCE: cured while suspended: restored without review, as its terms allow',
    policy: infince,
    timeline: [open(), analyst(h(80), { kind: 'mark-cured' })],
    expected: [
      '+0h mail.notice',
      '+72h provision.suspend',
      '+72h mail.notice',
      '+80h provision.unsuspend',
      '+80h mail.notice',
    ],
    finalState: 'reinstated',
  },
  {
    name: 'INFINCE: dismissed while suspended: restored, told, and never acts again',
    policy: infince,
    timeline: [open(), analyst(h(80), { kind: 'dismiss', reason: 'false positive: shared NAT address' })],
    until: 24 * 60,
    expected: [
      '+0h mail.notice',
      '+72h provision.suspend',
      '+72h mail.notice',
      '+80h provision.unsuspend',
      '+80h mail.notice',
    ],
    finalState: 'dismissed',
  },
];

describe('ladder engine: what each seed policy promises', () => {
  it.each(scenarios)('$name', ({ policy, timeline, until, expected, finalState }) => {
    const { rows, final } = simulateCase(timeline, policy, new Date(h(until ?? 24 * 30)));
    expect(trace(rows)).toEqual(expected);
    expect(final.status).toBe(finalState);
  });
});

function run(policy: PolicyDocument, timeline: SimulationEvent[], untilHours = 24 * 30) {
  return simulateCase(timeline, policy, new Date(h(untilHours)));
}

function actionsAt(policy: PolicyDocument, timeline: SimulationEvent[], hours: number[]): PlannedAction[] {
  // Drive the engine directly to see the payloads.
  const first = timeline[0] as Extract<SimulationEvent, { kind: 'open' }>;
  let state = openCaseState({
    caseId: first.caseId,
    customerId: first.customerId,
    serviceId: first.serviceId,
    openedAt: new Date(first.at),
    clauses: first.clauses as never,
    endangering: first.endangering ?? false,
    addresses: first.addresses ?? [],
  });
  const out: PlannedAction[] = [];
  for (const at of hours) {
    const result = nextStep(state, policy, new Date(h(at)));
    out.push(...result.actions);
    state = result.state;
  }
  return out;
}

describe('ladder engine: payloads', () => {
  it('a notice carries the clause text, the absolute deadline, what follows, and the policy confidentiality term', () => {
    const [notice] = actionsAt(iitgen, [open()], [0]);
    expect(notice?.kind).toBe('mail.notice');
    const payload = notice?.payload as NoticePayload;
    expect(payload.template).toBe('violation-notice');
    expect(payload.deadline).toBe(d(7));
    expect(payload.nextRemedy).toBe('terminate');
    expect(payload.clauses[0]?.text).toBe('No unsolicited bulk email.');
    expect(payload.shareWithCustomer).toBe('shared');
    expect(payload.references).toEqual([]);
    expect(notice?.idempotencyKey).toBe('42/notice/1/mail.notice');
  });

  it('later notices reference the earlier ones (threading)', () => {
    const actions = actionsAt(influxis, [open()], [0, 72]);
    const notices = actions.filter((a) => a.kind === 'mail.notice');
    expect(notices).toHaveLength(2);
    expect((notices[1]!.payload as NoticePayload).references).toEqual([notices[0]?.idempotencyKey]);
  });

  it('Secure Packet: every interruption is flagged as not eligible for SLA credit', () => {
    const { rows } = run(securepacket, [open(), analyst(h(300), { kind: 'approve-step' })]);
    const interruptions = rows.filter(
      (r) =>
        r.action === 'block.add' || r.action === 'provision.suspend' || r.action === 'provision.terminate',
    );
    expect(interruptions.map((r) => r.action)).toEqual([
      'block.add',
      'provision.suspend',
      'provision.terminate',
    ]);
    const actions = actionsAt(securepacket, [open()], [0, 48, 96]);
    for (const action of actions) {
      if (
        action.kind === 'mail.notice' ||
        action.kind === 'fee.record' ||
        action.kind === 'task.report-to-authorities'
      )
        continue;
      expect(action.payload.slaCreditEligible).toBe(false);
    }
    expect(actions.some((a) => a.kind === 'provision.suspend')).toBe(true);
  });

  it('other policies leave SLA credit eligibility on', () => {
    const actions = actionsAt(influxis, [open()], [0, 72]);
    const suspend = actions.find((a) => a.kind === 'provision.suspend');
    expect(suspend?.kind === 'provision.suspend' && suspend.payload.slaCreditEligible).toBe(true);
  });

  it('the block names the case addresses', () => {
    const block = actionsAt(securepacket, [open()], [0, 48]).find((a) => a.kind === 'block.add');
    expect(block?.kind === 'block.add' && block.payload.targets).toEqual(['192.0.2.10/32']);
  });

  it('the same state at the same time plans the same actions with the same keys, and plans them once', () => {
    const state = openCaseState({
      caseId: '7',
      customerId: 'c',
      serviceId: 's',
      openedAt: new Date(h(0)),
      clauses: [spamClause],
    });
    const a = nextStep(state, securepacket, new Date(h(0)));
    const b = nextStep(state, securepacket, new Date(h(0)));
    expect(a).toEqual(b);
    expect(nextStep(a.state, securepacket, new Date(h(0))).actions).toEqual([]);
    expect(nextStep(a.state, securepacket, new Date(h(47))).actions).toEqual([]);
  });

  it('approval with a stale step id is ignored', () => {
    const { rows, final } = run(iitgen, [open(), analyst(d(8), { kind: 'approve-step', stepId: 'suspend' })]);
    expect(rows.some((r) => r.action === 'provision.terminate')).toBe(false);
    expect(final.ladder.awaitingApproval?.stepId).toBe('terminate');
  });

  it('a customer reply puts the case up for review; the ladder waits until an analyst releases it', () => {
    const { rows, final } = run(iitgen, [open(), { kind: 'customer-response', at: h(20) }], 24 * 10);
    expect(final.status).toBe('customer-responded');
    expect(trace(rows)).toEqual(['+0h mail.notice']);
    const resumed = run(
      iitgen,
      [open(), { kind: 'customer-response', at: h(20) }, analyst(h(30), { kind: 'release' })],
      24 * 10,
    );
    expect(trace(resumed.rows)).toContain('+168h proposed:provision.terminate');
  });

  it('reinstate produces an unsuspend; on a case with nothing to lift it does nothing', () => {
    const { rows } = run(iitgen, [open({ clauses: [ddosClause] }), analyst(h(5), { kind: 'reinstate' })], 24);
    expect(trace(rows)).toEqual([
      '+0h provision.suspend',
      '+0h mail.notice',
      '+5h provision.unsuspend',
      '+5h mail.notice',
    ]);
    const none = run(iitgen, [open(), analyst(h(5), { kind: 'reinstate' })], 24);
    expect(trace(none.rows)).toEqual(['+0h mail.notice']);
  });

  it('cured while suspended under a policy that requires review: stays suspended until reinstated', () => {
    const { rows, final } = run(
      iitgen,
      [open({ clauses: [ddosClause] }), analyst(h(5), { kind: 'mark-cured' })],
      24,
    );
    expect(final.status).toBe('cured');
    expect(final.suspended).toBe(true);
    expect(rows.some((r) => r.action === 'provision.unsuspend')).toBe(false);
  });
});
