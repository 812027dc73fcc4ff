import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { receiptDate, restoreWindow } from '../../dmca/business-days.js';
import {
  type DmcaRecord,
  listDmcaRecords,
  requireDmcaRecord,
  strikesOf,
} from '../../dmca/dmca-repository.js';
import { confirmRemoval, deskPolicy, reportSuit } from '../../dmca/dmca-workflow.js';
import { toLumen } from '../../dmca/lumen-export.js';
import { checkCounterNotice, checkNotice, checkSummary } from '../../dmca/notice-check.js';
import { composeNoticeText, noticeFieldsSchema } from '../../dmca/notice-form.js';
import { repeatInfringerStatus } from '../../dmca/repeat-infringer.js';
import { AupError } from '../../errors.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import { principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  decodeCursor,
  encodeCursor,
  errorResponses,
  iso,
  pageQuery,
  secured,
  typed,
} from './api-support.js';
import { workflowDeps } from './workflow-deps.js';

/**
 * The DMCA procedure over HTTP (`/api/v1/dmca/...`): submit a notice or counter-notice (stored as evidence
 * and worked by the inbox like mail to dmca@), read the records with the text that satisfied each element,
 * confirm a removal, report a claimant's filed action, the repeat-infringer strikes, the restore window,
 * and the Lumen export.
 */

const elementSchema = z
  .object({ found: z.boolean(), text: z.string().nullable() })
  .meta({ id: 'DmcaElement' });

export const dmcaCheckSchema = z
  .object({
    kind: z.enum(['notice', 'counter-notice']),
    complete: z.boolean(),
    elements: z.record(z.string(), elementSchema),
    missing: z.array(z.string()),
  })
  .meta({
    id: 'DmcaCheck',
    description: 'A notice (512(c)(3)(A)) or counter-notice (512(g)(3)) checked element by element',
  });

const contactSchema = z
  .object({
    name: z.string().optional(),
    organisation: z.string().optional(),
    email: z.string().optional(),
    phone: z.string().optional(),
    address: z.string().optional(),
  })
  .meta({ id: 'DmcaParty' });

export const dmcaRecordSchema = z
  .object({
    ref: z.string(),
    kind: z.enum(['notice', 'counter-notice']),
    status: z.string(),
    channel: z.string(),
    receivedAt: z.string(),
    sender: contactSchema,
    principal: z.string().nullable(),
    elements: z.record(z.string(), elementSchema),
    missing: z.array(z.string()),
    works: z.array(z.string()),
    urls: z.array(z.string()),
    customer: z.string().nullable(),
    service: z.string().nullable(),
    cases: z.array(z.string()),
    notice: z.string().nullable().describe('for a counter-notice: the notice it answers'),
    deadlineAt: z
      .string()
      .nullable()
      .describe('takedown deadline, or the deadline of a request for missing elements'),
    restoreEarliest: z.string().nullable(),
    restoreLatest: z.string().nullable(),
    suitReportedAt: z.string().nullable(),
    removedAt: z.string().nullable(),
    restoredAt: z.string().nullable(),
    actionTaken: z.enum(['yes', 'no', 'partial']).nullable(),
    reason: z.string().nullable(),
    evidenceSha256: z.string().nullable(),
  })
  .meta({ id: 'DmcaRecord' });

const lumenEntity = z.object({
  name: z.string(),
  kind: z.enum(['individual', 'organization']),
  address_line_1: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
});

const lumenSchema = z
  .object({
    id: z.string(),
    type: z.enum(['DMCA', 'Counternotice']),
    title: z.string(),
    date_sent: z.string().nullable(),
    date_received: z.string(),
    works: z.array(
      z.object({
        description: z.string(),
        copyrighted_urls: z.array(z.object({ url: z.string() })),
        infringing_urls: z.array(z.object({ url: z.string() })),
      }),
    ),
    entity_notice_roles: z.object({
      sender: lumenEntity.nullable(),
      principal: lumenEntity.nullable(),
      recipient: lumenEntity,
    }),
    action_taken: z.enum(['Yes', 'No', 'Partial', 'Unspecified']),
    jurisdictions: z.array(z.string()),
  })
  .meta({ id: 'LumenNotice', description: 'A DMCA record in the fields the Lumen database records' });

export function dmcaJson(r: DmcaRecord, noticeRef: string | null = null): z.output<typeof dmcaRecordSchema> {
  return {
    ref: r.ref,
    kind: r.kind,
    status: r.status,
    channel: r.channel,
    receivedAt: r.receivedAt.toISOString(),
    sender: r.sender,
    principal: r.principal,
    elements: r.elements,
    missing: r.missing,
    works: r.works,
    urls: r.urls,
    customer: r.customerRef,
    service: r.serviceRef,
    cases: r.caseRefs,
    notice: noticeRef,
    deadlineAt: iso(r.deadlineAt),
    restoreEarliest: r.restoreEarliest,
    restoreLatest: r.restoreLatest,
    suitReportedAt: iso(r.suitReportedAt),
    removedAt: iso(r.removedAt),
    restoredAt: iso(r.restoredAt),
    actionTaken: r.actionTaken,
    reason: r.reason,
    evidenceSha256: r.evidenceSha256,
  };
}

const refParam = z.object({ ref: z.string().max(40) });

export const dmcaRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);
  const noticeRefOf = (r: DmcaRecord) => (r.noticeId ? `DMCA-${String(r.noticeId).padStart(6, '0')}` : null);

  typed(app).post(
    '/dmca/notices',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter']),
      schema: {
        tags: ['dmca'],
        summary: 'Submit a DMCA notice or counter-notice (fields and/or free text); 202 once stored',
        description:
          'The submission is written out as text, stored as evidence and worked like mail to dmca@: a complete notice opens a takedown, an incomplete one is answered with what is missing. The answer carries the check.',
        security: secured,
        body: noticeFieldsSchema,
        response: {
          202: z
            .object({
              id: z.string().describe('intake inbox id'),
              evidenceSha256: z.string(),
              duplicate: z.boolean(),
              check: dmcaCheckSchema,
            })
            .meta({ id: 'DmcaAccepted' }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const fields = request.body;
      const text = composeNoticeText(fields, 'API');
      if (text.trim().split('\n').length < 3 && !fields.text) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          'the submission is empty: give the notice as fields or as text',
          {
            details: { field: 'text' },
          },
        );
      }
      const accepted = await acceptReport(
        { db, evidence: deps.evidenceStore, committer: deps.inboxCommitter },
        {
          bytes: new TextEncoder().encode(text),
          channel: 'api',
          route: 'dmca',
          receivedAt: deps.clock.now(),
          contentType: 'text/plain',
          fileName: fields.kind === 'counter-notice' ? 'dmca-counter-notice.txt' : 'dmca-notice.txt',
        },
      );
      const check = fields.kind === 'counter-notice' ? checkCounterNotice(text) : checkNotice(text);
      return reply.code(202).send({
        id: accepted.inboxId,
        evidenceSha256: accepted.evidenceSha256,
        duplicate: accepted.duplicate,
        check: checkSummary(check),
      });
    },
  );

  typed(app).post(
    '/dmca/check',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: 'Check a notice or counter-notice text against the statute (nothing is stored)',
        security: secured,
        body: z.object({
          kind: z.enum(['notice', 'counter-notice']).default('notice'),
          text: z.string().min(1).max(256_000),
        }),
        response: { 200: dmcaCheckSchema, ...errorResponses },
      },
    },
    async (request) =>
      checkSummary(
        request.body.kind === 'counter-notice'
          ? checkCounterNotice(request.body.text)
          : checkNotice(request.body.text),
      ),
  );

  typed(app).get(
    '/dmca/notices',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: 'List notices and counter-notices, newest first',
        security: secured,
        querystring: z.object({
          kind: z.enum(['notice', 'counter-notice']).optional(),
          status: z.string().max(40).optional(),
          inbox: z.string().max(40).optional().describe('the intake inbox id a submission was answered with'),
          ...pageQuery,
        }),
        response: {
          200: z
            .object({ items: z.array(dmcaRecordSchema), nextCursor: z.string().nullable() })
            .meta({ id: 'DmcaRecordPage' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listDmcaRecords(db, {
        kind: q.kind,
        status: q.status,
        inboxId: q.inbox,
        before: decodeCursor(q.cursor),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((r) => dmcaJson(r, noticeRefOf(r))),
        nextCursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null,
      };
    },
  );

  typed(app).get(
    '/dmca/notices/:ref',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: 'One notice or counter-notice, with its elements, letters and counter-notices',
        security: secured,
        params: refParam,
        response: {
          200: dmcaRecordSchema
            .extend({ text: z.string(), counterNotices: z.array(z.string()) })
            .meta({ id: 'DmcaRecordDetail' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const r = await requireDmcaRecord(db, request.params.ref);
      const counters = r.kind === 'notice' ? await listDmcaRecords(db, { noticeId: r.id, limit: 100 }) : [];
      return { ...dmcaJson(r, noticeRefOf(r)), text: r.body, counterNotices: counters.map((c) => c.ref) };
    },
  );

  typed(app).post(
    '/dmca/notices/:ref/removed',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: 'Record that the customer removed or disabled the material (the claimant is told)',
        security: secured,
        params: refParam,
        response: { 200: dmcaRecordSchema, 409: errorResponses[400], ...errorResponses },
      },
    },
    async (request) => {
      const wf = await workflowDeps(deps);
      const saved = await db
        .transaction()
        .execute((trx) => confirmRemoval(trx, wf, request.params.ref, auditActorOf(principalOf(request))));
      return dmcaJson(saved);
    },
  );

  typed(app).post(
    '/dmca/counter-notices/:ref/suit',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary:
          "Record the claimant's notice that it filed an action: the restore is cancelled (512(g)(2)(C))",
        security: secured,
        params: refParam,
        body: z.object({
          details: z.string().trim().min(1).max(2000).describe('court, case number, filing date'),
        }),
        response: { 200: dmcaRecordSchema, 409: errorResponses[400], ...errorResponses },
      },
    },
    async (request) => {
      const wf = await workflowDeps(deps);
      const saved = await db
        .transaction()
        .execute((trx) =>
          reportSuit(trx, wf, request.params.ref, request.body.details, auditActorOf(principalOf(request))),
        );
      return dmcaJson(saved, noticeRefOf(saved));
    },
  );

  typed(app).get(
    '/dmca/strikes/:customer',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: "A customer's repeat-infringer strikes and where it stands under the policy's rule (512(i))",
        security: secured,
        params: z.object({ customer: z.string().max(100) }),
        response: {
          200: z
            .object({
              customer: z.string(),
              strikes: z.array(
                z.object({
                  notice: z.string(),
                  at: z.string(),
                  withdrawn: z.boolean(),
                  withdrawnReason: z.string().nullable(),
                }),
              ),
              counted: z.number().int(),
              threshold: z.number().int(),
              window: z.string(),
              repeatInfringer: z.boolean(),
              remedy: z.string(),
            })
            .meta({ id: 'DmcaStrikes' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const wf = await workflowDeps(deps);
      const now = deps.clock.now();
      const rule = deskPolicy(wf, now).terms.dmca?.repeat_infringer ?? {
        strikes: 3,
        window: 'P365D',
        remedy: 'terminate' as const,
      };
      const strikes = await strikesOf(db, request.params.customer);
      const status = repeatInfringerStatus(strikes, rule, now);
      return {
        customer: request.params.customer,
        strikes: strikes.map((s) => ({
          notice: s.noticeRef,
          at: s.at.toISOString(),
          withdrawn: s.withdrawn,
          withdrawnReason: s.withdrawnReason,
        })),
        counted: status.count,
        threshold: status.threshold,
        window: rule.window,
        repeatInfringer: status.repeatInfringer,
        remedy: status.remedy,
      };
    },
  );

  typed(app).get(
    '/dmca/restore-window',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary: 'The 10th and 14th US federal business days after a counter-notice was received',
        security: secured,
        querystring: z.object({
          received: z.string().max(40).describe('ISO 8601 date or date-time of receipt'),
        }),
        response: {
          200: z.object({ earliest: z.string(), latest: z.string() }).meta({ id: 'DmcaRestoreWindow' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      try {
        return restoreWindow(receiptDate(request.query.received));
      } catch (error) {
        throw new AupError('AUP_ERR_INPUT_INVALID', `received: ${(error as Error).message}`, {
          details: { field: 'received' },
        });
      }
    },
  );

  typed(app).get(
    '/dmca/export/lumen',
    {
      onRequest: staff,
      schema: {
        tags: ['dmca'],
        summary:
          'Every notice and counter-notice in Lumen fields (type, dates, works and URLs, parties, action taken)',
        security: secured,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(5000).default(1000) }),
        response: { 200: z.array(lumenSchema), ...errorResponses },
      },
    },
    async (request) => {
      const wf = await workflowDeps(deps);
      const rows = await listDmcaRecords(db, { limit: request.query.limit });
      return rows.map((r) =>
        toLumen({
          ref: r.ref,
          kind: r.kind,
          receivedAt: r.receivedAt,
          sentAt: r.sentAt,
          sender: r.sender,
          principal: r.principal,
          recipient: deskPolicy(wf, r.receivedAt, r.providerId ?? undefined).provider.name,
          works: r.works,
          copyrightedUrls: r.copyrightedUrls,
          infringingUrls: r.urls,
          actionTaken: r.actionTaken,
        }),
      );
    },
  );
};
