import { describe, expect, it } from 'vitest';
import { realSeedPolicies, seedLadders } from '../../test/enforcement/seed-ladders.js';
import { canonicalJsonOf } from '../audit/canonical-json.js';
import { type AnalystCommand, type CaseState, copyCaseState, sameCaseState } from '../cases/case-state.js';
import { type PolicyDocument, remedies } from '../policy/policy-schema.js';
import { nextStep } from './ladder-engine.js';
import { type SimulationEvent, simulateCase } from './simulation/ladder-simulator.js';

/**
 * Property-style tests: random timelines (seeded, so a failure reproduces) of events, customer replies and
 * analyst commands, run through every seed policy; each engine call is checked against the guarantees.
 */

/** mulberry32: small, seeded, good enough to spread cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The path of an object or array `a` and `b` both hold (the same object, not an equal one), if any. */
function sharedObject(a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return undefined;
  if (a === b) return path;
  for (const key of Object.keys(a)) {
    const found = sharedObject(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (found) return found;
  }
  return undefined;
}

const T0 = Date.parse('2026-05-01T00:00:00.000Z');
const HOUR = 3_600_000;

function randomTimeline(policy: PolicyDocument, rnd: () => number): SimulationEvent[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const at = () => new Date(T0 + Math.floor(rnd() * 40 * 24) * HOUR).toISOString();
  const clause = pick(policy.clauses);
  const stepIds = policy.terms.enforcement.ladder.map((s) => s.id);
  const command = (): AnalystCommand => {
    switch (
      pick([
        'hold',
        'release',
        'skip-step',
        'dismiss',
        'mark-cured',
        'reinstate',
        'approve-step',
        'approve-step',
        'apply-remedy',
      ] as const)
    ) {
      case 'hold':
        return { kind: 'hold' };
      case 'release':
        return { kind: 'release' };
      case 'skip-step':
        return { kind: 'skip-step' };
      case 'dismiss':
        return { kind: 'dismiss', reason: 'not a violation after review' };
      case 'mark-cured':
        return { kind: 'mark-cured' };
      case 'reinstate':
        return { kind: 'reinstate' };
      case 'approve-step':
        return rnd() < 0.5 ? { kind: 'approve-step' } : { kind: 'approve-step', stepId: pick(stepIds) };
      case 'apply-remedy':
        return {
          kind: 'apply-remedy',
          remedy: pick(remedies),
          ...(rnd() < 0.5 ? { fee: { amount: 50, currency: 'USD', basis: 'contract' } } : {}),
        };
    }
  };
  const timeline: SimulationEvent[] = [
    {
      kind: 'open',
      at: new Date(T0).toISOString(),
      caseId: 'p1',
      customerId: 'c1',
      serviceId: 's1',
      clauses: [
        {
          id: clause.id,
          severity: clause.severity,
          endangersInfrastructure: clause.endangers_infrastructure,
        },
      ],
      endangering: rnd() < 0.2,
      harming: rnd() < 0.2,
      addresses: rnd() < 0.8 ? ['198.51.100.7/32'] : [],
      urls: ['https://example.org/x'],
    },
  ];
  const n = Math.floor(rnd() * 9);
  for (let i = 0; i < n; i += 1) {
    const r = rnd();
    if (r < 0.15) timeline.push({ kind: 'event', at: at(), endangering: rnd() < 0.5, harming: rnd() < 0.5 });
    else if (r < 0.3) timeline.push({ kind: 'customer-response', at: at() });
    else timeline.push({ kind: 'intervention', at: at(), analyst: 'prop', command: command() });
  }
  return timeline;
}

function endangering(policy: PolicyDocument, s: CaseState): boolean {
  return (
    s.flags.endangering ||
    s.clauses.some(
      (c) =>
        c.endangersInfrastructure ||
        policy.clauses.some((pc) => pc.id === c.id && pc.endangers_infrastructure),
    )
  );
}

function noticeRequired(policy: PolicyDocument, s: CaseState): boolean {
  const term = policy.terms.enforcement.notice_before_suspension;
  if (term === 'always') return true;
  if (term === 'never-required') return false;
  return !(s.flags.harming || endangering(policy, s));
}

const policies: Array<[string, PolicyDocument]> = [
  ...Object.entries(seedLadders),
  ...realSeedPolicies().map((p): [string, PolicyDocument] => [`policies/${p.provider.id}/${p.version}`, p]),
];

describe.each(policies)('ladder engine properties under %s', (_name, policy) => {
  const runs = 150;
  const terms = policy.terms.enforcement;
  const analystSteps = new Set(terms.ladder.filter((s) => s.approval === 'analyst').map((s) => s.id));

  it('never takes an unreserved remedy, never interrupts before a required notice, never acts when dismissed or held, keys unique, deterministic, once', () => {
    let interruptionsSeen = 0;
    let unchanged = 0;
    let changed = 0;
    for (let i = 0; i < runs; i += 1) {
      const rnd = prng(1000 + i);
      const timeline = randomTimeline(policy, rnd);
      const keys = new Set<string>();
      let noticeSeen = false;
      const context = () => `run ${i}: ${JSON.stringify(timeline)}`;

      simulateCase(timeline, policy, new Date(T0 + 60 * 24 * HOUR), ({ at, before, result }) => {
        const snapshot = structuredClone(before);
        // The engine's copy of its input (copyCaseState) is structuredClone's, and shares nothing with it.
        const copy = copyCaseState(before);
        expect(copy, context()).toStrictEqual(snapshot);
        expect(sharedObject(copy, before), context()).toBeUndefined();
        // The same JSON document, or not, as canonical JSON says (a state's first run changes it; many don't).
        expect(sameCaseState(copy, before), context()).toBe(true);
        expect(sameCaseState(result.state, before), context()).toBe(
          canonicalJsonOf(result.state) === canonicalJsonOf(before),
        );
        if (sameCaseState(result.state, before)) unchanged += 1;
        else changed += 1;
        // Deterministic and pure: the same call again gives the same result; the input is untouched.
        expect(nextStep(before, policy, at), context()).toEqual(result);
        expect(before, context()).toEqual(snapshot);
        // Exactly once: re-evaluating the new state at the same instant plans nothing more.
        expect(nextStep(result.state, policy, at).actions, context()).toEqual([]);

        if (before.status === 'dismissed' || before.status === 'terminated') {
          expect(result.actions, context()).toEqual([]);
        }
        if (before.status === 'on-hold' && result.state.status === 'on-hold') {
          expect(result.actions, context()).toEqual([]);
        }
        const approvalsSoFar = result.state.interventions
          .slice(0, result.state.interventionsApplied)
          .filter((iv) => iv.command.kind === 'approve-step').length;
        let analystStepsTaken = 0;

        for (const action of result.actions) {
          expect(keys.has(action.idempotencyKey), `${context()} duplicate key ${action.idempotencyKey}`).toBe(
            false,
          );
          keys.add(action.idempotencyKey);
          if (action.remedy !== null) expect(terms.remedies, context()).toContain(action.remedy);
          if (analystSteps.has(action.stepId) && action.kind !== 'mail.notice') analystStepsTaken += 1;
          if (action.kind === 'mail.notice') noticeSeen = true;
          if (
            action.kind === 'provision.suspend' ||
            action.kind === 'provision.terminate' ||
            action.kind === 'block.add'
          ) {
            interruptionsSeen += 1;
            if (noticeRequired(policy, result.state)) {
              expect(
                noticeSeen,
                `${context()}: ${action.kind} at ${at.toISOString()} without prior notice`,
              ).toBe(true);
            }
          }
          if ('slaCreditEligible' in action.payload) {
            expect(action.payload.slaCreditEligible).toBe(terms.sla_credit_for_aup_interruptions);
          }
        }
        // An analyst-approval step's actions only follow an approval.
        if (analystStepsTaken > 0) expect(approvalsSoFar, context()).toBeGreaterThan(0);
        for (const action of result.proposed) {
          expect(keys.has(action.idempotencyKey), context()).toBe(false);
        }
      });
    }
    // The random timelines do reach interruptions (the property is not vacuous).
    expect(interruptionsSeen).toBeGreaterThan(0);
    // Both answers of sameCaseState were exercised.
    expect(unchanged).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(0);
  });

  it('a held case never advances, whatever the time', () => {
    for (let i = 0; i < 50; i += 1) {
      const rnd = prng(5000 + i);
      const timeline: SimulationEvent[] = randomTimeline(policy, rnd).filter((e) => e.kind === 'open');
      timeline.push({
        kind: 'intervention',
        at: new Date(T0).toISOString(),
        analyst: 'prop',
        command: { kind: 'hold' },
      });
      const { rows, final } = simulateCase(timeline, policy, new Date(T0 + 400 * 24 * HOUR));
      expect(final.status).toBe('on-hold');
      expect(rows.filter((r) => r.action !== null)).toEqual([]);
    }
  });
});
