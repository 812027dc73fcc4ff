import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import {
  decideSanctionsMatch,
  importSanctionsList,
  listSanctionsMatches,
  type StoredSanctionsMatch,
} from '../../compliance/sanctions/sanctions-repository.js';
import { principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  errorResponses,
  idParam,
  iso,
  problemSchema,
  secured,
  typed,
} from './api-support.js';

/**
 * Sanctions screening (compliance/sanctions/, Secure Packet §7): import an OFAC SDN list (the published CSV
 * texts), which screens every customer; the review queue of possible matches; an analyst's decision. Staff
 * only: a customer never sees that it was screened.
 */

const matchSchema = z
  .object({
    id: z.number().int(),
    customer: z.string(),
    name: z.string().describe('the SDN name or alias that matched'),
    sdnName: z.string(),
    via: z.enum(['name', 'alias']),
    entry: z.number().int().describe("the entry's ent_num"),
    score: z.number(),
    program: z.string(),
    countryMatch: z.boolean().describe("the customer's country is among the entry's address countries"),
    status: z.enum(['open', 'cleared', 'confirmed']),
    createdAt: z.string(),
    decidedAt: z.string().nullable(),
    decidedBy: z.string().nullable(),
    note: z.string().nullable(),
  })
  .meta({ id: 'SanctionsMatch' });

const listInputSchema = z
  .object({
    sdn: z.string().min(1).describe('sdn.csv as published (no header row, `-0-` as null)'),
    alt: z.string().optional().describe('alt.csv (aliases)'),
    add: z.string().optional().describe('add.csv (addresses)'),
    threshold: z.number().gt(0).max(1).optional(),
  })
  .strict()
  .meta({ id: 'SanctionsListInput' });

const screeningSchema = z
  .object({
    list: z.number().int(),
    entries: z.number().int(),
    customers: z.number().int(),
    matches: z.number().int().describe('matches at or above the threshold'),
    queued: z.array(matchSchema).describe('matches new to the review queue'),
  })
  .meta({ id: 'SanctionsScreening' });

const decisionSchema = z
  .object({
    decision: z.enum(['cleared', 'confirmed']),
    note: z.string().trim().min(1).max(4000),
  })
  .strict()
  .meta({ id: 'SanctionsDecision' });

export function presentSanctionsMatch(m: StoredSanctionsMatch): z.infer<typeof matchSchema> {
  return {
    id: m.id,
    customer: m.customer,
    name: m.name,
    sdnName: m.sdnName,
    via: m.via,
    entry: m.entry,
    score: m.score,
    program: m.program,
    countryMatch: m.countryMatch,
    status: m.status,
    createdAt: m.createdAt.toISOString(),
    decidedAt: iso(m.decidedAt),
    decidedBy: m.decidedBy,
    note: m.note,
  };
}

export const sanctionsRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  typed(app).post(
    '/sanctions/lists',
    {
      onRequest: app.requireAuth(['admin']),
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags: ['compliance'],
        summary: 'Import an OFAC SDN list and screen every customer against it',
        description:
          'The CSV texts as published. The list is stored (new customers are screened against it); possible matches go to the review queue, never to an action.',
        security: secured,
        body: listInputSchema,
        response: { 201: screeningSchema, ...errorResponses, 413: problemSchema },
      },
    },
    async (request, reply) => {
      const { threshold, ...files } = request.body;
      const result = await importSanctionsList(db, files, {
        at: deps.clock.now(),
        actor: auditActorOf(principalOf(request)),
        ...(threshold === undefined ? {} : { threshold }),
      });
      return reply.code(201).send({
        list: result.listId,
        entries: result.entries,
        customers: result.customers,
        matches: result.matches.length,
        queued: result.queued.map(presentSanctionsMatch),
      });
    },
  );

  typed(app).get(
    '/sanctions/matches',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'The sanctions review queue (possible matches, highest score first)',
        security: secured,
        querystring: z.object({ status: z.enum(['open', 'cleared', 'confirmed']).optional() }),
        response: { 200: z.object({ items: z.array(matchSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const { status } = request.query;
      const rows = await listSanctionsMatches(db, status === undefined ? {} : { status });
      return { items: rows.map(presentSanctionsMatch) };
    },
  );

  typed(app).post(
    '/sanctions/matches/:id/decide',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Decide a possible match: cleared (not the listed party) or confirmed',
        description: 'Audited. A match already decided is refused (409).',
        security: secured,
        params: z.object({ id: idParam }),
        body: decisionSchema,
        response: { 200: matchSchema, ...errorResponses },
      },
    },
    async (request) =>
      presentSanctionsMatch(
        await decideSanctionsMatch(db, request.params.id, {
          ...request.body,
          at: deps.clock.now(),
          actor: auditActorOf(principalOf(request)),
        }),
      ),
  );
};
