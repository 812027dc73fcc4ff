import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { isStaff, principalKey } from '../../accounts/principal.js';
import {
  findSubmissionByInbox,
  inboxRefsOf,
  recordSubmission,
} from '../../accounts/submission-repository.js';
import { caseRefOf } from '../../cases/case-ref.js';
import { caseRefsOfReports } from '../../cases/queries/case-search.js';
import { listCaseEvents, type StoredCaseEvent } from '../../cases/report-repository.js';
import { triageOfReports } from '../../cases/triage-repository.js';
import { type ReportOutcome, reportOutcomes } from '../../enforcement/pipeline/report-outcome.js';
import { AupError } from '../../errors.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import { type InboxReport, listInboxReports } from '../../intake/inbox/inbox-query.js';
import { channels } from '../../intake/report.js';
import { principalOf } from '../plugins/auth-plugin.js';
import { type ApiPluginOptions, errorResponses, iso, problemSchema, secured, typed } from './api-support.js';

/**
 * Report submission over HTTP: the raw body is stored as evidence and recorded in the intake inbox before
 * the `202` goes out (the inbox worker parses, attributes and judges it later, exactly as for mail). The
 * body is kept byte for byte: a JSON body is checked to be JSON (a syntax error is the client's to fix, so
 * it is refused with 400 and not stored) but never re-serialised.
 *
 * Accepted: `message/rfc822` (a complaint e-mail, ARF, X-ARF), `application/json` (XARF v4, an IntelMQ
 * event or an array of them), `application/x-ndjson` / `application/jsonl` (IntelMQ event JSON lines).
 */

const REPORT_TYPES = [
  'message/rfc822',
  'application/json',
  'application/x-ndjson',
  'application/jsonl',
] as const;

const reportSchema = z
  .object({
    id: z.string().describe('intake inbox id: what GET /reports/{id} answers for'),
    evidenceSha256: z.string(),
    channel: z.string(),
    contentType: z.string(),
    size: z.number().int(),
    submittedAt: z.string(),
    status: z.enum(['pending', 'done', 'failed', 'unknown']),
    reportStatus: z.string().nullable().describe('parsed, partial or unparsed, once processed'),
    format: z.string().nullable(),
    events: z.number().int().nullable(),
    cases: z.array(z.string()).describe('references of the cases the report contributed to'),
    reportId: z.number().int().nullable().describe('the processed report (triage items name it)'),
    outcomes: z.array(z.enum(reportOutcomes)).describe('what the report came to (the `outcome` filter)'),
    triage: z
      .array(
        z.object({
          id: z.number().int(),
          reason: z.string(),
          status: z.enum(['open', 'resolved']),
          resolution: z.string().nullable(),
        }),
      )
      .describe('its items in the triage queue'),
  })
  .meta({ id: 'Report' });

const reportEventSchema = z
  .object({
    id: z.number().int(),
    time: z.string().describe('the time judged (a future-dated event: the receipt)'),
    classification: z.string(),
    confidence: z.number().nullable(),
    roles: z
      .array(z.object({ role: z.enum(['source', 'target']), value: z.string() }))
      .describe('source: who did it; target: who it was done to (never the subject of a case)'),
    roleUnknown: z.boolean().describe('the parser could not tell source from target: sent to triage'),
    futureDated: z.string().nullable().describe("the event's own time when it lay after the receipt"),
    verdict: z.string(),
    reason: z.string().nullable(),
    clause: z.string().nullable(),
    caseRef: z.string().nullable(),
  })
  .meta({ id: 'ReportEvent' });

const reportDetailSchema = reportSchema
  .extend({
    parseErrors: z.array(z.string()),
    lastError: z.string().nullable().describe('why processing failed (staff only)'),
    events: z.array(reportEventSchema),
  })
  .meta({ id: 'ReportDetail' });

const acceptedSchema = z
  .object({
    id: z.string(),
    status: z.literal('accepted'),
    evidenceSha256: z.string(),
    size: z.number().int(),
    duplicate: z.boolean().describe('the same bytes were already received; no second item was queued'),
  })
  .meta({ id: 'ReportAccepted' });

export const reportRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  // Bodies of this plugin arrive as raw bytes (evidence), JSON included.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    [...REPORT_TYPES],
    { parseAs: 'buffer', bodyLimit: deps.http.maxUploadBytes },
    (_request, body, done) => done(null, body),
  );
  const accepted = deps.metrics.counter(
    'aupdesk_api_reports_accepted_total',
    'Reports accepted through the API',
    ['type'],
  );

  typed(app).post(
    '/reports',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter']),
      bodyLimit: deps.http.maxUploadBytes,
      schema: {
        tags: ['reports'],
        summary: 'Submit a report (raw e-mail, XARF v4 JSON, IntelMQ event JSON); 202 once stored',
        description: `Content types: ${REPORT_TYPES.join(', ')}. The body is stored as evidence before the answer.`,
        security: secured,
        consumes: [...REPORT_TYPES],
        querystring: z.object({ filename: z.string().max(255).optional().describe('original file name') }),
        response: { 202: acceptedSchema, ...errorResponses, 413: problemSchema, 415: problemSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new AupError('AUP_ERR_INPUT_INVALID', 'the report body is empty', {
          details: { field: 'body' },
        });
      }
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      checkJsonShape(contentType, body);
      const now = deps.clock.now();
      const result = await acceptReport(
        { db, evidence: deps.evidenceStore, committer: deps.inboxCommitter },
        {
          bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
          channel: 'api',
          route: 'api',
          receivedAt: now,
          contentType,
          fileName: request.query.filename,
        },
      );
      await recordSubmission(db, {
        evidenceSha256: result.evidenceSha256,
        principal: principalKey(principal),
        channel: 'api',
        contentType,
        size: result.size,
        inboxRef: result.inboxId,
        submittedAt: now,
      });
      accepted.inc({ type: contentType });
      reply.header('location', `${request.url.split('?')[0]}/${result.inboxId}`);
      return reply.code(202).send({
        id: result.inboxId,
        status: 'accepted' as const,
        evidenceSha256: result.evidenceSha256,
        size: result.size,
        duplicate: result.duplicate,
      });
    },
  );

  typed(app).get(
    '/reports',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter', 'customer']),
      schema: {
        tags: ['reports'],
        summary:
          'Received reports, newest first: every one for staff, its own for a reporter or customer key',
        security: secured,
        querystring: z.object({
          ...listQuery,
          outcome: z.enum(reportOutcomes).optional().describe('what the report came to'),
          channel: z.enum(channels).optional(),
          since: z.iso.datetime({ offset: true }).optional().describe('received at or after'),
          until: z.iso.datetime({ offset: true }).optional().describe('received before'),
        }),
        response: {
          200: z.object({ items: z.array(reportSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      const rows = await listInboxReports(db, {
        ...(isStaff(principal) ? {} : { ids: await inboxRefsOf(db, principalKey(principal)) }),
        outcome: q.outcome,
        channel: q.channel,
        since: q.since === undefined ? undefined : new Date(q.since),
        until: q.until === undefined ? undefined : new Date(q.until),
        beforeId: decodeInboxCursor(q.cursor),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return {
        items: await presentReports(db, page),
        nextCursor: rows.length > page.length ? encodeInboxCursor(page.at(-1)!.id) : null,
      };
    },
  );

  typed(app).get(
    '/reports/:id',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter', 'customer']),
      schema: {
        tags: ['reports'],
        summary: 'One report: where it stands, its events with their roles and verdicts, its triage items',
        security: secured,
        params: z.object({ id: z.string().regex(/^[0-9]{1,18}$/, 'must be a report id (digits)') }),
        response: { 200: reportDetailSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const id = request.params.id;
      const mine = isStaff(principal) || (await findSubmissionByInbox(db, id, principalKey(principal)));
      const [row] = mine ? await listInboxReports(db, { ids: [id], limit: 1 }) : [];
      if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `report ${id} does not exist`);
      const [report] = await presentReports(db, [row]);
      const events = row.reportId === null ? [] : await listCaseEvents(db, { reportId: row.reportId });
      const staff = isStaff(principal);
      return {
        ...report!,
        parseErrors: presentErrors(row.parseErrors),
        lastError: staff ? row.lastError : null,
        events: events.map((e) => presentEvent(e)),
      };
    },
  );
};

const listQuery = {
  cursor: z.string().max(200).optional().describe('the `nextCursor` of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('page size (1-200, default 50)'),
};

/** Cursors over inbox ids (bigint, as text): base64url of `{"inbox":"123"}`. */
function encodeInboxCursor(id: string): string {
  return Buffer.from(JSON.stringify({ inbox: id })).toString('base64url');
}

function decodeInboxCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    return z
      .object({ inbox: z.string().regex(/^[0-9]{1,18}$/) })
      .strict()
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).inbox;
  } catch {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'cursor is not one this API returned', {
      details: { field: 'cursor' },
    });
  }
}

function presentErrors(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .slice(0, 100)
    .map((e) =>
      typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string'
        ? (e as { message: string }).message
        : String(e),
    );
}

function presentEvent(e: StoredCaseEvent): z.infer<typeof reportEventSchema> {
  const ev = e.event;
  const roles: Array<{ role: 'source' | 'target'; value: string }> = [];
  for (const key of ['source.ip', 'source.fqdn', 'source.url'] as const) {
    const v = ev[key];
    if (v) roles.push({ role: 'source', value: v });
  }
  for (const key of ['destination.ip', 'destination.fqdn', 'destination.url'] as const) {
    const v = ev[key];
    if (v) roles.push({ role: 'target', value: v });
  }
  const extra = ev.extra ?? {};
  return {
    id: e.id,
    time: e.eventTime.toISOString(),
    classification: e.classification,
    confidence: ev['classification.confidence'] ?? null,
    roles,
    roleUnknown: extra.triage_reason === 'role-unknown',
    futureDated: typeof extra.future_dated === 'string' ? extra.future_dated : null,
    verdict: e.verdict,
    reason: e.reason,
    clause: e.clauseId,
    caseRef: e.caseId === null ? null : caseRefOf(e.caseId),
  };
}

async function presentReports(
  db: ApiPluginOptions['deps']['store']['db'],
  rows: readonly InboxReport[],
): Promise<Array<z.infer<typeof reportSchema>>> {
  const reportIds = rows.flatMap((r) => (r.reportId === null ? [] : [r.reportId]));
  const cases = await caseRefsOfReports(db, reportIds);
  const triage = await triageOfReports(db, reportIds);
  return rows.map((r) => ({
    id: r.id,
    evidenceSha256: r.evidenceSha256,
    channel: r.channel,
    contentType: r.contentType ?? (r.channel === 'smtp' || r.channel === 'imap' ? 'message/rfc822' : ''),
    size: r.size,
    submittedAt: iso(r.receivedAt)!,
    status: r.status,
    reportStatus: r.reportStatus,
    format: r.reportFormat,
    events: r.eventCount,
    reportId: r.reportId,
    outcomes: [...r.outcomes].filter((o): o is ReportOutcome =>
      (reportOutcomes as readonly string[]).includes(o),
    ),
    cases: r.reportId !== null ? (cases.get(r.reportId) ?? [...r.cases]) : [...r.cases],
    triage: (r.reportId === null ? [] : (triage.get(r.reportId) ?? [])).map((t) => ({
      id: t.id,
      reason: t.reason,
      status: t.status,
      resolution: t.resolution,
    })),
  }));
}

/** JSON bodies must be JSON (or JSON lines): refuse a syntax error with its position, before storing. */
function checkJsonShape(contentType: string, body: Buffer): void {
  if (contentType === 'application/json') {
    try {
      JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new AupError('AUP_ERR_HTTP_BAD_JSON', `the body is not valid JSON: ${(error as Error).message}`);
    }
  } else if (contentType === 'application/x-ndjson' || contentType === 'application/jsonl') {
    const lines = body.toString('utf8').split('\n');
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        JSON.parse(line);
      } catch (error) {
        throw new AupError(
          'AUP_ERR_HTTP_BAD_JSON',
          `line ${index + 1} of the JSON lines body is not valid JSON: ${(error as Error).message}`,
          { details: { line: index + 1 } },
        );
      }
    });
  }
}
