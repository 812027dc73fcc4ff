import { attributeEvent, caseSubjectsOf } from '../../attribution/attribute-event.js';
import { caseNumberOf, caseRefOf } from '../../cases/case-ref.js';
import { type CaseState, copyCaseState, openCaseState } from '../../cases/case-state.js';
import { type CorrelationCandidate, correlateEvent } from '../../cases/correlate-event.js';
import type { IntakeEvent } from '../../intake/event.js';
import { eventFingerprint } from '../../intake/event-fingerprint.js';
import type { Judgement } from '../../judgement/judge-event.js';
import { type CustomerAcceptance, judgeWithBinding } from '../../judgement/judge-with-binding.js';
import { authorisationFor, type TestAuthorisations } from '../../judgement/test-authorisation.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import { durationMs, type PolicyDocument } from '../../policy/policy-schema.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import { type EngineResult, nextStep } from '../ladder-engine.js';
import { reviewOf } from '../pipeline/case-batch.js';
import type { PlannedAction } from '../planned-action.js';
import type { RegistryAcceptance, SimulationReport } from './simulation-input.js';

/**
 * The whole desk, simulated: reports in, the timeline of what the policy makes happen out. Every report is
 * handled when it was received: each event is attributed at its own time (attribution/, through
 * attribution/attribute-event.ts), judged under the version that bound the customer then
 * (judgement/judge-with-binding.ts), correlated into cases by the case store's own rule
 * (cases/correlate-event.ts), and each case's ladder is run (ladder-engine.ts) at every instant it asks for
 * until `until`. Pure and deterministic: no store, no mail, no clock; case numbers count from 1 in order of
 * opening, so the same input prints the same timeline.
 *
 * A case follows the version that bound at its first event; later events join it under that version's
 * ladder (a customer mid-ladder is not restarted by a policy change).
 */

export interface SimulationInput {
  readonly reports: readonly SimulationReport[];
  readonly snapshot: RegistrySnapshot;
  readonly policy: PolicyHistory;
  /** What the registry says each customer (by ref) accepted; only entries for `policy.provider` count. */
  readonly acceptance?: ReadonlyMap<string, RegistryAcceptance>;
  /** Stop here; default 90 days after the last report. Reports received later are not handled. */
  readonly until?: Date;
  /** Vulnerability-test consents (`--consents`): a consented scan is `authorised` and opens no case. */
  readonly authorisations?: TestAuthorisations;
}

/** Outcomes for events that open no case, as the `state` of their row. */
export type EventOutcome =
  | 'not-ours'
  | 'rejected-anonymous'
  | 'too-old'
  | 'no-clause'
  | 'duplicate'
  | 'unparsed'
  /** A scan or attack inside a vulnerability-test consent (the desk records it and opens no case). */
  | 'authorised';

export interface SimulationDetail {
  /** What happened and why (the engine's reason, the judgement's or the attribution's). */
  readonly reason: string;
  /** The policy version that bound (`<provider> <version>`). */
  readonly policy?: string;
  /** The event class of the event the row is about. */
  readonly event?: string;
  /** The events line of the report the row comes from. */
  readonly report?: number;
  readonly step?: string;
  readonly idempotencyKey?: string;
  /** Notices: the UTC deadline to cure by, and the template. */
  readonly deadline?: string;
  readonly template?: string;
  /** Interruptions (suspend, block, terminate, …): whether the policy grants SLA credit for them. */
  readonly slaCreditEligible?: boolean;
  /** Acknowledgements: the outcome the reporter is told. */
  readonly outcome?: string;
}

/** One line of `aupdesk simulate`: exactly these keys (detail optional). */
export interface SimulationRow {
  readonly at: string;
  /** `AUP-000001`; null for an event that joined no case. */
  readonly case: string | null;
  readonly customer: string | null;
  readonly service: string | null;
  /** The case's primary clause. */
  readonly clause: string | null;
  /** The case's status after the row, or the event's outcome. */
  readonly state: string;
  /** Outbox kind performed, `proposed:<kind>` awaiting an analyst, `mail.ack` to the reporter, or null. */
  readonly action: string | null;
  readonly detail?: SimulationDetail;
}

export interface SimulationOutput {
  readonly rows: SimulationRow[];
  readonly until: Date;
  /** Every case's state at `until`, by reference. */
  readonly cases: ReadonlyMap<string, CaseState>;
}

interface SimCase {
  readonly id: number;
  readonly ref: string;
  readonly customerId: number;
  readonly serviceId: number;
  readonly clauseId: string;
  readonly policy: PolicyDocument;
  firstEventAt: Date;
  lastEventAt: Date;
  state: CaseState;
  due: Date | undefined;
}

const DAY = 86_400_000;
/** Bound on loop turns: hitting it means a bug (a case due at the same instant forever), not a long input. */
const MAX_TURNS = 1_000_000;

export function simulateTimeline(input: SimulationInput): SimulationOutput {
  const reports = input.reports
    .map((report, index) => ({ report, index }))
    .sort((a, b) => a.report.receivedAt.getTime() - b.report.receivedAt.getTime() || a.index - b.index)
    .map(({ report }) => report);
  const last = Math.max(
    0,
    ...reports.map((r) =>
      Math.max(r.receivedAt.getTime(), ...r.events.map((e) => Date.parse(e['time.source'] ?? '') || 0)),
    ),
  );
  const until = input.until ?? new Date(last + 90 * DAY);
  const sim = new Simulation(input, until);

  let next = 0;
  for (let turn = 0; turn < MAX_TURNS; turn += 1) {
    const report = reports[next];
    const reportAt =
      report && report.receivedAt.getTime() <= until.getTime() ? report.receivedAt.getTime() : Infinity;
    const dueAt = sim.nextDue();
    if (reportAt === Infinity && dueAt === Infinity) break;
    if (dueAt < reportAt) sim.runDue(dueAt);
    else {
      sim.handleReport(report!);
      next += 1;
    }
  }
  const rows = sim.rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => Date.parse(a.row.at) - Date.parse(b.row.at) || a.index - b.index)
    .map(({ row }) => row);
  return { rows, until, cases: new Map(sim.cases.map((c) => [c.ref, c.state])) };
}

class Simulation {
  readonly rows: SimulationRow[] = [];
  readonly cases: SimCase[] = [];
  private readonly known = new Map<string, number | null>();

  constructor(
    private readonly input: SimulationInput,
    private readonly until: Date,
  ) {}

  nextDue(): number {
    let min = Infinity;
    for (const c of this.cases) {
      const due = c.due?.getTime();
      if (due !== undefined && due <= this.until.getTime() && due < min) min = due;
    }
    return min;
  }

  runDue(at: number): void {
    for (const c of this.cases) if (c.due?.getTime() === at) this.advance(c, new Date(at));
  }

  handleReport(report: SimulationReport): void {
    const at = report.receivedAt;
    const outcomes: { outcome: string; caseRef?: string }[] = [];
    if (report.events.length === 0) {
      this.push({
        at,
        outcome: report.status === 'unparsed' ? 'unparsed' : 'no-clause',
        detail: { reason: 'the report carries no event', report: report.line },
      });
      outcomes.push({ outcome: 'unparseable' });
    }
    for (const event of report.events) outcomes.push(this.handleEvent(report, event));
    this.acknowledge(report, outcomes);
  }

  private handleEvent(report: SimulationReport, event: IntakeEvent): { outcome: string; caseRef?: string } {
    const at = report.receivedAt;
    const eventClass = `${event['classification.taxonomy']}/${event['classification.type']}`;
    const where = { event: eventClass, report: report.line };
    const attributed = attributeEvent(this.input.snapshot, event, report.receivedAt, report.channel);
    const attribution = attributed.attribution;
    if (!attribution.ours) {
      this.push({ at, outcome: 'not-ours', detail: { reason: attribution.detail, ...where } });
      return { outcome: 'not-our-network' };
    }
    const who = { customer: attribution.customer.ref, service: attribution.service.ref };
    const bound = judgeWithBinding(this.input.policy, this.acceptanceOf(attribution.customer.ref), {
      event,
      reporter: report.reporter,
      channel: report.channel,
      receivedAt: report.receivedAt,
      serviceKind: attribution.service.kind,
      now: at,
      via: attributed.via,
    });
    const judgement = bound.judgement;
    const policy = bound.binding ? `${this.input.policy.provider} ${bound.binding.version}` : undefined;
    const judged = { ...where, ...(policy === undefined ? {} : { policy }) };
    if (judgement.verdict !== 'violation') {
      this.push({ at, ...who, outcome: judgement.verdict, detail: { reason: judgement.reason, ...judged } });
      // `no-clause` is not one of the acknowledgement adapter's outcomes: the simulation names it as judged.
      return { outcome: judgement.verdict };
    }
    const document = bound.binding!.document;
    const consent = authorisationFor(this.input.authorisations, document, {
      event,
      service: attribution.service.ref,
      at: judgement.eventTime,
    });
    if (consent) {
      this.push({
        at,
        ...who,
        outcome: 'authorised',
        clause: judgement.primary.id,
        detail: {
          reason: `authorised vulnerability test of ${event['destination.ip']} until ${consent.validTo.toISOString()} (${consent.reference}); would have been ${judgement.primary.id}`,
          ...judged,
        },
      });
      return { outcome: 'authorised' };
    }
    const correlation = correlateEvent(
      {
        serviceId: attribution.service.id,
        clauseId: judgement.primary.id,
        eventTime: judgement.eventTime,
        fingerprint: eventFingerprint(report.evidenceSha256, event),
      },
      {
        cases: this.cases.filter((c) => c.serviceId === attribution.service.id).map(candidateOf),
        known: this.known,
        windowMs: durationMs(document.terms.enforcement.case_window),
      },
    );
    const fingerprint = eventFingerprint(report.evidenceSha256, event);
    const subjects = caseSubjectsOf(event, attributed.via);

    if (correlation.kind === 'duplicate') {
      const c = this.cases.find((x) => x.id === correlation.caseId);
      this.push({
        at,
        ...who,
        outcome: 'duplicate',
        ...(c ? { caseRef: c.ref, clause: c.clauseId } : {}),
        detail: { reason: 'the same event of the same evidence was already recorded', ...judged },
      });
      return c ? { outcome: 'joined-case', caseRef: c.ref } : { outcome: 'joined-case' };
    }

    if (correlation.kind === 'join') {
      const c = this.cases.find((x) => x.id === correlation.caseId)!;
      this.known.set(fingerprint, c.id);
      const s = copyCaseState(c.state);
      s.flags.endangering ||= judgement.endangering;
      s.subjects.addresses = [...new Set([...s.subjects.addresses, ...subjects.addresses])];
      s.subjects.urls = [...new Set([...s.subjects.urls, ...subjects.urls])];
      c.state = s;
      if (judgement.eventTime > c.lastEventAt) c.lastEventAt = judgement.eventTime;
      if (judgement.eventTime < c.firstEventAt) c.firstEventAt = judgement.eventTime;
      this.caseRow(c, at, null, { reason: `${eventClass} joined the case`, ...judged });
      this.advance(c, at);
      return { outcome: 'joined-case', caseRef: c.ref };
    }

    const id = this.cases.length + 1;
    // The desk's repeat count: the customer's earlier cases under this clause (case-repository previousCases).
    const repeat = this.cases.filter(
      (x) => x.customerId === attribution.customer.id && x.clauseId === judgement.primary.id,
    ).length;
    const c: SimCase = {
      id,
      ref: caseRefOf(id),
      customerId: attribution.customer.id,
      serviceId: attribution.service.id,
      clauseId: judgement.primary.id,
      policy: document,
      firstEventAt: judgement.eventTime,
      lastEventAt: judgement.eventTime,
      state: openCaseState({
        caseId: caseNumberOf(id),
        customerId: attribution.customer.ref,
        serviceId: attribution.service.ref,
        openedAt: at,
        clauses: judgement.clauses.map((clause) => ({
          id: clause.id,
          severity: clause.severity,
          endangersInfrastructure: clause.endangers_infrastructure,
        })),
        endangering: judgement.endangering,
        addresses: subjects.addresses,
        urls: subjects.urls,
        repeat,
        review: reviewOf(judgement.primary),
      }),
      due: undefined,
    };
    this.cases.push(c);
    this.known.set(fingerprint, id);
    this.caseRow(c, at, null, { reason: openedReason(judgement, bound.bindingReason), ...judged });
    this.advance(c, at);
    return { outcome: 'case-opened', caseRef: c.ref };
  }

  private advance(c: SimCase, at: Date): void {
    const before = c.state.status;
    const result: EngineResult = nextStep(c.state, c.policy, at);
    c.state = result.state;
    c.due = result.due && result.due.getTime() > at.getTime() ? result.due : undefined;
    const policy = `${c.policy.provider.id} ${c.policy.version}`;
    for (const action of result.actions) {
      this.caseRow(c, at, action.kind, { ...actionDetail(action), reason: result.reason, policy });
    }
    for (const action of result.proposed) {
      this.caseRow(c, at, `proposed:${action.kind}`, {
        ...actionDetail(action),
        reason: result.reason,
        policy,
      });
    }
    if (result.actions.length === 0 && result.proposed.length === 0 && before !== c.state.status) {
      this.caseRow(c, at, null, { reason: result.reason, policy });
    }
  }

  /** One acknowledgement per report, to a person only (never a feed, never an automated sender). */
  private acknowledge(
    report: SimulationReport,
    outcomes: readonly { outcome: string; caseRef?: string }[],
  ): void {
    const reporter = report.reporter;
    if (reporter.automated || !reporter.email || report.channel === 'detection' || report.channel === 'feed')
      return;
    const rank = [
      'case-opened',
      'joined-case',
      'rejected-anonymous',
      'too-old',
      'no-clause',
      'not-our-network',
      'unparseable',
      'authorised',
    ];
    const best = [...outcomes].sort((a, b) => rank.indexOf(a.outcome) - rank.indexOf(b.outcome))[0];
    // The desk has no acknowledgement text for an authorised test (report-ack.ts): nothing is sent.
    if (!best || best.outcome === 'authorised') return;
    this.rows.push({
      at: report.receivedAt.toISOString(),
      case: best.caseRef ?? null,
      customer: null,
      service: null,
      clause: null,
      state: best.outcome,
      action: 'mail.ack',
      detail: { reason: `the reporter is told: ${best.outcome}`, outcome: best.outcome, report: report.line },
    });
  }

  private acceptanceOf(customerRef: string): CustomerAcceptance {
    const a = this.input.acceptance?.get(customerRef);
    if (!a || a.provider !== this.input.policy.provider) return {};
    return { acceptedVersion: a.version, acceptedAt: a.acceptedAt };
  }

  private caseRow(c: SimCase, at: Date, action: string | null, detail: SimulationDetail): void {
    this.rows.push({
      at: at.toISOString(),
      case: c.ref,
      customer: c.state.customerId,
      service: c.state.serviceId,
      clause: c.clauseId,
      state: c.state.status,
      action,
      detail,
    });
  }

  private push(row: {
    at: Date;
    outcome: EventOutcome;
    customer?: string;
    service?: string;
    caseRef?: string;
    clause?: string;
    detail: SimulationDetail;
  }): void {
    this.rows.push({
      at: row.at.toISOString(),
      case: row.caseRef ?? null,
      customer: row.customer ?? null,
      service: row.service ?? null,
      clause: row.clause ?? null,
      state: row.outcome,
      action: null,
      detail: row.detail,
    });
  }
}

function candidateOf(c: SimCase): CorrelationCandidate {
  return {
    id: c.id,
    serviceId: c.serviceId,
    clauseId: c.clauseId,
    status: c.state.status,
    firstEventAt: c.firstEventAt,
    lastEventAt: c.lastEventAt,
    mergedInto: null,
  };
}

/** What a block or a content removal of this case targets. */
function openedReason(judgement: Judgement & { verdict: 'violation' }, binding: string): string {
  const others = judgement.clauses.slice(1).map((c) => c.id);
  return `case opened under ${judgement.primary.id}${others.length ? ` (also ${others.join(', ')})` : ''}${
    judgement.endangering ? '; the violation endangers the infrastructure' : ''
  }${judgement.via === 'promoted-url' ? '; the spam promotes a site hosted here' : ''}. Binding: ${binding}`;
}

function actionDetail(action: PlannedAction): Omit<SimulationDetail, 'reason'> {
  const base = { step: action.stepId, idempotencyKey: action.idempotencyKey };
  switch (action.kind) {
    case 'mail.notice':
      return {
        ...base,
        template: action.payload.template,
        ...(action.payload.deadline === undefined ? {} : { deadline: action.payload.deadline }),
        slaCreditEligible: action.payload.slaCreditEligible,
      };
    case 'provision.suspend':
    case 'provision.unsuspend':
    case 'provision.terminate':
    case 'provision.remove-content':
    case 'block.add':
    case 'block.remove':
      return { ...base, slaCreditEligible: action.payload.slaCreditEligible };
    default:
      return base;
  }
}
