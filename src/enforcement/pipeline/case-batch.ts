import type { Transaction } from 'kysely';
import type { Attribution } from '../../attribution/attribute.js';
import { caseSubjectsOf, type EventAttribution } from '../../attribution/attribute-event.js';
import { type AuditEntryInput, appendAuditEntries } from '../../audit/audit-log.js';
import { caseNumberOf, caseRefOf, caseSubject } from '../../cases/case-ref.js';
import {
  type CaseRecord,
  caseCounts,
  insertCases,
  lockCorrelations,
  openCasesFor,
  saveCases,
} from '../../cases/case-repository.js';
import { type CaseState, openCaseState, parseCaseState, sameCaseState } from '../../cases/case-state.js';
import { type CorrelationCandidate, correlateEvent, windowEndsAt } from '../../cases/correlate-event.js';
import { addCaseMessages, type NewCaseMessage } from '../../cases/message-repository.js';
import { insertCaseEvents, type NewCaseEvent } from '../../cases/report-repository.js';
import type { IntakeEvent } from '../../intake/event.js';
import type { Judgement } from '../../judgement/judge-event.js';
import { durationMs, type PolicyDocument } from '../../policy/policy-schema.js';
import { settleInOrder } from '../../store/json-rows.js';
import { reserveIds } from '../../store/reserve-ids.js';
import type { Database } from '../../store/schema.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';
import { nextStep } from '../ladder-engine.js';
import {
  type EnqueueActionInput,
  existingActionKeys,
  insertActionRows,
  newActionRows,
} from '../outbox/outbox-repository.js';
import type { PlannedAction } from '../planned-action.js';
import {
  existingStepKeys,
  insertStepRows,
  newStepRows,
  pendingDueTimes,
  type ScheduleStepInput,
} from '../scheduler/step-scheduler.js';
import {
  CASE_STEP_KIND,
  caseStateEntry,
  dueStepOf,
  type InTransactionDeps,
  noticeMessageOf,
  policyOfCase,
} from './case-transition.js';
import { nextTurn } from './event-loop-turn.js';

/**
 * The write half of the set-based pipeline (event-batch.ts decides, this writes): a report's (or a
 * segment's) judged events into cases with one correlation lock statement and one query for the open cases
 * of all its (service, clause) keys, then each event in order through the same steps as the per-event path
 * — correlate (correlate-event.ts), open or join, the ladder engine, outbox actions and their notices in the
 * case thread, the due step, the audit entries — against an in-memory copy of the cases, and the rows in
 * multi-row statements a chunk at a time: cases, case updates, events, outbox rows, messages, due steps, and
 * the audit entries chained in the order the per-event path appends them (audit last: the dashboard's
 * trigger on audit_log joins the cases).
 *
 * Everything a chunk's decisions read is read before the first chunk is decided (the cases of the whole
 * input are locked and read at once, and carried in memory from chunk to chunk), so deciding needs no
 * answer from the store: while the store runs one chunk's statements, the next chunk is decided. On a
 * PostgreSQL server the two then run on the two cores at once; before, each waited for the other.
 *
 * Ids are taken from the sequences before the rows are written (store/reserve-ids.ts), in the order the
 * per-event path would take them, since case numbers, outbox keys and audit payloads name them.
 */

/** Events decided and written together: bounds each chunk's statements and the rows held for them. */
export const EVENTS_PER_CHUNK = 2_000;

/** Events decided between two turns of the event loop, so the store's answers are read (and the next
 * queued statement sent) while a chunk is decided. */
const EVENTS_PER_TURN = 250;

/** Keys per read statement: bounds a statement's parameters whatever the input's size. */
const KEYS_PER_READ = 5_000;

const ACTOR = 'system:intake' as const;

/** An event that opened no case: its verdict and why. */
export interface RejectedItem {
  readonly kind: 'reject';
  readonly index: number;
  readonly event: IntakeEvent;
  readonly fingerprint: string;
  readonly eventTime: Date;
  readonly verdict: Exclude<EventVerdict, 'violation'>;
  readonly reason: string;
  readonly ids: {
    customerId?: number;
    serviceId?: number;
    assignmentId?: number;
    policyVersion?: string;
  };
  readonly audit: Record<string, unknown>;
}

/** A violation to put into a case; `caseId` and `opened` are filled in by `casesOfBatch`. */
export interface CaseBatchItem {
  readonly kind: 'violation';
  readonly index: number;
  readonly event: IntakeEvent;
  readonly fingerprint: string;
  readonly eventTime: Date;
  readonly judgement: Extract<Judgement, { verdict: 'violation' }>;
  readonly policy: PolicyDocument;
  readonly attributed: EventAttribution;
  caseId?: number;
  opened?: boolean;
}

/** An audit entry in its place, or the place of an outbox row's or a due step's entry if it is written. */
type Slot = AuditEntryInput | { readonly action: number } | { readonly step: number };

interface BatchInput {
  readonly reportId: number;
  readonly now: Date;
  /** The events that are written (duplicates are not), in report order. */
  readonly items: ReadonlyArray<RejectedItem | CaseBatchItem>;
  /** The cases as the report's previous segment committed them (`openCasesFor`'s `known`). */
  readonly known?: ReadonlyMap<number, CaseRecord> | undefined;
  /** Called once the last chunk is decided, its writes and the cases' update still to run (the inbox then
   * judges the next segment, on this process's otherwise idle thread: SegmentedProcessing.workAhead). */
  readonly onDecided?: (() => void) | undefined;
}

/** What `casesOfBatch` wrote: each item's event id, and the cases it read or wrote as they stand now. */
export interface BatchResult {
  readonly eventIds: Map<object, number>;
  readonly cases: ReadonlyMap<number, CaseRecord>;
}

/**
 * Decides and writes `input.items`, a chunk at a time; returns each item's event id. A chunk's statements
 * are queued as soon as it is decided and the next chunk is decided while they run; the chunks' writes run
 * one after another, in order. The cases a chunk opens are inserted with it (its events refer to them);
 * the cases it changes are updated once, after the last chunk, as they stand then: a case the input's
 * events reach in several chunks used to be written again by each. Resolves once every statement has run;
 * on a failure, only after every statement issued has settled (none still queued when the caller rolls
 * back), with the first failure.
 */
export async function casesOfBatch(
  trx: Transaction<Database>,
  deps: InTransactionDeps,
  input: BatchInput,
): Promise<BatchResult> {
  const batch = new CaseBatch(trx, deps, input);
  await batch.prepare();
  let writing: Promise<void> = Promise.resolve();
  let failed = false;
  try {
    for (let i = 0; i < input.items.length && !failed; i += EVENTS_PER_CHUNK) {
      await batch.decide(input.items.slice(i, i + EVENTS_PER_CHUNK));
      const rows = batch.take();
      writing = writing.then(() => batch.write(rows));
      // Seen at once (and never reported as unhandled): the chunks still to decide are not worth deciding.
      writing.catch(() => {
        failed = true;
      });
    }
    if (!failed) input.onDecided?.();
    writing = writing.then(() => batch.saveCases());
  } catch (error) {
    await writing.catch(() => undefined);
    throw error;
  }
  await writing;
  return { eventIds: batch.eventIds, cases: batch.records };
}

/** What one decided chunk writes: the cases it opened (as they stand after it), events, actions, due steps and audit. */
interface ChunkRows {
  readonly inserted: readonly CaseRecord[];
  readonly events: ReadonlyArray<NewCaseEvent & { id: number }>;
  readonly slots: readonly Slot[];
  readonly actions: ReadonlyArray<{ input: EnqueueActionInput; action: PlannedAction; record: CaseRecord }>;
  readonly steps: readonly ScheduleStepInput[];
}

class CaseBatch {
  readonly eventIds = new Map<object, number>();
  private readonly cases = new Map<number, CaseRecord>();
  readonly records: ReadonlyMap<number, CaseRecord> = this.cases;
  private readonly candidates = new Map<string, CorrelationCandidate[]>();
  private counts = new Map<string, number>();
  private pendingDue = new Map<string, number[]>();
  private caseIds: number[] = [];
  // The chunk being decided (`take` hands them over to its write and starts the next).
  private opened = new Set<number>();
  private touched = new Set<number>();
  /** Cases changed by a chunk already taken and not opened by it: updated once, after the last chunk. */
  private readonly unsaved = new Set<number>();
  /** The states of the cases read (`prepare`) as the store holds them: a state left as it was is not written again. */
  private readonly readStates = new Map<number, CaseState>();
  private events: Array<NewCaseEvent & { id: number }> = [];
  private slots: Slot[] = [];
  private actions: Array<{ input: EnqueueActionInput; action: PlannedAction; record: CaseRecord }> = [];
  private steps: ScheduleStepInput[] = [];
  private readonly violations: CaseBatchItem[];

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly deps: InTransactionDeps,
    private readonly input: BatchInput,
  ) {
    this.violations = input.items.filter((i): i is CaseBatchItem => i.kind === 'violation');
  }

  /** The locks and reads of the whole input: a handful of statements, whatever its size. */
  async prepare(): Promise<void> {
    const { trx } = this;
    const keys = new Map<string, { serviceId: number; clauseId: string }>();
    const pairs = new Map<string, { customerId: number; clauseId: string }>();
    for (const v of this.violations) {
      const { customer, service } = ours(v.attributed);
      const clauseId = v.judgement.primary.id;
      keys.set(`${service.id}\n${clauseId}`, { serviceId: service.id, clauseId });
      pairs.set(`${customer.id}\n${clauseId}`, { customerId: customer.id, clauseId });
    }
    await lockCorrelations(trx, [...keys.values()]);
    const keyList = [...keys.values()];
    for (let i = 0; i < keyList.length; i += KEYS_PER_READ) {
      for (const record of await openCasesFor(trx, keyList.slice(i, i + KEYS_PER_READ), this.input.known)) {
        this.cases.set(record.id, record);
        this.readStates.set(record.id, record.state);
        this.candidatesOf(record.serviceId, record.clauseId).push(candidateOf(record));
      }
    }
    const pairList = [...pairs.values()];
    for (let i = 0; i < pairList.length; i += KEYS_PER_READ) {
      const counts = await caseCounts(trx, pairList.slice(i, i + KEYS_PER_READ));
      for (const [key, n] of counts) this.counts.set(key, n);
    }
    this.pendingDue = await pendingDueTimes(trx, [...this.cases.keys()].map(caseSubject), CASE_STEP_KIND);
    const ids = await reserveIds(trx, 'case_events', this.input.items.length);
    for (const [i, item] of this.input.items.entries()) this.eventIds.set(item, ids[i]!);
    this.caseIds = await reserveIds(trx, 'cases', this.opensExpected());
  }

  /** A chunk's events in order, as the per-event path would take them, against the in-memory cases. */
  async decide(items: ReadonlyArray<RejectedItem | CaseBatchItem>): Promise<void> {
    const { reportId, now } = this.input;
    for (const [i, item] of items.entries()) {
      if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
      const eventId = this.eventIds.get(item)!;
      if (item.kind === 'violation') {
        await this.intoCase(item, eventId);
        continue;
      }
      this.events.push({
        id: eventId,
        reportId,
        caseId: null,
        fingerprint: item.fingerprint,
        event: item.event,
        eventTime: item.eventTime,
        ...item.ids,
        verdict: item.verdict,
        reason: item.reason,
        at: now,
      });
      this.slots.push({
        at: now,
        actor: ACTOR,
        kind: 'judgement',
        subject: `report:${reportId}`,
        payload: {
          report: reportId,
          event: eventId,
          fingerprint: item.fingerprint,
          verdict: item.verdict,
          reason: item.reason,
          eventTime: item.eventTime.toISOString(),
          ...item.audit,
        },
      });
    }
  }

  /** The chunk just decided, for its write; the next chunk starts empty. */
  take(): ChunkRows {
    // The cases it opened as they stand now (records are never changed in place: a later chunk that touches
    // one again replaces its record, and the case is then updated with the others at the end).
    const inserted: CaseRecord[] = [];
    for (const id of this.touched) {
      if (this.opened.has(id)) inserted.push(this.cases.get(id)!);
      else this.unsaved.add(id);
    }
    const rows: ChunkRows = {
      inserted,
      events: this.events,
      slots: this.slots,
      actions: this.actions,
      steps: this.steps,
    };
    this.opened = new Set();
    this.touched = new Set();
    this.events = [];
    this.slots = [];
    this.actions = [];
    this.steps = [];
    return rows;
  }

  /** The changed cases, once each, as they stand after the last chunk. */
  saveCases(): Promise<void> {
    const records = [...this.unsaved].map((id) => this.cases.get(id)!);
    const stateStored = new Set<number>();
    for (const record of records) {
      const read = this.readStates.get(record.id);
      if (read && sameCaseState(record.state, read)) stateStored.add(record.id);
    }
    return saveCases(this.trx, records, stateStored);
  }

  /** A chunk's rows, then its audit entries in the order the per-event path appends them. */
  async write(chunk: ChunkRows): Promise<void> {
    const { trx } = this;
    // An outbox key or step key already used (a repeat, or an earlier chunk's) writes nothing, as
    // enqueueAction/scheduleStep.
    const usedActions = await existingActionKeys(
      trx,
      chunk.actions.map((a) => a.input.idempotencyKey),
    );
    const usedSteps = await existingStepKeys(
      trx,
      chunk.steps.map((s) => s.idempotencyKey),
    );
    const newActions = chunk.actions.map((a) => {
      const fresh = !usedActions.has(a.input.idempotencyKey);
      usedActions.add(a.input.idempotencyKey);
      return fresh;
    });
    const newSteps = chunk.steps.map((s) => {
      const fresh = !usedSteps.has(s.idempotencyKey);
      usedSteps.add(s.idempotencyKey);
      return fresh;
    });
    const actionIds = await reserveIds(trx, 'outbox_actions', newActions.filter(Boolean).length);
    const stepIds = await reserveIds(trx, 'scheduled_steps', newSteps.filter(Boolean).length);

    // From here on each statement is issued without waiting for the one before (settleInOrder): the
    // transaction runs them one at a time in this order, and the JavaScript that builds the next one (its
    // rows' JSON; the audit chain's hashes) runs while the store executes the last. Cases come first (the
    // events, messages and the audit trigger refer to them), audit entries last, as before.
    const writes: Array<Promise<unknown>> = [];
    try {
      writes.push(insertCases(trx, chunk.inserted), insertCaseEvents(trx, chunk.events));

      const actionInputs: Array<EnqueueActionInput & { id: number }> = [];
      const messages: NewCaseMessage[] = [];
      const actionAt = new Map<number, number>();
      for (const [i, a] of chunk.actions.entries()) {
        if (!newActions[i]) continue;
        actionAt.set(i, actionInputs.length);
        actionInputs.push({ ...a.input, id: actionIds[actionInputs.length]! });
        const message = noticeMessageOf(this.deps, a.record, a.action, this.input.now);
        if (message) messages.push(message);
      }
      const actionRows = newActionRows(actionInputs);
      writes.push(insertActionRows(trx, actionRows), addCaseMessages(trx, messages));
      const stepInputs: Array<ScheduleStepInput & { id: number }> = [];
      const stepAt = new Map<number, number>();
      for (const [i, s] of chunk.steps.entries()) {
        if (!newSteps[i]) continue;
        stepAt.set(i, stepInputs.length);
        stepInputs.push({ ...s, id: stepIds[stepInputs.length]! });
      }
      const stepRows = newStepRows(stepInputs);
      writes.push(insertStepRows(trx, stepRows));

      const entries: AuditEntryInput[] = [];
      for (const slot of chunk.slots) {
        if ('action' in slot) {
          const at = actionAt.get(slot.action);
          if (at !== undefined) entries.push(actionRows.entries[at]!);
        } else if ('step' in slot) {
          const at = stepAt.get(slot.step);
          if (at !== undefined) entries.push(stepRows.entries[at]!);
        } else entries.push(slot);
      }
      writes.push(appendAuditEntries(trx, entries));
    } catch (error) {
      // Thrown while issuing (an invalid row): the statements already issued run to their end first, so
      // none is still queued when the caller rolls back.
      await Promise.allSettled(writes);
      throw error;
    }
    await settleInOrder(writes);
  }

  /** Opens a case or joins one, runs the engine, and records the event and its judgement on the case. */
  private async intoCase(item: CaseBatchItem, eventId: number): Promise<void> {
    const { deps } = this;
    const { reportId, now } = this.input;
    const { event, fingerprint, eventTime, judgement, policy, attributed } = item;
    const { customer, service, assignment } = ours(attributed);
    const clause = judgement.primary;
    const windowMs = durationMs(policy.terms.enforcement.case_window);
    const candidates = this.candidatesOf(service.id, clause.id);
    const correlation = correlateEvent(
      { serviceId: service.id, clauseId: clause.id, eventTime, fingerprint },
      { cases: candidates, known: new Map(), windowMs },
    );
    // A spamvertising case is about the promoted site: the sender's address is someone else's network.
    const { addresses, urls } = caseSubjectsOf(event, attributed.via, attributed.attribution);

    let record: CaseRecord;
    let state: CaseState;
    let update: Partial<Pick<CaseRecord, 'firstEventAt' | 'lastEventAt' | 'windowEndsAt'>> = {};
    if (correlation.kind === 'join') {
      record = this.cases.get(correlation.caseId)!;
      // A new state around the parts the event changes (no deep copy: the record's state is never changed
      // in place, and the engine copies what it is given before it works on it).
      const before = record.state;
      state = {
        ...before,
        subjects: {
          addresses: [...new Set([...before.subjects.addresses, ...addresses])],
          urls: [...new Set([...before.subjects.urls, ...urls])],
        },
        flags: { ...before.flags, endangering: before.flags.endangering || judgement.endangering },
      };
      const first = Math.min(record.firstEventAt.getTime(), eventTime.getTime());
      const last = Math.max(record.lastEventAt.getTime(), eventTime.getTime());
      const casePolicy = policyOfCase(deps, record);
      update = {
        firstEventAt: new Date(first),
        lastEventAt: new Date(last),
        windowEndsAt: windowEndsAt(new Date(last), durationMs(casePolicy.terms.enforcement.case_window)),
      };
    } else {
      const countKey = `${customer.id}\n${clause.id}`;
      const repeat = this.counts.get(countKey) ?? 0;
      this.counts.set(countKey, repeat + 1);
      const id = this.caseIds.shift() ?? (await reserveIds(this.trx, 'cases', 1))[0]!;
      const opened = stored(
        openCaseState({
          caseId: caseNumberOf(id),
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
      );
      record = {
        id,
        ref: caseRefOf(id),
        providerId: policy.provider.id,
        policyVersion: policy.version,
        customerId: customer.id,
        customerRef: customer.ref,
        serviceId: service.id,
        serviceRef: service.ref,
        clauseId: clause.id,
        severity: clause.severity,
        state: opened,
        status: opened.status,
        repeatCount: repeat,
        openedAt: now,
        firstEventAt: eventTime,
        lastEventAt: eventTime,
        windowEndsAt: windowEndsAt(eventTime, windowMs),
        dueAt: null,
        assignedTo: null,
        mergedInto: null,
        version: 1,
        updatedAt: now,
      };
      state = record.state;
      this.opened.add(id);
      candidates.push(candidateOf(record));
      this.slots.push({
        at: now,
        actor: ACTOR,
        kind: 'case.opened',
        subject: caseSubject(id),
        payload: {
          case: record.ref,
          policy: `${policy.provider.id} ${policy.version}`,
          customer: customer.ref,
          service: service.ref,
          clause: clause.id,
          severity: clause.severity,
          repeat,
          report: reportId,
        },
      });
    }
    item.caseId = record.id;
    item.opened = correlation.kind !== 'join';

    this.events.push({
      id: eventId,
      reportId,
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
    this.slots.push({
      at: now,
      actor: ACTOR,
      kind: 'judgement',
      subject: caseSubject(record.id),
      payload: {
        report: reportId,
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
        // The case the event went into and how: this entry is the event's one record in the case's trail
        // (a separate `case.joined` entry for each joining event used to say it again, half of a feed
        // report's audit rows; an opening event's case has its `case.opened` entry just before).
        case: record.ref,
        outcome: item.opened ? 'opened' : 'joined',
      },
    });
    this.transition(record, state, update, item.opened ? 'opened' : 'event', eventId);
  }

  /** applyCaseTransition (case-transition.ts) on the in-memory case: the same engine run and records. */
  private transition(
    record: CaseRecord,
    state: CaseState,
    update: Partial<Pick<CaseRecord, 'firstEventAt' | 'lastEventAt' | 'windowEndsAt'>>,
    cause: string,
    eventId: number,
  ): void {
    const { now } = this.input;
    const result = nextStep(state, policyOfCase(this.deps, record), now);
    // The engine's own state, not checked again here: it made it from a checked state, on a copy that shares
    // nothing with its input (ladder-engine.ts `nextStep`), and nothing changes it afterwards. The case
    // writes check it (`checkedCaseState`) once, when the case is written. Checking it here, per event,
    // was a tenth of the ingest's allocations on a 100,000-row report (600 of 6,000 MiB).
    const next = result.state;
    const saved: CaseRecord = {
      ...record,
      ...update,
      state: next,
      status: next.status,
      version: record.version + 1,
      updatedAt: now,
      dueAt: result.due ?? null,
    };
    this.cases.set(saved.id, saved);
    this.touched.add(saved.id);
    const candidates = this.candidatesOf(saved.serviceId, saved.clauseId);
    const at = candidates.findIndex((c) => c.id === saved.id);
    candidates[at] = candidateOf(saved);

    for (const action of result.actions) {
      this.slots.push({ action: this.actions.length });
      this.actions.push({
        action,
        record: saved,
        input: {
          at: now,
          kind: action.kind,
          idempotencyKey: action.idempotencyKey,
          payload: action.payload,
          caseId: saved.id,
          actor: ACTOR,
        },
      });
    }
    const subject = caseSubject(saved.id);
    const pending = this.pendingDue.get(subject) ?? [];
    const step = dueStepOf(saved, result.due, now, ACTOR, pending);
    if (step) {
      this.slots.push({ step: this.steps.length });
      this.steps.push(step);
      this.pendingDue.set(subject, [...pending, step.dueAt.getTime()]);
    }
    // A joining event the engine answers with nothing — the same status, no action or proposal, the same
    // due time — leaves no `case.state` entry: its `judgement` entry records it (and the case it joined). Every
    // such run used to write one saying nothing happened: a third of a feed report's audit rows, and as many
    // lines in a busy case's timeline.
    const quiet =
      cause === 'event' &&
      next.status === record.status &&
      result.actions.length === 0 &&
      result.proposed.length === 0 &&
      (result.due?.getTime() ?? null) === (record.dueAt?.getTime() ?? null);
    if (quiet) return;
    this.slots.push(
      caseStateEntry(record, result, now, {
        actor: ACTOR,
        cause,
        audit: { report: this.input.reportId, event: eventId },
      }),
    );
  }

  private candidatesOf(serviceId: number, clauseId: string): CorrelationCandidate[] {
    const key = `${serviceId}\n${clauseId}`;
    let list = this.candidates.get(key);
    if (!list) {
      list = [];
      this.candidates.set(key, list);
    }
    return list;
  }

  /**
   * How many cases the chunk opens, by correlating it against copies of the candidates (an opened case
   * is open; a joined one widens its window): the case ids to take in one statement. Should the engine
   * close a case within the chunk and more be opened, `intoCase` takes the missing ids one by one; ids
   * taken and not used are gaps, as a rolled-back insert leaves.
   */
  private opensExpected(): number {
    const copies = new Map([...this.candidates].map(([k, v]) => [k, v.map((c) => ({ ...c }))]));
    let opens = 0;
    for (const v of this.violations) {
      const serviceId = ours(v.attributed).service.id;
      const clauseId = v.judgement.primary.id;
      const key = `${serviceId}\n${clauseId}`;
      const list = copies.get(key) ?? [];
      copies.set(key, list);
      const windowMs = durationMs(v.policy.terms.enforcement.case_window);
      const c = correlateEvent(
        { serviceId, clauseId, eventTime: v.eventTime, fingerprint: v.fingerprint },
        { cases: list, known: new Map(), windowMs },
      );
      if (c.kind === 'join') {
        const hit = list.find((x) => x.id === c.caseId)!;
        const t = v.eventTime.getTime();
        Object.assign(hit, {
          firstEventAt: new Date(Math.min(hit.firstEventAt.getTime(), t)),
          lastEventAt: new Date(Math.max(hit.lastEventAt.getTime(), t)),
        });
        continue;
      }
      opens += 1;
      list.push({
        id: -opens,
        serviceId,
        clauseId,
        status: 'open',
        firstEventAt: v.eventTime,
        lastEventAt: v.eventTime,
        mergedInto: null,
      });
    }
    return opens;
  }
}

/** A clause the policy marks "subject to review" opens its cases on hold, waiting for an analyst. */
export function reviewOf(clause: { id: string; subject_to_review: boolean }): { note: string } | undefined {
  return clause.subject_to_review
    ? { note: `clause ${clause.id} is subject to review: an analyst decides before any notice` }
    : undefined;
}

function ours(attributed: EventAttribution): Extract<Attribution, { ours: true }> {
  return attributed.attribution as Extract<Attribution, { ours: true }>;
}

/**
 * A new case's state as the store would give it back: checked against `caseStateSchema` (what saveCase
 * checks before writing, and getCase after reading). The result is never changed afterwards (a later event
 * of the case works on a copy), so insertCases and saveCases write it without checking it again.
 */
function stored(state: CaseState): CaseState {
  return parseCaseState(state);
}

function candidateOf(c: CaseRecord): CorrelationCandidate {
  return {
    id: c.id,
    serviceId: c.serviceId,
    clauseId: c.clauseId,
    status: c.status,
    firstEventAt: c.firstEventAt,
    lastEventAt: c.lastEventAt,
    mergedInto: c.mergedInto,
  };
}
