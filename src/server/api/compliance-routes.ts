import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { consentsOfCustomer } from '../../compliance/consents-of-customer.js';
import { importTestConsents } from '../../compliance/import-test-consents.js';
import { waivePolicyVersion } from '../../compliance/policy-waivers.js';
import { testConsentOf } from '../../compliance/test-consent-csv.js';
import {
  listTestConsents,
  revokeTestConsent,
  type StoredTestConsent,
} from '../../compliance/test-consent-repository.js';
import { AupError } from '../../errors.js';
import {
  listPolicyWaivers,
  type PolicyWaiver,
  revokePolicyWaiver,
} from '../../registry/policy-waiver-repository.js';
import { findCustomerByRef } from '../../registry/registry-repository.js';
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
 * Compliance records (compliance/): vulnerability-test consents (Secure Packet §5). Staff list, record
 * (JSON or the consent CSV) and revoke; a customer's key lists its own services' consents.
 */

const consentSchema = z
  .object({
    id: z.number().int(),
    service: z.string(),
    targets: z.array(z.string()).describe('canonical prefixes; a single address is a /32 or /128'),
    validFrom: z.string(),
    validTo: z.string().describe('exclusive'),
    reference: z.string().describe('the written consent: a ticket, a letter'),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'TestConsent' });

const consentInputSchema = z
  .object({
    service: z.string().min(1).max(200),
    targets: z.array(z.string().min(1).max(100)).min(1).max(1000),
    validFrom: z.string().min(1).max(40).describe('date (start of day, UTC) or date-time with zone'),
    validTo: z.string().min(1).max(40).describe('date (the whole day included) or date-time with zone'),
    reference: z.string().min(1).max(500),
  })
  .strict()
  .meta({ id: 'TestConsentFields' });

const recordResultSchema = z
  .object({ created: z.array(consentSchema), existing: z.array(consentSchema) })
  .meta({ id: 'TestConsentRecordResult' });

const waiverSchema = z
  .object({
    id: z.number().int(),
    customer: z.string(),
    provider: z.string(),
    version: z.string().describe('the version waived: the customer stays on the one before it'),
    reason: z.string(),
    grantedAt: z.string(),
    grantedBy: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'PolicyWaiver' });

function presentWaiver(w: PolicyWaiver, customerRef: string): z.infer<typeof waiverSchema> {
  return {
    id: w.id,
    customer: customerRef,
    provider: w.provider,
    version: w.version,
    reason: w.reason,
    grantedAt: w.grantedAt.toISOString(),
    grantedBy: w.grantedBy,
    revokedAt: iso(w.revokedAt),
  };
}

function present(c: StoredTestConsent): z.infer<typeof consentSchema> {
  return {
    id: c.id,
    service: c.service,
    targets: [...c.targets],
    validFrom: c.validFrom.toISOString(),
    validTo: c.validTo.toISOString(),
    reference: c.reference,
    createdAt: c.createdAt.toISOString(),
    createdBy: c.createdBy,
    revokedAt: iso(c.revokedAt),
  };
}

export const complianceRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'string', bodyLimit: 1024 * 1024 },
    (_request, body, done) => done(null, body),
  );

  typed(app).get(
    '/consents',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'customer']),
      schema: {
        tags: ['compliance'],
        summary: 'Vulnerability-test consents (prior written consent to scan given targets)',
        description: "A customer's key sees its own services' consents only.",
        security: secured,
        querystring: z.object({ service: z.string().max(200).optional() }),
        response: { 200: z.object({ items: z.array(consentSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { service } = request.query;
      const rows =
        principal.role === 'customer' && principal.customerId !== null
          ? (await consentsOfCustomer(db, principal.customerId)).filter(
              (c) => service === undefined || c.service === service,
            )
          : await listTestConsents(db, service === undefined ? {} : { service });
      return { items: rows.map(present) };
    },
  );

  typed(app).post(
    '/consents',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Record vulnerability-test consents',
        description:
          'application/json: one consent; text/csv: the consent file (`service,targets,valid_from,valid_to,reference`, targets separated by `;`). All or nothing; recording one already held changes nothing.',
        security: secured,
        consumes: ['application/json', 'text/csv'],
        response: { 201: recordResultSchema, 200: recordResultSchema, ...errorResponses, 422: problemSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const meta = { at: deps.clock.now(), actor: auditActorOf(principal), source: 'api' };
      let result: Awaited<ReturnType<typeof importTestConsents>>;
      if (typeof request.body === 'string') {
        result = await importTestConsents(db, { csv: request.body }, meta);
      } else {
        const parsed = consentInputSchema.safeParse(request.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new AupError(
            'AUP_ERR_INPUT_INVALID',
            `body ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
          );
        }
        result = await importTestConsents(db, { consents: [testConsentOf(parsed.data)] }, meta);
      }
      return reply
        .code(result.created.length > 0 ? 201 : 200)
        .send({ created: result.created.map(present), existing: result.existing.map(present) });
    },
  );

  typed(app).post(
    '/consents/:id/revoke',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Withdraw a consent (kept on record; later tests are judged as usual)',
        security: secured,
        params: z.object({ id: idParam }),
        body: z.object({ reason: z.string().trim().min(1).max(2000) }).strict(),
        response: { 200: consentSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const revoked = await db.transaction().execute((trx) =>
        revokeTestConsent(trx, request.params.id, {
          at: deps.clock.now(),
          actor: auditActorOf(principal),
          reason: request.body.reason,
        }),
      );
      return present(revoked);
    },
  );

  typed(app).get(
    '/customers/:ref/waivers',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'customer']),
      schema: {
        tags: ['compliance'],
        summary: "A customer's policy waivers (versions that do not bind it)",
        security: secured,
        params: z.object({ ref: z.string().min(1).max(200) }),
        response: { 200: z.object({ items: z.array(waiverSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const customer = await findCustomerByRef(db, request.params.ref);
      if (!customer || (principal.role === 'customer' && principal.customerId !== customer.id)) {
        throw new AupError('AUP_ERR_NOT_FOUND', `customer ${request.params.ref} does not exist`);
      }
      const rows = await listPolicyWaivers(db, { customerId: customer.id });
      return { items: rows.map((w) => presentWaiver(w, customer.ref)) };
    },
  );

  typed(app).post(
    '/customers/:ref/waivers',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary:
          'Waive a policy version for a customer (it stays on the version before, past any grace period)',
        description: "Only where the version's change terms allow waivers (`terms.changes.waivers_allowed`).",
        security: secured,
        params: z.object({ ref: z.string().min(1).max(200) }),
        body: z
          .object({
            provider: z.string().min(1).max(63),
            version: z.string().min(1).max(100),
            reason: z.string().trim().min(1).max(2000),
          })
          .strict(),
        response: { 201: waiverSchema, 200: waiverSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const result = await waivePolicyVersion(db, {
        customerRef: request.params.ref,
        ...request.body,
        at: deps.clock.now(),
        actor: auditActorOf(principal),
      });
      return reply.code(result.created ? 201 : 200).send(presentWaiver(result.waiver, request.params.ref));
    },
  );

  typed(app).post(
    '/customers/:ref/waivers/:id/revoke',
    {
      onRequest: staff,
      schema: {
        tags: ['compliance'],
        summary: 'Withdraw a policy waiver (the newer version binds the customer again)',
        security: secured,
        params: z.object({ ref: z.string().min(1).max(200), id: idParam }),
        body: z.object({ reason: z.string().trim().min(1).max(2000) }).strict(),
        response: { 200: waiverSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const customer = await findCustomerByRef(db, request.params.ref);
      const own = customer
        ? (await listPolicyWaivers(db, { customerId: customer.id })).some((w) => w.id === request.params.id)
        : false;
      if (!customer || !own) throw new AupError('AUP_ERR_NOT_FOUND', 'no such waiver for this customer');
      const revoked = await db.transaction().execute((trx) =>
        revokePolicyWaiver(trx, request.params.id, {
          at: deps.clock.now(),
          actor: auditActorOf(principal),
          reason: request.body.reason,
        }),
      );
      return presentWaiver(revoked, customer.ref);
    },
  );
};
