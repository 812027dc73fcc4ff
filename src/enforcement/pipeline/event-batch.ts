import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Attribution } from '../../attribution/attribute.js';
import {
  attributeEvent,
  attributeNetworkEvent,
  type EventAttribution,
} from '../../attribution/attribute-event.js';
import { caseRefOf } from '../../cases/case-ref.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import { knownFingerprints } from '../../cases/report-repository.js';
import { isAupError } from '../../errors.js';
import type { IntakeEvent } from '../../intake/event.js';
import { eventFingerprint } from '../../intake/event-fingerprint.js';
import type { ParsedReport } from '../../intake/report.js';
import { type BoundJudgement, judgeWithBinding } from '../../judgement/judge-with-binding.js';
import {
  authorisationFor,
  mayBeAuthorised,
  type TestAuthorisations,
} from '../../judgement/test-authorisation.js';
import { type PolicyAcceptance, policyAcceptancesOf } from '../../registry/customer-lookup.js';
import { waivedVersionsOfMany } from '../../registry/policy-waiver-repository.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { Database } from '../../store/schema.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';
import { type CaseBatchItem, casesOfBatch, type RejectedItem } from './case-batch.js';
import { bindingInputOf, type CustomerWaiver } from './customer-binding.js';
import type { EventOutcome, ReportDeps } from './pipeline-deps.js';
import { TriageCollector } from './report-outcome.js';
import { attributeDestination, triageRouteOf, withBelievableTime } from './triage-route.js';

/**
 * A report's events, set-based: all of them (a report, or a segment of a big one) are attributed and judged
 * in memory (pure, as `aupdesk simulate` does), then correlated, put into cases and written a chunk at a
 * time with a few multi-row statements (case-batch.ts) instead of about a dozen statements per event. The
 * decisions, the rows, their ids and the audit chain are those of judging the events one by one in order:
 * the per-event rules are applied in the same order against an in-memory copy of what the earlier events of
 * the report wrote.
 */

interface WorkItem {
  readonly index: number;
  readonly event: IntakeEvent;
  readonly fingerprint: string;
  readonly attributed?: EventAttribution | undefined;
}

/** The cases and verdicts of a report's earlier segments (kept in the inbox row's progress between them). */
export interface EarlierSegments {
  readonly opened: readonly number[];
  readonly joined: readonly number[];
  readonly verdicts: readonly string[];
  readonly details: ReadonlyArray<readonly [string, string]>;
}

/** What one event came to, before the writes: a duplicate, a rejection, or a violation for a case. */
type Decision =
  | { readonly kind: 'duplicate'; readonly index: number; readonly caseId: number | null }
  | { readonly kind: 'duplicate-of'; readonly index: number; readonly of: CaseBatchItem }
  | RejectedItem
  | CaseBatchItem;

export class EventBatchRun {
  readonly outcomes: EventOutcome[] = [];
  readonly triage = new TriageCollector();
  readonly opened = new Map<number, string>();
  readonly joined = new Map<number, string>();
  private readonly verdicts = new Set<string>();
  private readonly details = new Map<string, string>();
  private readonly acceptance = new Map<number, PolicyAcceptance | undefined>();
  private readonly waivers = new Map<number, readonly CustomerWaiver[]>();
  private known = new Map<string, number | null>();
  /** Violations of this report not yet written, by fingerprint (a repeated event in one chunk). */
  private readonly pending = new Map<string, CaseBatchItem>();
  private consents: Promise<TestAuthorisations | undefined> | undefined;
  /** The cases as this report's previous segment committed them (`useCases`). */
  private knownCases: ReadonlyMap<number, CaseRecord> | undefined;
  /** The cases this run read or wrote, as they stand once `judgeEvents` is done (for the next segment). */
  cases: ReadonlyMap<number, CaseRecord> = new Map();

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly deps: ReportDeps,
    private readonly snapshot: RegistrySnapshot,
    private readonly report: ParsedReport,
    private readonly reportId: number,
    private readonly now: Date,
    private readonly segment: {
      /** The report's index of `report.events[0]`: a segment of a report processed in segments (report-segment.ts). */
      readonly firstIndex?: number;
      /** `report.events`' fingerprints, when the parsing thread made them (`ReportChunk.fingerprints`). */
      readonly fingerprints?: readonly string[];
    } = {},
  ) {}

  /** Carries on from the earlier segments of the same report: the cases and verdicts the ack needs. */
  restore(earlier: EarlierSegments): void {
    for (const id of earlier.opened) this.opened.set(id, caseRefOf(id));
    for (const id of earlier.joined) this.joined.set(id, caseRefOf(id));
    for (const v of earlier.verdicts) this.verdicts.add(v);
    for (const [verdict, reason] of earlier.details)
      if (!this.details.has(verdict)) this.details.set(verdict, reason);
  }

  /**
   * The cases as the report's previous segment committed them: those whose rows have not changed since are
   * not read again (`openCasesFor`'s `known`).
   */
  useCases(known: ReadonlyMap<number, CaseRecord>): void {
    this.knownCases = known;
  }

  /** What the next segment needs of this one and the ones before it (see `restore`). */
  carried(): EarlierSegments {
    return {
      opened: [...this.opened.keys()],
      joined: [...this.joined.keys()],
      verdicts: [...this.verdicts],
      details: [...this.details],
    };
  }

  async judgeEvents(): Promise<void> {
    // A network event (a blocklist naming a range) is judged once per service holding part of it, each
    // with its own fingerprint, so it can open or join one case per service.
    const receivedAt = new Date(this.report.receivedAt);
    const work: WorkItem[] = [];
    const { firstIndex = 0, fingerprints } = this.segment;
    for (const [i, event] of this.report.events.entries()) {
      const index = firstIndex + i;
      const fingerprint = fingerprints?.[i] ?? eventFingerprint(this.report.evidenceSha256, event);
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
    // Attribution first (pure), so the customers' acceptances and waivers are read in two queries.
    const attributed = work.map((w) => {
      if (this.known.has(w.fingerprint)) return undefined;
      const { event } = withBelievableTime(w.event, receivedAt, this.deps.triage?.futureToleranceMs);
      return {
        event,
        attributed: w.attributed ?? attributeEvent(this.snapshot, event, receivedAt, this.report.channel),
      };
    });
    await this.loadBindingInputs(attributed);

    const decisions: Decision[] = [];
    for (const [i, w] of work.entries()) {
      const a = attributed[i];
      // An event seen before — recorded, or earlier in this report (the same line twice) — is a duplicate.
      const seen = this.known.has(w.fingerprint) || this.pending.has(w.fingerprint);
      const decision =
        a && !seen ? await this.judgeOne(w, a.event, a.attributed) : this.duplicateOf(w.index, w.fingerprint);
      decisions.push(decision);
      if (decision.kind === 'reject') this.known.set(w.fingerprint, null);
      else if (decision.kind === 'violation') this.pending.set(w.fingerprint, decision);
    }

    const written = await casesOfBatch(this.trx, this.deps, {
      reportId: this.reportId,
      now: this.now,
      items: decisions.filter((d) => d.kind === 'reject' || d.kind === 'violation'),
      known: this.knownCases,
    });
    this.cases = written.cases;
    for (const d of decisions) this.recordOutcome(d, written.eventIds);
    for (const d of decisions) {
      if (d.kind !== 'violation') continue;
      this.known.set(d.fingerprint, d.caseId!);
      this.pending.delete(d.fingerprint);
    }
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

  private duplicateOf(index: number, fingerprint: string): Decision {
    const of = this.pending.get(fingerprint);
    if (of) return { kind: 'duplicate-of', index, of };
    return { kind: 'duplicate', index, caseId: this.known.get(fingerprint) ?? null };
  }

  private recordOutcome(d: Decision, eventIds: ReadonlyMap<object, number>): void {
    if (d.kind === 'duplicate' || d.kind === 'duplicate-of') {
      const caseId = d.kind === 'duplicate' ? d.caseId : d.of.caseId;
      this.outcomes.push({
        index: d.index,
        verdict: 'duplicate',
        caseRef: caseId === null || caseId === undefined ? null : caseRefOf(caseId),
      });
      return;
    }
    if (d.kind === 'reject') {
      this.triage.add(d.verdict, eventIds.get(d)!, d.reason, d.event, d.ids);
      this.verdicts.add(d.verdict);
      if (!this.details.has(d.verdict)) this.details.set(d.verdict, d.reason);
      this.outcomes.push({ index: d.index, verdict: d.verdict, reason: d.reason });
      return;
    }
    const ref = caseRefOf(d.caseId!);
    if (d.opened) this.opened.set(d.caseId!, ref);
    else this.joined.set(d.caseId!, ref);
    const { customer, service } = d.attributed.attribution as Extract<Attribution, { ours: true }>;
    this.outcomes.push({
      index: d.index,
      verdict: 'violation',
      caseRef: ref,
      opened: this.opened.has(d.caseId!),
      clause: d.judgement.primary.id,
      customer: customer.ref,
      service: service.ref,
    });
  }

  /** Decides one event: the per-event pipeline's rules, in its order, without a write. */
  private async judgeOne(w: WorkItem, event: IntakeEvent, attributed: EventAttribution): Promise<Decision> {
    const { report } = this;
    const { index, fingerprint } = w;
    const receivedAt = new Date(report.receivedAt);
    const eventTime = attributed.at;
    const reject = (
      verdict: Exclude<EventVerdict, 'violation'>,
      reason: string,
      ids: RejectedItem['ids'] = {},
      audit: Record<string, unknown> = {},
    ): RejectedItem => ({
      kind: 'reject',
      index,
      event,
      fingerprint,
      eventTime,
      verdict,
      reason,
      ids,
      audit,
    });

    const { attribution } = attributed;
    const route = triageRouteOf(event, this.deps.triage);
    if (!attribution.ours) {
      // Our customer named only as the target is the victim: a notice for a person, never a violation.
      const victim = attributeDestination(this.snapshot, event, eventTime);
      if (victim && !route) {
        const reason = `the target, not the source, is ours: service ${victim.service.ref} of ${victim.customer.ref} was attacked (${attribution.detail})`;
        return reject('victim-notice', reason, {
          customerId: victim.customer.id,
          serviceId: victim.service.id,
          assignmentId: victim.assignment.id,
        });
      }
      if (!route) return reject('not-ours', attribution.detail);
    }
    if (route) {
      const ours = attribution.ours
        ? { customerId: attribution.customer.id, serviceId: attribution.service.id }
        : {};
      return reject(route.verdict, route.reason, ours);
    }
    if (!attribution.ours) throw new Error('unreachable: an event not ours has a triage route');
    const { customer, service, assignment } = attribution;
    const ids = { customerId: customer.id, serviceId: service.id, assignmentId: assignment.id };

    let bound: BoundJudgement;
    try {
      const { history, acceptance } = bindingInputOf(
        this.deps,
        this.acceptance.get(customer.id),
        this.waivers.get(customer.id),
      );
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
      return reject('no-policy', error.message, ids);
    }
    if (bound.binding === null) return reject('no-policy', bound.bindingReason, ids);
    const { judgement } = bound;
    const policy = bound.binding.document;
    if (judgement.verdict !== 'violation') {
      return reject(judgement.verdict, judgement.reason, { ...ids, policyVersion: policy.version });
    }

    // Secure Packet §5: a scan from the service against targets it has the provider's written consent to
    // test, inside the consent's window, is the test that was agreed: recorded, no case.
    const consents = mayBeAuthorised(policy, event) ? await this.authorisations() : undefined;
    const consent = authorisationFor(consents, policy, { event, service: service.ref, at: eventTime });
    if (consent) {
      const reason = `authorised vulnerability test: ${service.ref} may test ${event['destination.ip']} from ${consent.validFrom.toISOString()} to ${consent.validTo.toISOString()} (${consent.reference}); would have been ${judgement.primary.id}`;
      return reject(
        'authorised',
        reason,
        { ...ids, policyVersion: policy.version },
        { consent: consent.id, reference: consent.reference, clause: judgement.primary.id },
      );
    }
    return { kind: 'violation', index, event, fingerprint, eventTime, judgement, policy, attributed };
  }

  /** The consent snapshot, read once per report and only when an event needs it. */
  private authorisations(): Promise<TestAuthorisations | undefined> {
    const load = this.deps.authorisations;
    this.consents ??= load ? load(this.trx) : Promise.resolve(undefined);
    return this.consents;
  }

  /** The acceptances and waivers of the events' customers not read yet: two queries, once per customer. */
  private async loadBindingInputs(
    attributed: ReadonlyArray<{ attributed: EventAttribution } | undefined>,
  ): Promise<void> {
    const ids = new Set<number>();
    for (const a of attributed) {
      const attribution = a?.attributed.attribution;
      if (attribution?.ours && !this.acceptance.has(attribution.customer.id))
        ids.add(attribution.customer.id);
    }
    if (ids.size === 0) return;
    const list = [...ids];
    const accepted = await policyAcceptancesOf(this.trx, list);
    const waived = await waivedVersionsOfMany(this.trx, list);
    for (const id of list) {
      this.acceptance.set(id, accepted.get(id));
      this.waivers.set(id, waived.get(id) ?? []);
    }
  }
}
