import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Attribution } from '../../attribution/attribute.js';
import {
  attributeEvent,
  attributeNetworkEvent,
  type EventAttribution,
} from '../../attribution/attribute-event.js';
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
import type { CaseBatchItem, RejectedItem } from './case-batch.js';
import { bindingInputOf, type CustomerWaiver } from './customer-binding.js';
import { nextTurn } from './event-loop-turn.js';
import type { ReportDeps } from './pipeline-deps.js';
import { attributeDestination, triageRouteOf, withBelievableTime } from './triage-route.js';

/**
 * A report's events judged, with nothing written: attributed to the services that held their addresses,
 * checked against the fingerprints already recorded, and judged under the policy version that binds each
 * customer. None of it needs the report's transaction, only reads; so a big report's next segment is judged
 * while the store still writes and commits the one before (report-segment.ts `judgeSegmentAhead`), and a
 * report processed in one piece judges the same way inside its transaction (EventBatchRun).
 *
 * What it leaves to the writer is the one rule that depends on the writes before it: an event the report
 * itself gave earlier (the same line twice, or a line of the segment just committed) is a duplicate.
 */

type Db = Kysely<Database>;

/** One event to decide: an event of the report, or the share of a network event one service held. */
export interface WorkItem {
  /** The event's index in the whole report. */
  readonly index: number;
  readonly event: IntakeEvent;
  readonly fingerprint: string;
  readonly attributed?: EventAttribution | undefined;
}

/** What one event came to, before the writes: a duplicate, a rejection, or a violation for a case. */
export type Decision =
  | { readonly kind: 'duplicate'; readonly index: number; readonly caseId: number | null }
  | { readonly kind: 'duplicate-of'; readonly index: number; readonly of: CaseBatchItem }
  | RejectedItem
  | CaseBatchItem;

/** Events judged between two turns of the event loop: a segment judged ahead leaves the store's answers
 * to the segment being written read in between. */
const EVENTS_PER_TURN = 500;

export interface JudgingInput {
  readonly report: ParsedReport;
  /** The report's index of `report.events[0]` (a segment of a report processed in segments). */
  readonly firstIndex: number;
  /** `report.events`' fingerprints, when the parsing thread made them (`ReportChunk.fingerprints`). */
  readonly fingerprints?: readonly string[] | undefined;
  readonly snapshot: RegistrySnapshot;
  /** The time the events are judged at (the transaction that writes them uses the same). */
  readonly now: Date;
}

export class JudgedEvents {
  private constructor(
    readonly input: JudgingInput,
    readonly work: readonly WorkItem[],
    /** The work's fingerprints the store held when it was read, with their case (null: an event in none). */
    readonly known: ReadonlyMap<string, number | null>,
    /**
     * Each work item's decision, if it was judged: not when its fingerprint was known when read, nor when
     * an earlier item has the same fingerprint (that one decides, and this one is then its duplicate).
     */
    readonly decisions: ReadonlyArray<Decision | undefined>,
  ) {}

  /**
   * Judges `input`'s events, reading through `reader`: the writing transaction itself, or, for a segment
   * judged ahead, the store outside any transaction (which then does not see the segment being written:
   * the writer adds that segment's fingerprints).
   */
  static async judge(reader: Db, deps: ReportDeps, input: JudgingInput): Promise<JudgedEvents> {
    const { report, firstIndex, fingerprints, snapshot } = input;
    // A network event (a blocklist naming a range) is judged once per service holding part of it, each
    // with its own fingerprint, so it can open or join one case per service.
    const receivedAt = new Date(report.receivedAt);
    const work: WorkItem[] = [];
    for (const [i, event] of report.events.entries()) {
      const index = firstIndex + i;
      const fingerprint = fingerprints?.[i] ?? eventFingerprint(report.evidenceSha256, event);
      const held = attributeNetworkEvent(snapshot, event, receivedAt);
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
    const known = await knownFingerprints(
      reader,
      work.map((w) => w.fingerprint),
    );
    // Attribution first (pure), so the customers' acceptances and waivers are read in two queries.
    const first = new Set<string>();
    const attributed = work.map((w) => {
      if (known.has(w.fingerprint) || first.has(w.fingerprint)) return undefined;
      first.add(w.fingerprint);
      const { event } = withBelievableTime(w.event, receivedAt, deps.triage?.futureToleranceMs);
      return {
        event,
        attributed: w.attributed ?? attributeEvent(snapshot, event, receivedAt, report.channel),
      };
    });
    const judge = new EventJudge(reader, deps, input);
    await judge.loadBindingInputs(attributed);
    const decisions: Array<Decision | undefined> = [];
    for (const [i, w] of work.entries()) {
      if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
      const a = attributed[i];
      decisions.push(a ? await judge.judgeOne(w, a.event, a.attributed) : undefined);
    }
    return new JudgedEvents(input, work, known, decisions);
  }
}

/** The per-event rules, with what they read once per report: acceptances, waivers, test consents. */
class EventJudge {
  private readonly acceptance = new Map<number, PolicyAcceptance | undefined>();
  private readonly waivers = new Map<number, readonly CustomerWaiver[]>();
  private consents: Promise<TestAuthorisations | undefined> | undefined;

  constructor(
    private readonly reader: Db,
    private readonly deps: ReportDeps,
    private readonly input: JudgingInput,
  ) {}

  /** Decides one event: the per-event pipeline's rules, in its order, without a write. */
  async judgeOne(w: WorkItem, event: IntakeEvent, attributed: EventAttribution): Promise<Decision> {
    const { report, snapshot, now } = this.input;
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
      const victim = attributeDestination(snapshot, event, eventTime);
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
        now,
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
    this.consents ??= load ? load(this.reader) : Promise.resolve(undefined);
    return this.consents;
  }

  /** The acceptances and waivers of the events' customers: two queries, once per customer. */
  async loadBindingInputs(
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
    const accepted = await policyAcceptancesOf(this.reader, list);
    const waived = await waivedVersionsOfMany(this.reader, list);
    for (const id of list) {
      this.acceptance.set(id, accepted.get(id));
      this.waivers.set(id, waived.get(id) ?? []);
    }
  }
}
