import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { principalKey } from '../../accounts/principal.js';
import { openCase } from '../../enforcement/commands/open-case.js';
import { principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  analystOf,
  commandDepsOf,
  errorResponses,
  iso,
  problemSchema,
  secured,
  typed,
} from './api-support.js';

/**
 * `POST /api/v1/cases`: a case opened by hand (src/enforcement/commands/open-case.ts) under any clause of
 * the version binding the service's customer now, including clauses no event class reaches. A clause the
 * policy marks `subject_to_review` opens on hold (`review: true`): no notice until an analyst releases it.
 */

const openCaseBody = z
  .object({
    service: z.string().max(200).describe('service reference'),
    clause: z.string().max(200).describe('clause id of the binding version'),
    reason: z.string().max(20_000).describe('why the case is opened (kept as the first note)'),
    reports: z.array(z.number().int().positive()).max(1000).optional().describe('report ids to attach'),
  })
  .strict();

const openedSchema = z
  .object({
    ref: z.string(),
    status: z.string(),
    clause: z.string(),
    customerRef: z.string(),
    serviceRef: z.string(),
    policy: z.string().describe('provider and version the case is under'),
    review: z.boolean().describe('opened on hold: the clause is subject to review'),
    openedAt: z.string(),
    attachedEvents: z.array(z.number().int()),
    actions: z.array(z.string()).describe('outbox keys queued (the notice, unless on review)'),
  })
  .meta({ id: 'CaseOpened' });

export const caseOpenRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  typed(app).post(
    '/cases',
    {
      onRequest: app.requireAuth(['admin', 'analyst']),
      schema: {
        tags: ['cases'],
        summary: 'Open a case by hand under a chosen clause',
        security: secured,
        body: openCaseBody,
        response: { 201: openedSchema, ...errorResponses, 422: problemSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const result = await openCase(await commandDepsOf(deps), {
        ...request.body,
        reports: request.body.reports ?? [],
        analyst: analystOf(principal),
      });
      const c = result.case;
      request.log.info({ case: c.ref, by: principalKey(principal) }, 'case opened by hand');
      reply.header('location', `${request.url.split('?')[0]}/${c.ref}`);
      return reply.code(201).send({
        ref: c.ref,
        status: c.status,
        clause: c.clauseId,
        customerRef: c.customerRef,
        serviceRef: c.serviceRef,
        policy: result.policy,
        review: result.review,
        openedAt: iso(c.openedAt)!,
        attachedEvents: [...result.attachedEvents],
        actions: [...result.actions],
      });
    },
  );
};
