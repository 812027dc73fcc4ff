import type { Kysely } from 'kysely';
import { inboxItemStatuses } from '../../intake/inbox/inbox-query.js';
import type { Database } from '../../store/schema.js';
import { caseRefOf } from '../case-ref.js';
import { survivingCase } from '../case-repository.js';
import { getReport, listCaseEvents } from '../report-repository.js';

/**
 * What the reporter may learn about their own report: received, processed, and the case reference(s) it
 * went to, or in one sentence why it did not open a case. Nothing about the customer. Served by the public
 * report page and printed by the demo; the inbox row comes from intake's read side (inbox-query.ts).
 */
export interface ReportStatusView {
  readonly inboxId: string;
  readonly receivedAt: Date;
  readonly state: 'pending' | 'processed' | 'failed';
  readonly caseRefs: readonly string[];
  /** Why no case, when processed without one. */
  readonly note?: string | undefined;
  /** The inbox route: `privacy` for a request about a child's data, which is a request, not a complaint. */
  readonly route?: string | undefined;
  /** The reference another workflow recorded it under (privacy: PRIV-000001), instead of a case. */
  readonly recordedAs?: { readonly workflow: string; readonly ref: string } | undefined;
}

const verdictNotes: Record<string, string> = {
  'no-clause': 'the behaviour reported is not covered by the acceptable use policy',
  'rejected-anonymous': 'the provider does not act on anonymous complaints',
  'too-old': 'the incident is too old to act on',
  'not-ours': 'the address or domain reported is not on this network (or was not at that time)',
  'no-policy': 'no policy applied to the service at that time',
};

export async function reportStatusOf(
  db: Kysely<Database>,
  inboxId: string,
): Promise<ReportStatusView | undefined> {
  if (!/^[1-9][0-9]{0,17}$/.test(inboxId)) return undefined;
  const row = (await inboxItemStatuses(db, [inboxId])).get(inboxId);
  if (!row) return undefined;
  const base = { inboxId: row.id, receivedAt: row.receivedAt, ...(row.route ? { route: row.route } : {}) };
  if (row.status === 'pending') return { ...base, state: 'pending', caseRefs: [] };
  if (row.status === 'failed') {
    return { ...base, state: 'failed', caseRefs: [], note: 'the report is kept for an analyst to look at' };
  }
  // Recorded by its own workflow (a privacy request): its reference is the answer, not a missing case.
  if (row.recordedAs) return { ...base, state: 'processed', caseRefs: [], recordedAs: row.recordedAs };
  if (row.reportId === null) {
    return {
      ...base,
      state: 'processed',
      caseRefs: [],
      note:
        row.reportStatus === 'unparsed'
          ? 'we could not find an address, URL or domain to act on; the report is kept for an analyst'
          : 'the report is recorded',
    };
  }
  const [report, events] = await Promise.all([
    getReport(db, row.reportId),
    listCaseEvents(db, { reportId: row.reportId }),
  ]);
  const caseIds = new Set<number>();
  if (report?.caseId) caseIds.add(report.caseId);
  for (const e of events) if (e.caseId !== null) caseIds.add(e.caseId);
  const refs: string[] = [];
  for (const id of [...caseIds].sort((a, b) => a - b)) {
    // A merged case answers with the case it now lives in.
    const surviving = await survivingCase(db, id);
    const ref = caseRefOf(surviving?.id ?? id);
    if (!refs.includes(ref)) refs.push(ref);
  }
  if (refs.length > 0) return { ...base, state: 'processed', caseRefs: refs };
  const verdicts = [...new Set(events.map((e) => e.verdict))];
  const note =
    events.length === 0
      ? 'we could not find an address, URL or domain to act on; the report is kept for an analyst'
      : verdicts.map((v) => verdictNotes[v] ?? v).join('; ');
  return { ...base, state: 'processed', caseRefs: [], note };
}
