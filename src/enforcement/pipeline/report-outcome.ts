import type { Transaction } from 'kysely';
import { addOrExtendTriageItem, addTriageItem } from '../../cases/triage-repository.js';
import type { IntakeEvent } from '../../intake/event.js';
import type { ParsedReport } from '../../intake/report.js';
import type { Database } from '../../store/schema.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';
import type { TriageReason } from '../../store/tables/triage.table.js';
import { classOf } from './triage-route.js';

/**
 * What a report came to, as the reports API filters it, and the triage items it leaves: pure decisions plus
 * one small writer, kept out of process-report.ts so the pipeline only says *that* an event went nowhere.
 */

export const reportOutcomes = [
  'case-opened',
  'joined-case',
  'duplicate',
  'not-ours',
  'no-clause',
  'too-old',
  'rejected-anonymous',
  'unparsed',
  'failed',
  'triage',
] as const;
export type ReportOutcome = (typeof reportOutcomes)[number];

/** Event verdicts that leave the event for a person to decide (each becomes a triage item of its report). */
export const triageVerdicts: ReadonlySet<EventVerdict> = new Set<EventVerdict>([
  'no-clause',
  'no-policy',
  'not-ours',
  'low-confidence',
  'role-unknown',
  'victim-notice',
  'legal-request',
]);

/** The outcomes of a processed report, most decisive first. Pure. */
export function outcomesOf(input: {
  readonly disposition: string;
  readonly events: readonly { verdict: string; opened?: boolean }[];
  readonly triaged: boolean;
}): ReportOutcome[] {
  const out = new Set<ReportOutcome>();
  for (const e of input.events) {
    if (e.verdict === 'violation') out.add(e.opened ? 'case-opened' : 'joined-case');
    else if (e.verdict === 'victim-notice') out.add('not-ours');
    else if ((reportOutcomes as readonly string[]).includes(e.verdict)) out.add(e.verdict as ReportOutcome);
  }
  if (input.disposition === 'unparsed') out.add('unparsed');
  if (input.triaged) out.add('triage');
  return reportOutcomes.filter((o) => out.has(o));
}

/** A reason's item as the earlier segments of a report left it: its first event's reason, its event count. */
export interface TriageCarry {
  readonly detail: string;
  readonly count: number;
}

function countedDetail(detail: string, count: number): string {
  return count > 1 ? `${detail} (and ${count - 1} more event${count > 2 ? 's' : ''})` : detail;
}

interface Pending {
  readonly eventIds: number[];
  readonly detail: string;
  readonly bestGuess: string;
  readonly customerId: number | null;
  readonly serviceId: number | null;
}

/** Collects a report's events that go to triage, one item per reason, written at the end of the report. */
export class TriageCollector {
  private readonly pending = new Map<TriageReason, Pending>();

  add(
    verdict: EventVerdict,
    eventId: number,
    reason: string,
    event: IntakeEvent,
    ids: { customerId?: number | undefined; serviceId?: number | undefined },
  ): void {
    if (!triageVerdicts.has(verdict)) return;
    const key = verdict as TriageReason;
    const existing = this.pending.get(key);
    if (existing) {
      existing.eventIds.push(eventId);
      return;
    }
    this.pending.set(key, {
      eventIds: [eventId],
      detail: reason,
      bestGuess: classOf(event),
      customerId: ids.customerId ?? null,
      serviceId: ids.serviceId ?? null,
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * A segment's items, for a report processed in segments (report-segment.ts): each reason's events are
   * added to the report's item for it, whose detail names the first event's reason and counts them all.
   * `earlier` is what the segments before wrote (reason → first detail and event count); returns it updated.
   */
  async flushSegment(
    trx: Transaction<Database>,
    report: Pick<ParsedReport, 'channel' | 'receivedAt'>,
    reportId: number,
    earlier: ReadonlyMap<TriageReason, TriageCarry>,
    now: Date,
  ): Promise<Map<TriageReason, TriageCarry>> {
    const carried = new Map(earlier);
    for (const [reason, p] of this.pending) {
      const before = carried.get(reason);
      const detail = before?.detail ?? p.detail;
      const count = (before?.count ?? 0) + p.eventIds.length;
      carried.set(reason, { detail, count });
      await addOrExtendTriageItem(trx, {
        reportId,
        channel: report.channel,
        receivedAt: new Date(report.receivedAt),
        at: now,
        reason,
        detail: countedDetail(detail, count),
        eventIds: p.eventIds,
        bestGuess: p.bestGuess,
        customerId: p.customerId,
        serviceId: p.serviceId,
      });
    }
    this.pending.clear();
    return carried;
  }

  /** Writes the items (and one for an unparsed report); returns whether the report left anything in triage. */
  async flush(
    trx: Transaction<Database>,
    report: ParsedReport,
    reportId: number,
    disposition: string,
    now: Date,
  ): Promise<boolean> {
    const common = { reportId, channel: report.channel, receivedAt: new Date(report.receivedAt), at: now };
    if (disposition === 'unparsed') {
      const reasons = report.errors.map((e) => e.message).slice(0, 3);
      await addTriageItem(trx, {
        ...common,
        reason: 'unparsed',
        detail: reasons.join('; ') || `no event could be read from this ${report.format} report`,
      });
    }
    for (const [reason, p] of this.pending) {
      await addTriageItem(trx, {
        ...common,
        reason,
        detail: countedDetail(p.detail, p.eventIds.length),
        eventIds: p.eventIds,
        bestGuess: p.bestGuess,
        customerId: p.customerId,
        serviceId: p.serviceId,
      });
    }
    return disposition === 'unparsed' || this.pending.size > 0;
  }
}
