import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Attribution } from '../../attribution/attribute.js';
import {
  attributeEvent,
  attributeNetworkEvent,
  caseSubjectsOf,
  type EventAttribution,
} from '../../attribution/attribute-event.js';
import { appendAudit, withAuditBatch } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import {
  type CaseRecord,
  correlationCandidates,
  createCase,
  getCase,
  lockCorrelation,
  previousCases,
} from '../../cases/case-repository.js';
import { openCaseState } from '../../cases/case-state.js';
import { correlateEvent, eventFingerprint, windowEndsAt } from '../../cases/correlate-event.js';
import {
  insertCaseEvent,
  insertReport,
  knownFingerprints,
  setReportOutcome,
} from '../../cases/report-repository.js';
import { AupError, isAupError } from '../../errors.js';
import type { IntakeEvent } from '../../intake/event.js';
import { type ParsedReport, parsedReportSchema } from '../../intake/report.js';
import type { Judgement } from '../../judgement/judge-event.js';
import {
  type BoundJudgement,
  type CustomerAcceptance,
  judgeWithBinding,
} from '../../judgement/judge-with-binding.js';
import {
  authorisationFor,
  mayBeAuthorised,
  type TestAuthorisations,
} from '../../judgement/test-authorisation.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import { durationMs, type PolicyDocument } from '../../policy/policy-schema.js';
import { type PolicyAcceptance, policyAcceptanceOf } from '../../registry/customer-lookup.js';
import { waivedVersionsOf } from '../../registry/policy-waiver-repository.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { Database } from '../../store/schema.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';
import type { AckPolicy } from '../notices/ack-decision.js';
import {
  applyCaseTransition,
  type EnforcementDeps,
  type InTransactionDeps,
  policyHistories,
  policyOfCase,
} from './case-transition.js';
import { bindingInputOf } from './customer-binding.js';
import { attachReply, findThread, type ReplyFacts, replyFacts } from './reply-threading.js';
import { type AckDecisionResult, acknowledgeReport } from './report-ack.js';
import { outcomesOf, type ReportOutcome, TriageCollector } from './report-outcome.js';
import {
  attributeDestination,
  type TriageRouteOptions,
  triageRouteOf,
  withBelievableTime,
} from './triage-route.js';

/**
 * A parsed report → enforcement, in ONE transaction per report: the report row, then for each event
 * attribution (in-memory snapshot, at the event's time; attribution/attribute-event.ts) → the policy version
 * binding that customer then and the judgement under it (judgement/judge-with-binding.ts; the simulator
 * uses the same two, so `aupdesk simulate` and the desk judge alike) → correlation into a case (open or
 * join) → the ladder engine → state, outbox actions, due step and audit entries; finally the reporter's
 * acknowledgement (through the outbox). A crash anywhere leaves nothing half-done: the evidence is already
 * durable (the channel stored it first) and the report can be processed again. A reply to one of our
 * notices threads to its case instead (reply-threading.ts).
 *
 * `processReport` opens that transaction; `processReportIn` runs in one the caller owns (the intake inbox).
 */

export interface PipelineDeps extends EnforcementDeps {
  /** The current registry snapshot (RegistrySnapshotHolder's `current`). */
  readonly snapshot: () => RegistrySnapshot;
  /** Acknowledgement loop guards (our own addresses and domains); checked again by the adapter. */
  readonly ackPolicy?: AckPolicy;
  /** Raw evidence, to keep a customer reply's text on its case and read where it was addressed. */
  readonly evidence?: { get(sha256: string): Promise<Uint8Array> };
  /**
   * Recorded vulnerability-test consents (compliance/test-consent-repository.ts `loadTestConsentSet`), read
   * in the report's transaction the first time an event of a class a test produces needs them. Absent:
   * no event is ever authorised.
   */
  readonly authorisations?: (trx: Transaction<Database>) => Promise<TestAuthorisations>;
  /** What goes to triage instead of a case (confidence threshold) and how far in the future an event's
   * time may lie past its report's receipt (default 10 minutes). */
  readonly triage?: (TriageRouteOptions & { readonly futureToleranceMs?: number | undefined }) | undefined;
  /**
   * The desk secret reply tokens derive from (notices/reply-token.ts). Without it no reply authenticates:
   * every reply is kept as a third-party message.
   */
  readonly replySecret?: Uint8Array;
}

/** The pipeline's dependencies inside a caller's transaction (`processReportIn`): no `db`. */
export type ReportDeps = InTransactionDeps & Omit<PipelineDeps, keyof EnforcementDeps>;

export type EventOutcome =
  | { readonly index: number; readonly verdict: 'duplicate'; readonly caseRef: string | null }
  | {
      readonly index: number;
      readonly verdict: 'violation';
      readonly caseRef: string;
      readonly opened: boolean;
      readonly clause: string;
      readonly customer: string;
      readonly service: string;
    }
  | { readonly index: number; readonly verdict: Exclude<EventVerdict, 'violation'>; readonly reason: string };

export interface ProcessReportResult {
  readonly reportId: number;
  readonly disposition:
    | 'events'
    | 'customer-reply'
    | 'reporter-reply'
    | 'auto-reply'
    | 'third-party-reply'
    | 'unparsed';
  readonly events: readonly EventOutcome[];
  /** Cases opened or joined, by reference. */
  readonly cases: readonly { readonly ref: string; readonly opened: boolean }[];
  readonly ack: AckDecisionResult | null;
  /** The case a reply threaded to. */
  readonly threadedTo?: string;
  /** What the report came to (the reports API's `outcome` filter), report-outcome.ts. */
  readonly outcomes: readonly ReportOutcome[];
}

const ACTOR = 'system:intake' as const;

export async function processReport(deps: PipelineDeps, input: ParsedReport): Promise<ProcessReportResult> {
  const report = validReport(input);
  // Read before the transaction: file I/O has no business holding the audit head lock.
  const facts = await mailFactsOf(deps, report);
  return deps.db.transaction().execute((trx) => processValidReport(trx, deps, report, facts));
}

/**
 * `processReport` inside a transaction the caller owns (the intake inbox's: the report's writes and the
 * inbox row's `done` then commit together). It takes no `db`: every read and write goes through `trx`.
 * A mail report's text (kept on its case when it is a reply) is read from `deps.evidence` here, before the
 * first write takes a lock.
 */
export async function processReportIn(
  trx: Transaction<Database>,
  deps: ReportDeps,
  input: ParsedReport,
): Promise<ProcessReportResult> {
  const report = validReport(input);
  return processValidReport(trx, deps, report, await mailFactsOf(deps, report));
}

/**
 * Every audit entry of the report (received, judgements, cases opened and joined, state changes, actions
 * enqueued, steps scheduled, the acknowledgement) is chained as it is decided and written in one statement
 * per 2,000 (withAuditBatch): the same chain as appending one by one, without a round trip per entry.
 */
function processValidReport(
  trx: Transaction<Database>,
  deps: ReportDeps,
  report: ParsedReport,
  facts: ReplyFacts,
): Promise<ProcessReportResult> {
  return withAuditBatch(trx, () => processInAuditBatch(trx, deps, report, facts));
}

async function processInAuditBatch(
  trx: Transaction<Database>,
  deps: ReportDeps,
  report: ParsedReport,
  facts: ReplyFacts,
): Promise<ProcessReportResult> {
  const body = facts.body;
  const snapshot = deps.snapshot();
  const now = deps.clock.now();
  const looksLikeMail = isMail(report);

  // Lock order: the audit head first (report.received), then case rows. Every writer of cases takes them
  // in this order (case-transition.ts), so two PostgreSQL workers cannot deadlock on them.
  const reportId = await insertReport(trx, report, { disposition: 'events', at: now });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'report.received',
    subject: `report:${reportId}`,
    payload: {
      evidence: report.evidenceSha256,
      format: report.format,
      channel: report.channel,
      status: report.status,
      events: report.events.length,
      errors: report.errors.length,
    },
  });
  const thread = looksLikeMail
    ? await findThread(trx, report, {
        secret: deps.replySecret,
        recipients: facts.recipients,
        acceptsCustomerDomain: (record) => acceptsCustomerDomain(deps, record),
      })
    : undefined;
  if (thread && thread.kind !== 'reporter-reply') {
    const disposition =
      thread.kind === 'reply'
        ? 'customer-reply'
        : thread.kind === 'third-party'
          ? 'third-party-reply'
          : 'auto-reply';
    const record = await attachReply(trx, deps, report, reportId, thread, body, now);
    await setReportOutcome(trx, reportId, {
      disposition,
      caseId: record.id,
      ackSuppressed: 'a reply on a case thread',
    });
    return { reportId, disposition, events: [], cases: [], ack: null, threadedTo: record.ref, outcomes: [] };
  }
  const disposition = thread ? 'reporter-reply' : report.events.length === 0 ? 'unparsed' : 'events';
  if (disposition !== 'events') await setReportOutcome(trx, reportId, { disposition });
  if (thread) await attachReply(trx, deps, report, reportId, thread, body, now);

  const run = new ReportRun(trx, deps, snapshot, report, reportId, now);
  await run.judgeEvents();
  const triaged = await run.triage.flush(trx, report, reportId, disposition, now);
  const ack = await acknowledgeReport(
    trx,
    report,
    reportId,
    { ...run.ackInput(), threaded: thread !== undefined },
    {
      now,
      ackPolicy: deps.ackPolicy,
      messageIdDomain: deps.messageIdDomain,
    },
  );
  await setReportOutcome(trx, reportId, {
    caseId: run.firstCaseId(),
    ackOutcome: ack.outcome,
    ackSuppressed: ack.suppressed ?? null,
  });
  return {
    reportId,
    disposition,
    events: run.outcomes,
    cases: run.caseList(),
    ack,
    ...(thread ? { threadedTo: thread.record.ref } : {}),
    outcomes: outcomesOf({ disposition, events: run.outcomes, triaged }),
  };
}

/** A clause the policy marks "subject to review" opens its cases on hold, waiting for an analyst. */
export function reviewOf(clause: { id: string; subject_to_review: boolean }): { note: string } | undefined {
  return clause.subject_to_review
    ? { note: `clause ${clause.id} is subject to review: an analyst decides before any notice` }
    : undefined;
}

function validReport(input: ParsedReport): ParsedReport {
  const parsed = parsedReportSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AupError(
    'AUP_ERR_INPUT_INVALID',
    `parsed report ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`,
  );
}

function isMail(report: ParsedReport): boolean {
  return report.channel === 'smtp' || report.channel === 'imap';
}

/** A mail report's text (kept on the case when it is a reply); undefined for other channels. */
function mailFactsOf(deps: ReportDeps, report: ParsedReport): Promise<ReplyFacts> {
  return isMail(report)
    ? replyFacts(deps.evidence, report.evidenceSha256)
    : Promise.resolve({ body: undefined, recipients: [] });
}

/** The case's policy version says whether a reply from a customer address's domain is the customer's. */
function acceptsCustomerDomain(deps: ReportDeps, record: CaseRecord): boolean {
  for (const history of policyHistories(deps)) {
    if (history.provider !== record.providerId) continue;
    const version = history.versions.find((v) => v.document.version === record.policyVersion);
    return version?.document.terms.complaints.customer_replies_from_domain === true;
  }
  return false;
}

/** One report's events, judged in order inside the report's transaction. */
class ReportRun {
  readonly outcomes: EventOutcome[] = [];
  readonly triage = new TriageCollector();
  private readonly opened = new Map<number, string>();
  private readonly joined = new Map<number, string>();
  private readonly verdicts = new Set<string>();
  private readonly details = new Map<string, string>();
  private readonly acceptance = new Map<number, PolicyAcceptance | undefined>();
  private readonly waivers = new Map<number, ReadonlyArray<{ provider: string; version: string }>>();
  private known = new Map<string, number | null>();
  private consents: Promise<TestAuthorisations | undefined> | undefined;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly deps: ReportDeps,
    private readonly snapshot: RegistrySnapshot,
    private readonly report: ParsedReport,
    private readonly reportId: number,
    private readonly now: Date,
  ) {}

  async judgeEvents(): Promise<void> {
    // A network event (a blocklist naming a range) is judged once per service holding part of it, each
    // with its own fingerprint, so it can open or join one case per service.
    const receivedAt = new Date(this.report.receivedAt);
    const work: Array<{
      index: number;
      event: IntakeEvent;
      fingerprint: string;
      attributed?: EventAttribution;
    }> = [];
    for (const [index, event] of this.report.events.entries()) {
      const fingerprint = eventFingerprint(this.report.evidenceSha256, event);
      const held = attributeNetworkEvent(this.snapshot, event, receivedAt);
      if (held.length === 0) work.push({ index, event, fingerprint });
      for (const attributed of held) {
        const service = (attributed.attribution as Extract<Attribution, { ours: true }>).service.id;
        work.push({
          index,
          event,
          fingerprint: createHash('sha256').update(`${fingerprint}/service:${service}`).digest('hex'),
          attributed,
        });
      }
    }
    this.known = await knownFingerprints(
      this.trx,
      work.map((w) => w.fingerprint),
    );
    for (const w of work) await this.judgeOne(w.index, w.event, w.fingerprint, w.attributed);
  }

  ackInput() {
    return {
      opened: [...this.opened.keys()],
      joined: [...this.joined.keys()].filter((id) => !this.opened.has(id)),
      verdicts: this.verdicts,
      details: this.details,
      duplicatesOnly: this.outcomes.length > 0 && this.outcomes.every((o) => o.verdict === 'duplicate'),
    };
  }

  firstCaseId(): number | null {
    return [...this.opened.keys(), ...this.joined.keys()][0] ?? null;
  }

  caseList(): Array<{ ref: string; opened: boolean }> {
    const out = [...this.opened.values()].map((ref) => ({ ref, opened: true }));
    for (const [id, ref] of this.joined) if (!this.opened.has(id)) out.push({ ref, opened: false });
    return out;
  }

  private async judgeOne(
    index: number,
    received: IntakeEvent,
    fingerprint: string,
    given?: EventAttribution,
  ): Promise<void> {
    const { report } = this;
    const receivedAt = new Date(report.receivedAt);
    if (this.known.has(fingerprint)) {
      const caseId = this.known.get(fingerprint) ?? null;
      const record = caseId === null ? undefined : await getCase(this.trx, caseId);
      this.outcomes.push({ index, verdict: 'duplicate', caseRef: record?.ref ?? null });
      return;
    }
    // An event dated after its report arrived is judged at the receipt (and flagged on the stored event).
    const { event } = withBelievableTime(received, receivedAt, this.deps.triage?.futureToleranceMs);
    // The judgement module's attribution, as `aupdesk simulate` uses it: the source first, and for spam the
    // site it promotes (`via: promoted-url`), which only clauses extending to third-party networks judge.
    const attributed = given ?? attributeEvent(this.snapshot, event, receivedAt, report.channel);
    const eventTime = attributed.at;

    const { attribution } = attributed;
    const route = triageRouteOf(event, this.deps.triage);
    if (!attribution.ours) {
      // Our customer named only as the target is the victim: a notice for a person, never a violation.
      const victim = attributeDestination(this.snapshot, event, eventTime);
      if (victim && !route) {
        const reason = `the target, not the source, is ours: service ${victim.service.ref} of ${victim.customer.ref} was attacked (${attribution.detail})`;
        await this.reject(index, event, fingerprint, eventTime, 'victim-notice', reason, {
          customerId: victim.customer.id,
          serviceId: victim.service.id,
          assignmentId: victim.assignment.id,
        });
        return;
      }
      if (!route) {
        await this.reject(index, event, fingerprint, eventTime, 'not-ours', attribution.detail);
        return;
      }
    }
    if (route) {
      const ours = attribution.ours
        ? { customerId: attribution.customer.id, serviceId: attribution.service.id }
        : {};
      await this.reject(index, event, fingerprint, eventTime, route.verdict, route.reason, ours);
      return;
    }
    if (!attribution.ours) return;
    const { customer, service, assignment } = attribution;
    const ids = { customerId: customer.id, serviceId: service.id, assignmentId: assignment.id };

    let bound: BoundJudgement;
    try {
      const { history, acceptance } = await this.bindingInput(customer.id);
      bound = judgeWithBinding(history, acceptance, {
        event,
        reporter: report.reporter,
        channel: report.channel,
        receivedAt,
        serviceKind: service.kind,
        now: this.now,
        via: attributed.via,
      });
    } catch (error) {
      // An acceptance record the policy history cannot read leaves the event unjudged; the report goes on.
      if (!isAupError(error)) throw error;
      await this.reject(index, event, fingerprint, eventTime, 'no-policy', error.message, ids);
      return;
    }
    if (bound.binding === null) {
      await this.reject(index, event, fingerprint, eventTime, 'no-policy', bound.bindingReason, ids);
      return;
    }
    const { judgement } = bound;
    const policy = bound.binding.document;
    if (judgement.verdict !== 'violation') {
      await this.reject(index, event, fingerprint, eventTime, judgement.verdict, judgement.reason, {
        ...ids,
        policyVersion: policy.version,
      });
      return;
    }

    // Secure Packet §5: a scan from the service against targets it has the provider's written consent to
    // test, inside the consent's window, is the test that was agreed: recorded, no case.
    const consents = mayBeAuthorised(policy, event) ? await this.authorisations() : undefined;
    const consent = authorisationFor(consents, policy, {
      event,
      service: service.ref,
      at: eventTime,
    });
    if (consent) {
      const reason = `authorised vulnerability test: ${service.ref} may test ${event['destination.ip']} from ${consent.validFrom.toISOString()} to ${consent.validTo.toISOString()} (${consent.reference}); would have been ${judgement.primary.id}`;
      await this.reject(
        index,
        event,
        fingerprint,
        eventTime,
        'authorised',
        reason,
        { ...ids, policyVersion: policy.version },
        { consent: consent.id, reference: consent.reference, clause: judgement.primary.id },
      );
      return;
    }

    const record = await this.intoCase(event, fingerprint, eventTime, judgement, policy, attributed);
    this.known.set(fingerprint, record.id);
    this.outcomes.push({
      index,
      verdict: 'violation',
      caseRef: record.ref,
      opened: this.opened.has(record.id),
      clause: judgement.primary.id,
      customer: customer.ref,
      service: service.ref,
    });
  }

  /** Opens a case or joins one, runs the engine, and records the event and its judgement on the case. */
  private async intoCase(
    event: IntakeEvent,
    fingerprint: string,
    eventTime: Date,
    judgement: Extract<Judgement, { verdict: 'violation' }>,
    policy: PolicyDocument,
    attributed: EventAttribution,
  ): Promise<CaseRecord> {
    const { trx, deps, now } = this;
    const { customer, service, assignment } = attributed.attribution as Extract<Attribution, { ours: true }>;
    const clause = judgement.primary;
    const windowMs = durationMs(policy.terms.enforcement.case_window);
    await lockCorrelation(trx, service.id, clause.id);
    const correlation = correlateEvent(
      { serviceId: service.id, clauseId: clause.id, eventTime, fingerprint },
      { cases: await correlationCandidates(trx, service.id, clause.id), known: this.known, windowMs },
    );
    // A spamvertising case is about the promoted site: the sender's address is someone else's network.
    const { addresses, urls } = caseSubjectsOf(event, attributed.via, attributed.attribution);

    let record: CaseRecord;
    let state: CaseRecord['state'];
    let cause: string;
    let update: { firstEventAt?: Date; lastEventAt?: Date; windowEndsAt?: Date } = {};
    if (correlation.kind === 'join') {
      record = (await getCase(trx, correlation.caseId, { forUpdate: true }))!;
      state = structuredClone(record.state);
      state.subjects.addresses = [...new Set([...state.subjects.addresses, ...addresses])];
      state.subjects.urls = [...new Set([...state.subjects.urls, ...urls])];
      state.flags.endangering ||= judgement.endangering;
      const first = Math.min(record.firstEventAt.getTime(), eventTime.getTime());
      const last = Math.max(record.lastEventAt.getTime(), eventTime.getTime());
      const casePolicy = policyOfCase(deps, record);
      update = {
        firstEventAt: new Date(first),
        lastEventAt: new Date(last),
        windowEndsAt: windowEndsAt(new Date(last), durationMs(casePolicy.terms.enforcement.case_window)),
      };
      cause = 'event';
      this.joined.set(record.id, record.ref);
    } else {
      const repeat = (await previousCases(trx, customer.id, clause.id)).length;
      record = await createCase(trx, {
        providerId: policy.provider.id,
        policyVersion: policy.version,
        customerId: customer.id,
        customerRef: customer.ref,
        serviceId: service.id,
        serviceRef: service.ref,
        clauseId: clause.id,
        severity: clause.severity,
        openedAt: now,
        firstEventAt: eventTime,
        windowEndsAt: windowEndsAt(eventTime, windowMs),
        repeatCount: repeat,
        state: (caseNumber) =>
          openCaseState({
            caseId: caseNumber,
            customerId: customer.ref,
            serviceId: service.ref,
            openedAt: now,
            clauses: judgement.clauses.map((c) => ({
              id: c.id,
              severity: c.severity,
              endangersInfrastructure: c.endangers_infrastructure,
            })),
            endangering: judgement.endangering,
            addresses,
            urls,
            repeat,
            review: reviewOf(clause),
          }),
      });
      state = record.state;
      cause = 'opened';
      this.opened.set(record.id, record.ref);
      await appendAudit(trx, {
        at: now,
        actor: ACTOR,
        kind: 'case.opened',
        subject: caseSubject(record.id),
        payload: {
          case: record.ref,
          policy: `${policy.provider.id} ${policy.version}`,
          customer: customer.ref,
          service: service.ref,
          clause: clause.id,
          severity: clause.severity,
          repeat,
          report: this.reportId,
        },
      });
    }

    const eventId = await insertCaseEvent(trx, {
      reportId: this.reportId,
      caseId: record.id,
      fingerprint,
      event,
      eventTime,
      customerId: customer.id,
      serviceId: service.id,
      assignmentId: assignment.id,
      policyVersion: policy.version,
      verdict: 'violation',
      clauseId: clause.id,
      reason: `${judgement.clauses.map((c) => c.id).join(', ')} (${judgement.eventClass}${
        judgement.via === 'promoted-url' ? `, promoting a site hosted here via ${attributed.by}` : ''
      })`,
      at: now,
    });
    await appendAudit(trx, {
      at: now,
      actor: ACTOR,
      kind: 'judgement',
      subject: caseSubject(record.id),
      payload: {
        report: this.reportId,
        event: eventId,
        fingerprint,
        verdict: 'violation',
        clauses: judgement.clauses.map((c) => c.id),
        severity: judgement.severity,
        endangering: judgement.endangering,
        eventClass: judgement.eventClass,
        via: judgement.via,
        attributedBy: attributed.by,
        eventTime: eventTime.toISOString(),
        policy: `${policy.provider.id} ${policy.version}`,
        customer: customer.ref,
        service: service.ref,
        assignment: assignment.id,
      },
    });
    if (cause === 'event') {
      await appendAudit(trx, {
        at: now,
        actor: ACTOR,
        kind: 'case.joined',
        subject: caseSubject(record.id),
        payload: { case: record.ref, report: this.reportId, event: eventId },
      });
    }
    const { record: saved } = await applyCaseTransition(trx, deps, record, state, now, {
      actor: ACTOR,
      cause,
      update,
      audit: { report: this.reportId, event: eventId },
    });
    return saved;
  }

  private async reject(
    index: number,
    event: IntakeEvent,
    fingerprint: string,
    eventTime: Date,
    verdict: Exclude<EventVerdict, 'violation'>,
    reason: string,
    ids: { customerId?: number; serviceId?: number; assignmentId?: number; policyVersion?: string } = {},
    audit: Record<string, unknown> = {},
  ): Promise<void> {
    const eventId = await insertCaseEvent(this.trx, {
      reportId: this.reportId,
      caseId: null,
      fingerprint,
      event,
      eventTime,
      ...ids,
      verdict,
      reason,
      at: this.now,
    });
    this.known.set(fingerprint, null);
    await appendAudit(this.trx, {
      at: this.now,
      actor: ACTOR,
      kind: 'judgement',
      subject: `report:${this.reportId}`,
      payload: {
        report: this.reportId,
        event: eventId,
        fingerprint,
        verdict,
        reason,
        eventTime: eventTime.toISOString(),
        ...audit,
      },
    });
    this.triage.add(verdict, eventId, reason, event, ids);
    this.verdicts.add(verdict);
    if (!this.details.has(verdict)) this.details.set(verdict, reason);
    this.outcomes.push({ index, verdict, reason });
  }

  /** The consent snapshot, read once per report and only when an event needs it. */
  private authorisations(): Promise<TestAuthorisations | undefined> {
    const load = this.deps.authorisations;
    this.consents ??= load ? load(this.trx) : Promise.resolve(undefined);
    return this.consents;
  }

  /** The policy history and the acceptance (and waivers) to bind the customer by, read once per report. */
  private async bindingInput(
    customerId: number,
  ): Promise<{ history: PolicyHistory; acceptance: CustomerAcceptance }> {
    if (!this.acceptance.has(customerId)) {
      this.acceptance.set(customerId, await policyAcceptanceOf(this.trx, customerId));
      this.waivers.set(customerId, await waivedVersionsOf(this.trx, customerId));
    }
    return bindingInputOf(this.deps, this.acceptance.get(customerId), this.waivers.get(customerId));
  }
}
