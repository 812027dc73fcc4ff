import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { informationRequestSchema } from '../../legal/information-request.js';
import {
  type DisclosureRecord,
  type LegalRequestRecord,
  legalIdFromRef,
  listDisclosures,
  listLegalRequests,
  requireLegalRequest,
} from '../../legal/legal-repository.js';
import { billRequest, recordDisclosure, recordRequest } from '../../legal/legal-workflow.js';
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
 * Legal information requests over HTTP (`/api/v1/legal-requests/...`): record a subpoena, court order,
 * law-enforcement or civil request (the binding policy's terms decide at once), read them, log each
 * disclosure, bill the time actually spent, and read the disclosure log.
 */

const feeSchema = z
  .object({
    hourly_rate: z.number(),
    currency: z.string(),
    estimated_hours: z.number(),
    estimate: z.number(),
  })
  .meta({ id: 'LegalFeeEstimate' });

export const legalRequestSchema = z
  .object({
    ref: z.string(),
    kind: z.string(),
    status: z.string(),
    channel: z.string(),
    receivedAt: z.string(),
    policy: z.string().nullable(),
    requester: z.object({
      name: z.string(),
      organisation: z.string().optional(),
      email: z.string().optional(),
      phone: z.string().optional(),
      address: z.string().optional(),
    }),
    authority: z.string().nullable(),
    matter: z
      .object({
        court: z.string().nullable().optional(),
        case_number: z.string().nullable().optional(),
        filed_at: z.string().nullable().optional(),
        pending: z.boolean().nullable().optional(),
      })
      .nullable(),
    asks: z.array(z.string()),
    deadline: z.string().nullable(),
    customer: z.string().nullable(),
    nondisclosureOrder: z.string().nullable(),
    decision: z.enum(['accepted', 'refused']).nullable(),
    reasons: z.array(z.string()),
    fee: feeSchema.nullable(),
    requester_notices: z.array(z.string()),
    customerNotice: z.string().nullable(),
    customerNotifiedAt: z.string().nullable(),
    billedHours: z.number().nullable(),
    billedAmount: z.number().nullable(),
  })
  .meta({ id: 'LegalRequest' });

export const disclosureSchema = z
  .object({
    id: z.number().int(),
    request: z.string(),
    what: z.string(),
    to: z.string(),
    at: z.string(),
    customerTold: z.boolean(),
    customerToldAt: z.string().nullable(),
    forbiddingOrder: z
      .string()
      .nullable()
      .describe('the order that forbids telling the customer, when one does'),
    recordedBy: z.string(),
  })
  .meta({ id: 'LegalDisclosure' });

export function legalJson(r: LegalRequestRecord): z.output<typeof legalRequestSchema> {
  const a = r.assessment;
  return {
    ref: r.ref,
    kind: r.kind,
    status: r.status,
    channel: r.channel,
    receivedAt: r.receivedAt.toISOString(),
    policy: r.providerId && r.policyVersion ? `${r.providerId} ${r.policyVersion}` : null,
    requester: r.requester,
    authority: r.authority,
    matter: r.matter,
    asks: r.asks,
    deadline: iso(r.deadlineAt),
    customer: r.customerRef,
    nondisclosureOrder: r.nondisclosureOrder,
    decision: a?.decision ?? null,
    reasons: a?.reasons ?? [],
    fee: a?.fee ?? null,
    requester_notices: a?.requester_notices ?? [],
    customerNotice: a?.customerNotice ?? null,
    customerNotifiedAt: iso(r.customerNotifiedAt),
    billedHours: r.billedHours,
    billedAmount: r.billedAmount,
  };
}

export function disclosureJson(d: DisclosureRecord): z.output<typeof disclosureSchema> {
  return {
    id: d.id,
    request: d.requestRef,
    what: d.what,
    to: d.recipient,
    at: d.disclosedAt.toISOString(),
    customerTold: d.customerTold,
    customerToldAt: iso(d.customerToldAt),
    forbiddingOrder: d.forbiddingOrder,
    recordedBy: d.recordedBy,
  };
}

const refParam = z.object({ ref: z.string().max(40) });

export const legalRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  typed(app).post(
    '/legal-requests',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary: "Record an information request; the binding policy's terms decide it at once",
        security: secured,
        body: informationRequestSchema,
        response: { 201: legalRequestSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const wf = await workflowDeps(deps);
      const record = await db.transaction().execute((trx) =>
        recordRequest(trx, wf, {
          request: request.body,
          channel: 'api',
          receivedAt: deps.clock.now(),
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return reply.code(201).send(legalJson(record));
    },
  );

  typed(app).get(
    '/legal-requests',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary: 'List information requests, newest first',
        security: secured,
        querystring: z.object({ status: z.string().max(40).optional(), ...pageQuery }),
        response: {
          200: z
            .object({ items: z.array(legalRequestSchema), nextCursor: z.string().nullable() })
            .meta({ id: 'LegalRequestPage' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listLegalRequests(db, {
        status: q.status,
        before: decodeCursor(q.cursor),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return {
        items: page.map(legalJson),
        nextCursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null,
      };
    },
  );

  typed(app).get(
    '/legal-requests/disclosures',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary:
          'The disclosure log: what was disclosed, to whom, under which request, when, and whether the customer was told',
        security: secured,
        response: { 200: z.array(disclosureSchema), ...errorResponses },
      },
    },
    async () => (await listDisclosures(db)).map(disclosureJson),
  );

  typed(app).get(
    '/legal-requests/:ref',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary: 'One information request with its disclosures',
        security: secured,
        params: refParam,
        response: {
          200: legalRequestSchema
            .extend({ disclosures: z.array(disclosureSchema) })
            .meta({ id: 'LegalRequestDetail' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const record = await requireLegalRequest(db, request.params.ref);
      const disclosures = await listDisclosures(db, { requestId: legalIdFromRef(record.ref) });
      return { ...legalJson(record), disclosures: disclosures.map(disclosureJson) };
    },
  );

  typed(app).post(
    '/legal-requests/:ref/disclosures',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary: 'Log a disclosure made under an accepted request',
        security: secured,
        params: refParam,
        body: z.object({
          what: z.string().trim().min(1).max(5000),
          to: z.string().trim().min(1).max(500).optional().describe('default: the requester'),
        }),
        response: { 201: disclosureSchema, 409: errorResponses[400], ...errorResponses },
      },
    },
    async (request, reply) => {
      const wf = await workflowDeps(deps);
      const d = await db.transaction().execute((trx) =>
        recordDisclosure(trx, wf, request.params.ref, {
          what: request.body.what,
          recipient: request.body.to,
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return reply.code(201).send(disclosureJson(d));
    },
  );

  typed(app).post(
    '/legal-requests/:ref/bill',
    {
      onRequest: staff,
      schema: {
        tags: ['legal'],
        summary: "Bill the time actually spent at the policy's rate (the requester receives the invoice)",
        security: secured,
        params: refParam,
        body: z.object({ hours: z.number().min(0).max(10_000) }),
        response: { 200: legalRequestSchema, 409: errorResponses[400], ...errorResponses },
      },
    },
    async (request) => {
      const wf = await workflowDeps(deps);
      const saved = await db.transaction().execute((trx) =>
        billRequest(trx, wf, request.params.ref, {
          hours: request.body.hours,
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return legalJson(saved);
    },
  );
};
