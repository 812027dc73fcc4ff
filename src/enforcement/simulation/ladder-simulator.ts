import { z } from 'zod';
import {
  analystCommandSchema,
  type CaseState,
  type CaseStatus,
  caseClauseSchema,
  copyCaseState,
  openCaseState,
} from '../../cases/case-state.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import { type EngineResult, nextStep } from '../ladder-engine.js';
import type { ActionKind } from '../planned-action.js';

/**
 * Simulation: one case's timeline of inputs run through the ladder engine, calling it at every input and
 * at every due time, until `until`. Pure (no store, no clock, no adapters): what `aupdesk simulate` prints
 * and what "what would a 3-day cure period have done last month?" answers.
 */

const at = z.union([z.iso.datetime({ offset: true }), z.date().transform((d) => d.toISOString())]);

export const simulationEventSchema = z.discriminatedUnion('kind', [
  /** The case opens (judgement found a violation). Must come first. */
  z
    .object({
      kind: z.literal('open'),
      at,
      caseId: z.string().min(1),
      customerId: z.string().min(1),
      serviceId: z.string().min(1),
      clauses: z.array(caseClauseSchema).min(1),
      endangering: z.boolean().optional(),
      harming: z.boolean().optional(),
      addresses: z.array(z.string()).optional(),
      urls: z.array(z.string()).optional(),
    })
    .strict(),
  /** A further event joins the case (it may raise the flags or name more addresses). */
  z
    .object({
      kind: z.literal('event'),
      at,
      endangering: z.boolean().optional(),
      harming: z.boolean().optional(),
      addresses: z.array(z.string()).optional(),
      urls: z.array(z.string()).optional(),
    })
    .strict(),
  /** The customer replied to a notice. */
  z.object({ kind: z.literal('customer-response'), at }).strict(),
  /** An analyst stepped in. */
  z
    .object({
      kind: z.literal('intervention'),
      at,
      analyst: z.string().min(1),
      command: analystCommandSchema,
      note: z.string().optional(),
    })
    .strict(),
]);
export type SimulationEvent = z.input<typeof simulationEventSchema>;
type ParsedEvent = z.output<typeof simulationEventSchema>;

export interface TimelineRow {
  readonly at: string;
  readonly case: string;
  readonly customer: string;
  readonly service: string;
  /** The case's primary clause. */
  readonly clause: string;
  readonly state: CaseStatus;
  /** The action taken (outbox kind), `proposed:<kind>` for a step waiting for approval, or null. */
  readonly action: ActionKind | `proposed:${ActionKind}` | null;
  readonly step?: string;
  readonly idempotencyKey?: string;
  readonly reason: string;
}

export interface SimulationResult {
  readonly rows: TimelineRow[];
  readonly final: CaseState;
}

/** Bound on engine calls: a ladder has a handful of steps, so hitting it means a bug, not a long case. */
const MAX_CALLS = 10_000;

/** Sees every engine call of a simulation (property tests check each transition). */
export type SimulationObserver = (call: { at: Date; before: CaseState; result: EngineResult }) => void;

export function simulateCase(
  timeline: readonly SimulationEvent[],
  policy: PolicyDocument,
  until: Date,
  observe?: SimulationObserver,
): SimulationResult {
  const events: ParsedEvent[] = timeline
    .map((e) => simulationEventSchema.parse(e))
    .map((e, index) => ({ e, index }))
    .sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.index - b.index)
    .map(({ e }) => e);
  const first = events[0];
  if (first?.kind !== 'open')
    throw new RangeError('simulateCase: the timeline must start with an "open" event');

  let state = openCaseState({
    caseId: first.caseId,
    customerId: first.customerId,
    serviceId: first.serviceId,
    openedAt: new Date(first.at),
    clauses: first.clauses,
    endangering: first.endangering ?? false,
    harming: first.harming ?? false,
    addresses: first.addresses ?? [],
    urls: first.urls ?? [],
  });
  const rows: TimelineRow[] = [];
  let next = 1;
  let t = Date.parse(first.at);

  for (let calls = 0; calls < MAX_CALLS && t <= until.getTime(); calls += 1) {
    while (next < events.length && Date.parse(events[next]!.at) <= t) {
      state = applyEvent(state, events[next]!);
      next += 1;
    }
    const beforeState = state;
    const before = state.status;
    const result = nextStep(state, policy, new Date(t));
    observe?.({ at: new Date(t), before: beforeState, result });
    state = result.state;
    const row = {
      at: new Date(t).toISOString(),
      case: state.caseId,
      customer: state.customerId,
      service: state.serviceId,
      clause: state.clauses[0]!.id,
      state: state.status,
    };
    for (const action of result.actions) {
      rows.push({
        ...row,
        action: action.kind,
        step: action.stepId,
        idempotencyKey: action.idempotencyKey,
        reason: result.reason,
      });
    }
    for (const action of result.proposed) {
      rows.push({ ...row, action: `proposed:${action.kind}`, step: action.stepId, reason: result.reason });
    }
    if (
      result.actions.length === 0 &&
      result.proposed.length === 0 &&
      (before !== state.status || calls === 0)
    ) {
      rows.push({ ...row, action: null, reason: result.reason });
    }

    const candidates: number[] = [];
    if (result.due && result.due.getTime() > t) candidates.push(result.due.getTime());
    if (next < events.length) candidates.push(Date.parse(events[next]!.at));
    if (candidates.length === 0) break;
    t = Math.min(...candidates);
  }
  return { rows, final: state };
}

function applyEvent(state: CaseState, event: ParsedEvent): CaseState {
  const s = copyCaseState(state);
  switch (event.kind) {
    case 'open':
      throw new RangeError('simulateCase: a timeline opens one case ("open" appears twice)');
    case 'event':
      s.flags.endangering ||= event.endangering ?? false;
      s.flags.harming ||= event.harming ?? false;
      s.subjects.addresses = [...new Set([...s.subjects.addresses, ...(event.addresses ?? [])])];
      s.subjects.urls = [...new Set([...s.subjects.urls, ...(event.urls ?? [])])];
      return s;
    case 'customer-response':
      s.customerRespondedAt = event.at;
      return s;
    case 'intervention':
      s.interventions.push({
        at: event.at,
        analyst: event.analyst,
        command: event.command,
        ...(event.note === undefined ? {} : { note: event.note }),
      });
      return s;
  }
}
