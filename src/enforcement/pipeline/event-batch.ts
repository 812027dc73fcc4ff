import type { Transaction } from 'kysely';
import type { Attribution } from '../../attribution/attribute.js';
import { caseRefOf } from '../../cases/case-ref.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import type { ParsedReport } from '../../intake/report.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { Database } from '../../store/schema.js';
import { type CaseBatchItem, casesOfBatch } from './case-batch.js';
import { type Decision, JudgedEvents } from './event-judging.js';
import type { EventOutcome, ReportDeps } from './pipeline-deps.js';
import { TriageCollector } from './report-outcome.js';

/**
 * A report's events, set-based: all of them (a report, or a segment of a big one) are attributed and judged
 * in memory (pure, as `aupdesk simulate` does), then correlated, put into cases and written a chunk at a
 * time with a few multi-row statements (case-batch.ts) instead of about a dozen statements per event. The
 * decisions, the rows, their ids and the audit chain are those of judging the events one by one in order:
 * the per-event rules are applied in the same order against an in-memory copy of what the earlier events of
 * the report wrote.
 */

/** The cases and verdicts of a report's earlier segments (kept in the inbox row's progress between them). */
export interface EarlierSegments {
  readonly opened: readonly number[];
  readonly joined: readonly number[];
  readonly verdicts: readonly string[];
  readonly details: ReadonlyArray<readonly [string, string]>;
}

export class EventBatchRun {
  readonly outcomes: EventOutcome[] = [];
  readonly triage = new TriageCollector();
  readonly opened = new Map<number, string>();
  readonly joined = new Map<number, string>();
  private readonly verdicts = new Set<string>();
  private readonly details = new Map<string, string>();
  /** Fingerprints recorded before this run's events, or by them: an event with one is a duplicate. */
  private known = new Map<string, number | null>();
  /** Violations of this report not yet written, by fingerprint (a repeated event in one chunk). */
  private readonly pending = new Map<string, CaseBatchItem>();
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

  /**
   * Decides and writes the events. `ahead`: the events judged before this transaction began (a segment
   * judged while the one before it committed: `judgeSegmentAhead`), with `committed`, the fingerprints that
   * segment recorded, which the reads made for `ahead` could not see yet. Without them the events are judged
   * here, reading through the transaction. `onDecided`: called once every event is decided and only the
   * writes are left (`casesOfBatch`).
   */
  async judgeEvents(
    ahead?:
      | { readonly judged: JudgedEvents; readonly committed: ReadonlyMap<string, number | null> }
      | undefined,
    onDecided?: () => void,
  ): Promise<void> {
    const judged =
      ahead?.judged ??
      (await JudgedEvents.judge(this.trx, this.deps, {
        report: this.report,
        firstIndex: this.segment.firstIndex ?? 0,
        fingerprints: this.segment.fingerprints,
        snapshot: this.snapshot,
        now: this.now,
      }));
    this.known = new Map(judged.known);
    if (ahead) {
      for (const w of judged.work) {
        const caseId = ahead.committed.get(w.fingerprint);
        if (caseId !== undefined) this.known.set(w.fingerprint, caseId);
      }
    }
    const decisions: Decision[] = [];
    for (const [i, w] of judged.work.entries()) {
      // An event seen before — recorded, or earlier in this report (the same line twice) — is a duplicate.
      const seen = this.known.has(w.fingerprint) || this.pending.has(w.fingerprint);
      const decision = seen ? this.duplicateOf(w.index, w.fingerprint) : judged.decisions[i];
      if (!decision) throw new Error(`unreachable: event ${w.index} was neither judged nor seen before`);
      decisions.push(decision);
      if (decision.kind === 'reject') this.known.set(w.fingerprint, null);
      else if (decision.kind === 'violation') this.pending.set(w.fingerprint, decision);
    }

    const written = await casesOfBatch(this.trx, this.deps, {
      reportId: this.reportId,
      now: this.now,
      items: decisions.filter((d) => d.kind === 'reject' || d.kind === 'violation'),
      known: this.knownCases,
      onDecided,
    });
    this.cases = written.cases;
    for (const d of decisions) this.recordOutcome(d, written.eventIds);
    for (const d of decisions) {
      if (d.kind !== 'violation') continue;
      this.known.set(d.fingerprint, d.caseId!);
      this.pending.delete(d.fingerprint);
    }
  }

  /** The fingerprints of this run's events and what they came to, once `judgeEvents` is done: what a segment
   * judged ahead of this one's commit could not read yet. */
  recorded(): ReadonlyMap<string, number | null> {
    return this.known;
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
}
