import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import {
  type LicenceCertification,
  listCertifications,
  recordCertification,
  requestCertification,
} from '../../compliance/licence-certification.js';
import { slaExclusions, slaExclusionsCsv, slaExclusionsJson } from '../../compliance/sla-exclusions.js';
import { principalOf } from '../plugins/auth-plugin.js';
import { type ApiPluginOptions, errorResponses, iso, secured, typed } from './api-support.js';

/**
 * The billing side of the compliance workflows: licence certifications (Secure Packet §6; the worker
 * queues the standard fee for requests unanswered past their deadline) and the SLA-credit exclusion
 * report (§11) as JSON or, with `Accept: text/csv`, as the CSV billing imports.
 */

const isoDate = z.iso.datetime({ offset: true });

const certificationSchema = z
  .object({
    ref: z.string(),
    customer: z.string(),
    requestedAt: z.string(),
    dueAt: z.string(),
    certifiedAt: z.string().nullable(),
    statement: z.string().nullable(),
    fee: z.object({ amount: z.number(), currency: z.string(), everyDays: z.number().int() }),
    feesQueued: z.number().int(),
  })
  .meta({ id: 'LicenceCertification' });

const interruptionSchema = z
  .object({
    service: z.string(),
    case: z.string(),
    start: z.string(),
    end: z.string(),
    ongoing: z.boolean(),
    hours: z.number(),
  })
  .meta({ id: 'SlaInterruption' });

const slaReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    customers: z.array(
      z.object({ customer: z.string(), hours: z.number(), interruptions: z.array(interruptionSchema) }),
    ),
  })
  .meta({ id: 'SlaExclusionReport' });

function certJson(c: LicenceCertification): z.infer<typeof certificationSchema> {
  return {
    ref: c.ref,
    customer: c.customerRef,
    requestedAt: c.requestedAt.toISOString(),
    dueAt: c.dueAt.toISOString(),
    certifiedAt: iso(c.certifiedAt),
    statement: c.statement,
    fee: { ...c.fee },
    feesQueued: c.feesQueued,
  };
}

export const complianceBillingRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  typed(app).post(
    '/compliance/certifications',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Ask a customer to certify its software licences by a deadline (Secure Packet §6)',
        security: secured,
        body: z
          .object({
            customer: z.string().trim().min(1).max(200),
            dueAt: isoDate,
            fee: z
              .object({
                amount: z.number().positive().max(1e9),
                currency: z.string().regex(/^[A-Za-z]{3}$/),
                everyDays: z.number().int().min(1).max(366).default(30),
              })
              .strict(),
          })
          .strict()
          .meta({ id: 'NewLicenceCertification' }),
        response: { 201: certificationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const cert = await db.transaction().execute((trx) =>
        requestCertification(trx, {
          customerRef: b.customer,
          dueAt: new Date(b.dueAt),
          fee: b.fee,
          at: deps.clock.now(),
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return reply.code(201).send(certJson(cert));
    },
  );

  typed(app).get(
    '/compliance/certifications',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Licence certification requests, newest first',
        security: secured,
        querystring: z.object({ customer: z.string().max(200).optional() }),
        response: {
          200: z.object({ items: z.array(certificationSchema) }).meta({ id: 'LicenceCertificationList' }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      items: (await listCertifications(db, { customerRef: request.query.customer })).map(certJson),
    }),
  );

  typed(app).post(
    '/compliance/certifications/:ref/certify',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Record the customer’s certification (no further fee is charged)',
        security: secured,
        params: z.object({ ref: z.string().max(40) }),
        body: z.object({ statement: z.string().trim().min(1).max(5000) }).strict(),
        response: { 200: certificationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const cert = await db.transaction().execute((trx) =>
        recordCertification(trx, {
          ref: request.params.ref,
          statement: request.body.statement,
          at: deps.clock.now(),
          actor: auditActorOf(principalOf(request)),
        }),
      );
      return certJson(cert);
    },
  );

  typed(app).get(
    '/compliance/sla-exclusions',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary:
          'Service interruptions caused by AUP enforcement per customer in a period (not eligible for SLA credit); Accept: text/csv for the billing CSV',
        security: secured,
        querystring: z.object({ from: isoDate, to: isoDate }),
        produces: ['application/json', 'text/csv'],
        response: { 200: slaReportSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const report = await slaExclusions(db, {
        from: new Date(request.query.from),
        to: new Date(request.query.to),
      });
      if (/\btext\/csv\b/i.test(request.headers.accept ?? '')) {
        // A Buffer bypasses the JSON serializer; the type provider only knows the JSON shape of a 200.
        const csv = Buffer.from(slaExclusionsCsv(report), 'utf8') as unknown as ReturnType<
          typeof slaExclusionsJson
        >;
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="sla-exclusions.csv"')
          .send(csv);
      }
      return slaExclusionsJson(report);
    },
  );
};
