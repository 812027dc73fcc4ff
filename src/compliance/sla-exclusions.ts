import type { Kysely } from 'kysely';
import { listAudit } from '../audit/audit-log.js';
import { getCase } from '../cases/case-repository.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';

/**
 * SLA-credit exclusion (Secure Packet §11: "No credit shall be available under any Service Level Agreement
 * for interruptions of Services resulting from an AUP breach"): per customer, the intervals in a period
 * during which a service was interrupted by AUP enforcement, for billing to leave out of SLA credits.
 *
 * The intervals come from the audit log's `case.state` entries (every transition that changes a case's
 * status writes one, with `from` and `to`; a joining event that changes nothing writes none): an interruption starts when a case enters `suspended` or `terminated` and ends when it
 * leaves both (reinstated, cured, dismissed). Each is clipped to the period; one still running at the
 * period's end is reported up to the end, marked `ongoing`.
 */

const INTERRUPTED = new Set(['suspended', 'terminated']);

export interface Interruption {
  readonly customer: string;
  readonly service: string;
  readonly case: string;
  readonly start: Date;
  readonly end: Date;
  readonly ongoing: boolean;
  readonly hours: number;
}

export interface SlaExclusionReport {
  readonly from: Date;
  readonly to: Date;
  readonly customers: readonly {
    readonly customer: string;
    readonly hours: number;
    readonly interruptions: readonly Interruption[];
  }[];
}

export async function slaExclusions(
  db: Kysely<Database>,
  period: { from: Date; to: Date },
): Promise<SlaExclusionReport> {
  const { from, to } = period;
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from.getTime() >= to.getTime()) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the period needs from < to (ISO 8601 dates)');
  }
  // Raw intervals per case subject, in audit order (the chain's order is the order of the transitions).
  const open = new Map<string, Date>();
  const raw: { subject: string; start: Date; end: Date | null }[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await listAudit(db, { kind: 'case.state', afterSeq, limit: 5000 });
    for (const e of page) {
      if (e.at.getTime() > to.getTime()) continue;
      const p = e.payload as { from?: unknown; to?: unknown };
      const was = INTERRUPTED.has(String(p.from));
      const is = INTERRUPTED.has(String(p.to));
      if (!was && is && !open.has(e.subject)) open.set(e.subject, e.at);
      if (was && !is) {
        const start = open.get(e.subject);
        if (start) raw.push({ subject: e.subject, start, end: e.at });
        open.delete(e.subject);
      }
    }
    if (page.length < 5000) break;
    afterSeq = page.at(-1)!.seq;
  }
  for (const [subject, start] of open) raw.push({ subject, start, end: null });

  const byCustomer = new Map<string, Interruption[]>();
  const cases = new Map<string, { ref: string; customerRef: string; serviceRef: string } | undefined>();
  for (const r of raw) {
    const start = new Date(Math.max(r.start.getTime(), from.getTime()));
    const end = new Date(Math.min((r.end ?? to).getTime(), to.getTime()));
    if (end.getTime() <= start.getTime()) continue;
    const id = /^case:(\d+)$/.exec(r.subject)?.[1];
    if (!id) continue;
    if (!cases.has(id)) cases.set(id, await getCase(db, Number(id)));
    const c = cases.get(id);
    if (!c) continue;
    const list = byCustomer.get(c.customerRef) ?? [];
    list.push({
      customer: c.customerRef,
      service: c.serviceRef,
      case: c.ref,
      start,
      end,
      ongoing: r.end === null || r.end.getTime() > to.getTime(),
      hours: Math.round(((end.getTime() - start.getTime()) / 3_600_000) * 100) / 100,
    });
    byCustomer.set(c.customerRef, list);
  }
  const customers = [...byCustomer.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([customer, interruptions]) => {
      interruptions.sort((a, b) => a.start.getTime() - b.start.getTime() || a.case.localeCompare(b.case));
      const hours = Math.round(interruptions.reduce((s, i) => s + i.hours, 0) * 100) / 100;
      return { customer, hours, interruptions };
    });
  return { from, to, customers };
}

/** The report as CSV for billing: one row per interruption (RFC 4180 quoting). */
export function slaExclusionsCsv(report: SlaExclusionReport): string {
  const q = (v: string): string =>
    /[",\r\n]/.test(v) || /^[=+\-@]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const lines = ['customer,service,case,start,end,hours,ongoing'];
  for (const c of report.customers) {
    for (const i of c.interruptions) {
      lines.push(
        [
          q(i.customer),
          q(i.service),
          q(i.case),
          i.start.toISOString(),
          i.end.toISOString(),
          String(i.hours),
          String(i.ongoing),
        ].join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function slaExclusionsJson(report: SlaExclusionReport) {
  return {
    from: report.from.toISOString(),
    to: report.to.toISOString(),
    customers: report.customers.map((c) => ({
      customer: c.customer,
      hours: c.hours,
      interruptions: c.interruptions.map((i) => ({
        service: i.service,
        case: i.case,
        start: i.start.toISOString(),
        end: i.end.toISOString(),
        ongoing: i.ongoing,
        hours: i.hours,
      })),
    })),
  };
}
