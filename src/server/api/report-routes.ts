import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { isStaff, principalKey } from '../../accounts/principal.js';
import {
  findSubmissionByInbox,
  listSubmissions,
  recordSubmission,
  type Submission,
} from '../../accounts/submission-repository.js';
import { caseRefsOfReports } from '../../cases/queries/case-search.js';
import { AupError } from '../../errors.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import { type InboxItemStatus, inboxItemStatuses } from '../../intake/inbox/inbox-query.js';
import { principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  decodeCursor,
  encodeCursor,
  errorResponses,
  iso,
  pageQuery,
  problemSchema,
  secured,
  typed,
} from './api-support.js';

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
  })
  .meta({ id: 'Report' });

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
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter']),
      schema: {
        tags: ['reports'],
        summary: 'Reports submitted through the API, newest first (a reporter sees its own)',
        security: secured,
        querystring: z.object(pageQuery),
        response: {
          200: z.object({ items: z.array(reportSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const beforeId = decodeCursor(request.query.cursor);
      const rows = await listSubmissions(db, {
        ...(isStaff(principal) ? {} : { principal: principalKey(principal) }),
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit: request.query.limit + 1,
      });
      const page = rows.slice(0, request.query.limit);
      const items = await presentReports(db, page);
      return {
        items,
        nextCursor: encodeCursor(rows.length > page.length ? (page.at(-1)?.id ?? null) : null),
      };
    },
  );

  typed(app).get(
    '/reports/:id',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter']),
      schema: {
        tags: ['reports'],
        summary: 'Where one submitted report stands',
        security: secured,
        params: z.object({ id: z.string().regex(/^[0-9]{1,18}$/, 'must be a report id (digits)') }),
        response: { 200: reportSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const first = await findSubmissionByInbox(
        db,
        request.params.id,
        isStaff(principal) ? undefined : principalKey(principal),
      );
      if (!first) throw new AupError('AUP_ERR_NOT_FOUND', `report ${request.params.id} does not exist`);
      return (await presentReports(db, [first]))[0]!;
    },
  );
};

async function presentReports(
  db: ApiPluginOptions['deps']['store']['db'],
  submissions: readonly Submission[],
): Promise<Array<z.infer<typeof reportSchema>>> {
  const statuses = await inboxItemStatuses(
    db,
    submissions.flatMap((s) => (s.inboxRef ? [s.inboxRef] : [])),
  );
  const reportIds = [...statuses.values()].flatMap((s) => (s.reportId === null ? [] : [s.reportId]));
  const cases = await caseRefsOfReports(db, reportIds);
  return submissions.map((s) => {
    const st: InboxItemStatus | undefined = s.inboxRef ? statuses.get(s.inboxRef) : undefined;
    return {
      id: s.inboxRef ?? '',
      evidenceSha256: s.evidenceSha256,
      channel: s.channel,
      contentType: s.contentType,
      size: s.size,
      submittedAt: iso(s.submittedAt)!,
      status: st?.status ?? 'unknown',
      reportStatus: st?.reportStatus ?? null,
      format: st?.reportFormat ?? null,
      events: st?.eventCount ?? null,
      cases: st?.reportId != null ? (cases.get(st.reportId) ?? []) : [],
    };
  });
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
