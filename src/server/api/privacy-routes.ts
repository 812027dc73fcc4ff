import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { childDataRequestSchema } from '../../compliance/privacy-request.js';
import {
  completePrivacyRequest,
  isOverdue,
  listPrivacyRequests,
  type PrivacyRequestRecord,
  receiveChildDataRequest,
  recordBreach,
} from '../../compliance/privacy-request-repository.js';
import { policyHistories } from '../../enforcement/pipeline/case-transition.js';
import { AupError } from '../../errors.js';
import { principalOf } from '../plugins/auth-plugin.js';
import { type ApiPluginOptions, errorResponses, iso, secured, typed } from './api-support.js';
import { workflowDeps } from './workflow-deps.js';

/**
 * Privacy requests over HTTP (`/api/v1/privacy-requests`): record a request to delete a minor's personal
 * data (INFINCE; the policy's deadline is set at once) or a data-breach notification (`kind: 'breach'`,
 * with the dates the affected parties and the regulator were told), list them, and complete one (the
 * requester of a deletion is mailed a confirmation).
 */

const isoDate = z.iso.datetime({ offset: true });

export const privacyRequestSchema = z
  .object({
    ref: z.string(),
    kind: z.enum(['child-data-deletion', 'breach']),
    status: z.enum(['open', 'completed']),
    overdue: z.boolean(),
    channel: z.string(),
    receivedAt: z.string(),
    dueAt: z.string().nullable(),
    requester: z.object({ name: z.string().nullable(), email: z.string().nullable() }),
    summary: z.string(),
    affectedNotifiedAt: z.string().nullable(),
    regulatorNotifiedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    completedBy: z.string().nullable(),
    completionNote: z.string().nullable(),
  })
  .meta({ id: 'PrivacyRequest' });

// One object rather than a union (the OpenAPI generator takes object bodies); the handler checks that
// each kind has its fields.
const createSchema = z
  .object({
    kind: z.enum(['child-data-deletion', 'breach']).default('child-data-deletion'),
    requester: childDataRequestSchema.shape.requester.optional().describe('child-data-deletion: who asks'),
    summary: z
      .string()
      .trim()
      .min(1)
      .max(5000)
      .describe('whose data and where it is, or what the breach was'),
    discoveredAt: isoDate.optional().describe('breach: when it came to light'),
    affectedNotifiedAt: isoDate.optional().describe('breach: when the affected parties were told'),
    regulatorNotifiedAt: isoDate.optional().describe('breach: when the regulator was told'),
  })
  .strict()
  .meta({ id: 'NewPrivacyRequest' });

const completeSchema = z
  .object({
    note: z.string().trim().max(5000).optional(),
    affectedNotifiedAt: isoDate.optional(),
    regulatorNotifiedAt: isoDate.optional(),
  })
  .strict()
  .meta({ id: 'PrivacyRequestCompletion' });

const refParam = z.object({ ref: z.string().regex(/^PRIV-\d{1,12}$/i, 'a reference like PRIV-000001') });

const date = (v: string | undefined): Date | undefined => (v === undefined ? undefined : new Date(v));

export function privacyJson(r: PrivacyRequestRecord, now: Date): z.infer<typeof privacyRequestSchema> {
  return {
    ref: r.ref,
    kind: r.kind,
    status: r.status,
    overdue: isOverdue(r, now),
    channel: r.channel,
    receivedAt: r.receivedAt.toISOString(),
    dueAt: iso(r.dueAt),
    requester: r.requester,
    summary: r.summary,
    affectedNotifiedAt: iso(r.affectedNotifiedAt),
    regulatorNotifiedAt: iso(r.regulatorNotifiedAt),
    completedAt: iso(r.completedAt),
    completedBy: r.completedBy,
    completionNote: r.completionNote,
  };
}

export const privacyRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  typed(app).post(
    '/privacy-requests',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: "Record a request to delete a minor's personal data, or a data-breach notification",
        security: secured,
        body: createSchema,
        response: { 201: privacyRequestSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const actor = auditActorOf(principalOf(request));
      const now = deps.clock.now();
      const body = request.body;
      if (body.kind === 'breach' && body.discoveredAt === undefined) {
        throw new AupError('AUP_ERR_INPUT_INVALID', 'a breach record needs discoveredAt');
      }
      const requester = body.requester;
      if (body.kind === 'child-data-deletion' && requester === undefined) {
        throw new AupError('AUP_ERR_INPUT_INVALID', 'a deletion request needs the requester (name, email)');
      }
      const record = await db.transaction().execute(async (trx) => {
        if (body.kind === 'breach' || requester === undefined) {
          return recordBreach(trx, {
            breach: {
              summary: body.summary,
              discoveredAt: new Date(body.discoveredAt ?? now.toISOString()),
              affectedNotifiedAt: date(body.affectedNotifiedAt),
              regulatorNotifiedAt: date(body.regulatorNotifiedAt),
            },
            channel: 'api',
            actor,
          });
        }
        const wf = await workflowDeps(deps);
        return receiveChildDataRequest(
          trx,
          { policies: policyHistories(wf) },
          {
            request: { requester, summary: body.summary },
            body: body.summary,
            channel: 'api',
            receivedAt: now,
            actor,
          },
        );
      });
      return reply.code(201).send(privacyJson(record, now));
    },
  );

  typed(app).get(
    '/privacy-requests',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'List privacy requests and breach records, newest first',
        security: secured,
        querystring: z.object({
          status: z.enum(['open', 'completed']).optional(),
          kind: z.enum(['child-data-deletion', 'breach']).optional(),
        }),
        response: {
          200: z.object({ items: z.array(privacyRequestSchema) }).meta({ id: 'PrivacyRequestList' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = deps.clock.now();
      const rows = await listPrivacyRequests(db, request.query);
      return { items: rows.map((r) => privacyJson(r, now)) };
    },
  );

  typed(app).post(
    '/privacy-requests/:ref/complete',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary:
          'Complete a request: the data is deleted (the requester is mailed a confirmation), or the breach was notified',
        security: secured,
        params: refParam,
        body: completeSchema,
        response: { 200: privacyRequestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = deps.clock.now();
      const { record } = await db.transaction().execute((trx) =>
        completePrivacyRequest(trx, {
          ref: request.params.ref,
          at: now,
          note: request.body.note,
          affectedNotifiedAt: date(request.body.affectedNotifiedAt),
          regulatorNotifiedAt: date(request.body.regulatorNotifiedAt),
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return privacyJson(record, now);
    },
  );
};
