import { type Kysely, sql, type Transaction } from 'kysely';
import type { IntakeEvent } from '../intake/event.js';
import type { ParsedReport } from '../intake/report.js';
import { insertJsonRows, type JsonRowColumns } from '../store/json-rows.js';
import type { Database } from '../store/schema.js';
import type { EventVerdict, ReportDisposition } from '../store/tables/cases.table.js';

/** Reports and their judged events (tables `reports`, `case_events`). */

type Db = Kysely<Database> | Transaction<Database>;

export async function insertReport(
  trx: Transaction<Database>,
  report: ParsedReport,
  options: { disposition: ReportDisposition; at: Date },
): Promise<number> {
  const row = await trx
    .insertInto('reports')
    .values({
      evidence_sha256: report.evidenceSha256,
      format: report.format,
      channel: report.channel,
      received_at: new Date(report.receivedAt),
      reporter: JSON.stringify(report.reporter),
      status: report.status,
      errors: JSON.stringify(report.errors),
      subject: report.subject ?? null,
      message_id: report.messageId ?? null,
      in_reply_to: JSON.stringify(report.inReplyTo ?? []),
      disposition: options.disposition,
      processed_at: options.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function setReportOutcome(
  trx: Transaction<Database>,
  id: number,
  outcome: {
    disposition?: ReportDisposition;
    caseId?: number | null;
    ackOutcome?: string | null;
    ackSuppressed?: string | null;
    /** A report processed in segments learns its parse status and errors only at its end. */
    parse?: { readonly status: ParsedReport['status']; readonly errors: ParsedReport['errors'] };
  },
): Promise<void> {
  await trx
    .updateTable('reports')
    .set({
      ...(outcome.parse === undefined
        ? {}
        : { status: outcome.parse.status, errors: JSON.stringify(outcome.parse.errors) }),
      ...(outcome.disposition === undefined ? {} : { disposition: outcome.disposition }),
      ...(outcome.caseId === undefined ? {} : { case_id: outcome.caseId }),
      ...(outcome.ackOutcome === undefined ? {} : { ack_outcome: outcome.ackOutcome }),
      ...(outcome.ackSuppressed === undefined ? {} : { ack_suppressed: outcome.ackSuppressed }),
    })
    .where('id', '=', id)
    .execute();
}

export interface StoredReport {
  readonly id: number;
  readonly evidenceSha256: string;
  readonly format: string;
  readonly channel: string;
  readonly receivedAt: Date;
  readonly reporter: unknown;
  readonly status: string;
  readonly subject: string | null;
  readonly messageId: string | null;
  readonly disposition: ReportDisposition;
  readonly caseId: number | null;
  readonly ackOutcome: string | null;
  readonly ackSuppressed: string | null;
}

export async function getReport(db: Db, id: number): Promise<StoredReport | undefined> {
  const r = await db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) return undefined;
  return {
    id: r.id,
    evidenceSha256: r.evidence_sha256,
    format: r.format,
    channel: r.channel,
    receivedAt: r.received_at,
    reporter: r.reporter,
    status: r.status,
    subject: r.subject,
    messageId: r.message_id,
    disposition: r.disposition,
    caseId: r.case_id,
    ackOutcome: r.ack_outcome,
    ackSuppressed: r.ack_suppressed,
  };
}

/** Which of these fingerprints are recorded already, and the case each went to. */
export async function knownFingerprints(
  db: Db,
  fingerprints: readonly string[],
): Promise<Map<string, number | null>> {
  const known = new Map<string, number | null>();
  // Chunked: a feed file can carry more events than one statement may have parameters.
  for (let i = 0; i < fingerprints.length; i += 5_000) {
    const rows = await db
      .selectFrom('case_events')
      .select(['fingerprint', 'case_id'])
      .where('fingerprint', 'in', fingerprints.slice(i, i + 5_000))
      .execute();
    for (const r of rows) known.set(r.fingerprint, r.case_id);
  }
  return known;
}

export interface NewCaseEvent {
  readonly reportId: number;
  readonly caseId: number | null;
  readonly fingerprint: string;
  readonly event: IntakeEvent;
  readonly eventTime: Date;
  readonly customerId?: number | undefined;
  readonly serviceId?: number | undefined;
  readonly assignmentId?: number | undefined;
  readonly policyVersion?: string | undefined;
  readonly verdict: EventVerdict;
  readonly clauseId?: string | undefined;
  readonly reason?: string | undefined;
  readonly at: Date;
}

export async function insertCaseEvent(trx: Transaction<Database>, e: NewCaseEvent): Promise<number> {
  const row = await trx
    .insertInto('case_events')
    .values({ ...caseEventRow(e), event: JSON.stringify(e.event) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Many events (ids taken with `reserveIds`, so audit entries could name them first) in multi-row
 * statements of 2,000: the rows `insertCaseEvent` one by one would write.
 */
export async function insertCaseEvents(
  trx: Transaction<Database>,
  events: ReadonlyArray<NewCaseEvent & { readonly id: number }>,
): Promise<void> {
  const rows = events.map((e) => ({ id: e.id, event: e.event, ...caseEventRow(e) }));
  await insertJsonRows(trx, 'case_events', CASE_EVENT_COLUMNS, rows, { overridingIds: true });
}

const CASE_EVENT_COLUMNS = {
  id: 'integer',
  report_id: 'integer',
  case_id: 'integer',
  fingerprint: 'text',
  event: 'jsonb',
  event_time: 'timestamptz',
  classification: 'text',
  identifier: 'text',
  source_ip: 'inet',
  source_fqdn: 'text',
  source_url: 'text',
  customer_id: 'integer',
  service_id: 'integer',
  assignment_id: 'integer',
  policy_version: 'text',
  verdict: 'text',
  clause_id: 'text',
  reason: 'text',
  created_at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

/** A case_events row but its id and `event` (the caller adds the event as JSON text or as a JSON value). */
function caseEventRow(e: NewCaseEvent) {
  const event = e.event;
  return {
    report_id: e.reportId,
    case_id: e.caseId,
    fingerprint: e.fingerprint,
    event_time: e.eventTime,
    classification: `${event['classification.taxonomy']}/${event['classification.type']}`,
    identifier: event['classification.identifier'] ?? null,
    source_ip: event['source.ip'] ?? null,
    source_fqdn: event['source.fqdn'] ?? null,
    source_url: event['source.url'] ?? null,
    customer_id: e.customerId ?? null,
    service_id: e.serviceId ?? null,
    assignment_id: e.assignmentId ?? null,
    policy_version: e.policyVersion ?? null,
    verdict: e.verdict,
    clause_id: e.clauseId ?? null,
    reason: e.reason ?? null,
    created_at: e.at,
  };
}

export interface StoredCaseEvent {
  readonly id: number;
  readonly reportId: number;
  readonly caseId: number | null;
  readonly fingerprint: string;
  readonly event: IntakeEvent;
  readonly eventTime: Date;
  readonly classification: string;
  readonly sourceIp: string | null;
  readonly sourceFqdn: string | null;
  readonly sourceUrl: string | null;
  readonly verdict: EventVerdict;
  readonly clauseId: string | null;
  readonly reason: string | null;
}

export async function listCaseEvents(
  db: Db,
  query: { caseId?: number; reportId?: number; ids?: readonly number[] },
): Promise<StoredCaseEvent[]> {
  let q = db.selectFrom('case_events').selectAll().orderBy('event_time').orderBy('id');
  if (query.caseId !== undefined) q = q.where('case_id', '=', query.caseId);
  if (query.reportId !== undefined) q = q.where('report_id', '=', query.reportId);
  if (query.ids !== undefined) {
    if (query.ids.length === 0) return [];
    q = q.where('id', 'in', [...query.ids]);
  }
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    reportId: r.report_id,
    caseId: r.case_id,
    fingerprint: r.fingerprint,
    event: r.event as IntakeEvent,
    eventTime: r.event_time,
    classification: r.classification,
    sourceIp: r.source_ip,
    sourceFqdn: r.source_fqdn,
    sourceUrl: r.source_url,
    verdict: r.verdict,
    clauseId: r.clause_id,
    reason: r.reason,
  }));
}

/** Moves events to another case (merge, split); returns how many moved. */
export async function moveCaseEvents(
  trx: Transaction<Database>,
  fromCaseId: number,
  toCaseId: number,
  eventIds?: readonly number[],
): Promise<number> {
  let q = trx.updateTable('case_events').set({ case_id: toCaseId }).where('case_id', '=', fromCaseId);
  if (eventIds !== undefined) {
    if (eventIds.length === 0) return 0;
    q = q.where('id', 'in', [...eventIds]);
  }
  const rows = await q.returning('id').execute();
  return rows.length;
}

/** Reporters' addresses of a case's events (the reports they came in), lower-cased. */
export async function reporterAddressesOfCase(db: Db, caseId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('reports')
    .select('reporter')
    .where('id', 'in', (eb) => eb.selectFrom('case_events').select('report_id').where('case_id', '=', caseId))
    .execute();
  const out = new Set<string>();
  for (const r of rows) {
    const email = (r.reporter as { email?: unknown } | null)?.email;
    if (typeof email === 'string' && email.includes('@')) out.add(email.trim().toLowerCase());
  }
  return [...out];
}

/**
 * Puts events that opened no case on a case (an analyst's decision from the triage queue or a case opened
 * by hand): the given events, else every case-less event of the given reports. A report with no event
 * records the case on the report itself. Returns the events attached.
 */
export async function attachToCase(
  trx: Transaction<Database>,
  caseId: number,
  target: { reportIds?: readonly number[]; eventIds?: readonly number[] },
): Promise<number[]> {
  const reportIds = [...new Set(target.reportIds ?? [])];
  const eventIds = [...new Set(target.eventIds ?? [])];
  const attached: number[] = [];
  if (eventIds.length > 0) {
    const rows = await trx
      .updateTable('case_events')
      .set({ case_id: caseId })
      .where('id', 'in', eventIds)
      .where('case_id', 'is', null)
      .returning('id')
      .execute();
    attached.push(...rows.map((r) => r.id));
  } else if (reportIds.length > 0) {
    const rows = await trx
      .updateTable('case_events')
      .set({ case_id: caseId })
      .where('report_id', 'in', reportIds)
      .where('case_id', 'is', null)
      .returning('id')
      .execute();
    attached.push(...rows.map((r) => r.id));
  }
  if (reportIds.length > 0) {
    await trx
      .updateTable('reports')
      .set({ case_id: caseId })
      .where('id', 'in', reportIds)
      .where('case_id', 'is', null)
      .execute();
  }
  return attached;
}

/** Which of these report ids exist. */
export async function existingReportIds(db: Db, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('reports')
    .select('id')
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** Changes the class of case-less events (an analyst's classification from the triage queue). */
export async function reclassifyEvents(
  trx: Transaction<Database>,
  eventIds: readonly number[],
  classification: { taxonomy: string; type: string },
): Promise<void> {
  if (eventIds.length === 0) return;
  await trx
    .updateTable('case_events')
    .set({
      event: sql`jsonb_set(jsonb_set(event, '{classification.taxonomy}', to_jsonb(${classification.taxonomy}::text)), '{classification.type}', to_jsonb(${classification.type}::text))`,
      classification: sql`${`${classification.taxonomy}/${classification.type}`}::text`,
    })
    .where('id', 'in', [...eventIds])
    .where('case_id', 'is', null)
    .execute();
}
