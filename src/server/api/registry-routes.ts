import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../accounts/principal.js';
import { auditActorOf } from '../../accounts/principal.js';
import { rescreenCustomers, screenNewCustomers } from '../../compliance/sanctions/sanctions-repository.js';
import { AupError } from '../../errors.js';
import { detectRegistryFormat, parseRegistryFile } from '../../registry/registry-file-parser.js';
import { importRegistry } from '../../registry/registry-import.js';
import {
  getCustomerById,
  listAssignmentsPage,
  listCustomers,
  listServices,
  refsOf,
} from '../../registry/registry-query.js';
import {
  type AssignmentRecord,
  assignResource,
  type CustomerRecord,
  createCustomer,
  createService,
  findCustomerByRef,
  findServiceByRef,
  REGISTRY_STATUSES,
  SERVICE_KINDS,
  type ServiceRecord,
} from '../../registry/registry-repository.js';
import { assertOwnCustomer, principalOf } from '../plugins/auth-plugin.js';
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
 * The registry over HTTP: customers, services, assignments (read and create) and the bulk import of the
 * CSV/JSON files `aupdesk registry import` takes. Staff see everything; a customer principal sees only its
 * own customer, services and assignments (another customer's ref answers 404). Writes are for staff.
 */

const customerSchema = z
  .object({
    id: z.number().int(),
    ref: z.string(),
    name: z.string(),
    emails: z.array(z.string()),
    country: z.string().nullable(),
    status: z.enum(REGISTRY_STATUSES),
    acceptedPolicy: z
      .object({ provider: z.string(), version: z.string(), at: z.string().nullable() })
      .nullable(),
  })
  .meta({ id: 'Customer' });

const serviceSchema = z
  .object({
    id: z.number().int(),
    ref: z.string(),
    customerRef: z.string(),
    kind: z.enum(SERVICE_KINDS),
    status: z.enum(REGISTRY_STATUSES),
    provisioningRef: z.string().nullable(),
  })
  .meta({ id: 'Service' });

const assignmentSchema = z
  .object({
    id: z.number().int(),
    serviceRef: z.string(),
    customerRef: z.string(),
    resource: z.string().describe('a prefix (CIDR) or a domain'),
    validFrom: z.string(),
    validTo: z.string().nullable(),
  })
  .meta({ id: 'Assignment' });

const importSummarySchema = z
  .object({
    rows: z.number().int(),
    imported: z.number().int(),
    failed: z.number().int(),
    changed: z.boolean(),
    customers: z.object({ created: z.number(), updated: z.number(), unchanged: z.number() }),
    services: z.object({ created: z.number(), updated: z.number(), unchanged: z.number() }),
    assignments: z.object({ created: z.number(), updated: z.number(), unchanged: z.number() }),
    errors: z.array(z.object({ location: z.string(), code: z.string(), message: z.string() })),
  })
  .meta({ id: 'RegistryImportSummary' });

const refParam = z.object({ ref: z.string().min(1).max(200) });
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export function presentCustomer(c: CustomerRecord): z.infer<typeof customerSchema> {
  return {
    id: c.id,
    ref: c.ref,
    name: c.name,
    emails: c.emails,
    country: c.country,
    status: c.status,
    acceptedPolicy: c.acceptedPolicy
      ? {
          provider: c.acceptedPolicy.provider,
          version: c.acceptedPolicy.version,
          at: iso(c.acceptedPolicy.at),
        }
      : null,
  };
}

function presentService(s: ServiceRecord, customerRef: string): z.infer<typeof serviceSchema> {
  return {
    id: s.id,
    ref: s.ref,
    customerRef,
    kind: s.kind,
    status: s.status,
    provisioningRef: s.provisioningRef,
  };
}

function presentAssignment(
  a: AssignmentRecord,
  refs: { customers: Map<number, string>; services: Map<number, string> },
): z.infer<typeof assignmentSchema> {
  return {
    id: a.id,
    serviceRef: refs.services.get(a.serviceId) ?? String(a.serviceId),
    customerRef: refs.customers.get(a.customerId) ?? String(a.customerId),
    resource: a.resource,
    validFrom: iso(a.validFrom)!,
    validTo: iso(a.validTo),
  };
}

/** The customer id a principal's lists are narrowed to (customers see their own only). */
function scopeOf(principal: Principal): { customerId?: number } {
  return principal.role === 'customer' && principal.customerId !== null
    ? { customerId: principal.customerId }
    : {};
}

export const registryRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const readers = app.requireAuth(['admin', 'analyst', 'customer']);
  const writers = app.requireAuth(['admin', 'analyst']);
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'string', bodyLimit: deps.http.maxUploadBytes },
    (_request, body, done) => done(null, body),
  );

  typed(app).get(
    '/customers',
    {
      onRequest: readers,
      schema: {
        tags: ['registry'],
        summary: 'Customers (a customer principal sees itself)',
        security: secured,
        querystring: z.object(pageQuery),
        response: {
          200: z.object({ items: z.array(customerSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const afterId = decodeCursor(request.query.cursor);
      const page = await listCustomers(db, {
        ...scopeOf(principalOf(request)),
        ...(afterId !== undefined ? { afterId } : {}),
        limit: request.query.limit,
      });
      return { items: page.items.map(presentCustomer), nextCursor: encodeCursor(page.nextAfterId) };
    },
  );

  typed(app).get(
    '/customers/:ref',
    {
      onRequest: readers,
      schema: {
        tags: ['registry'],
        summary: 'One customer by its reference',
        security: secured,
        params: refParam,
        response: { 200: customerSchema, ...errorResponses },
      },
    },
    async (request) => {
      const customer = await findCustomerByRef(db, request.params.ref);
      if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', `customer ${request.params.ref} does not exist`);
      assertOwnCustomer(principalOf(request), customer.id, `customer ${request.params.ref}`);
      return presentCustomer(customer);
    },
  );

  typed(app).post(
    '/customers',
    {
      onRequest: writers,
      schema: {
        tags: ['registry'],
        summary: 'Create a customer',
        security: secured,
        body: z.object({
          ref: z.string().trim().min(1).max(200),
          name: z.string().trim().min(1).max(300),
          emails: z.array(z.email()).max(50).default([]),
          country: z.string().length(2).nullable().default(null),
          status: z.enum(REGISTRY_STATUSES).default('active'),
          acceptedPolicy: z
            .object({ provider: z.string().min(1), version: z.string().min(1), at: isoDate })
            .nullable()
            .default(null),
        }),
        response: { 201: customerSchema, ...errorResponses, 409: problemSchema },
      },
    },
    async (request, reply) => {
      const customer = await createCustomer(db, request.body);
      // A new customer is screened against the SDN list in force (Secure Packet §7); a match is queued.
      await screenNewCustomers(db, [{ ref: customer.ref, name: customer.name, country: customer.country }], {
        at: deps.clock.now(),
        actor: auditActorOf(principalOf(request)),
      });
      return reply.code(201).send(presentCustomer(customer));
    },
  );

  typed(app).get(
    '/services',
    {
      onRequest: readers,
      schema: {
        tags: ['registry'],
        summary: 'Services, optionally of one customer',
        security: secured,
        querystring: z.object({
          ...pageQuery,
          customer: z.string().max(200).optional().describe('customer ref'),
        }),
        response: {
          200: z.object({ items: z.array(serviceSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      let scope = scopeOf(principal);
      if (request.query.customer !== undefined) {
        const customer = await findCustomerByRef(db, request.query.customer);
        if (!customer)
          throw new AupError('AUP_ERR_NOT_FOUND', `customer ${request.query.customer} does not exist`);
        assertOwnCustomer(principal, customer.id, `customer ${request.query.customer}`);
        scope = { customerId: customer.id };
      }
      const afterId = decodeCursor(request.query.cursor);
      const page = await listServices(db, {
        ...scope,
        ...(afterId !== undefined ? { afterId } : {}),
        limit: request.query.limit,
      });
      const refs = await refsOf(db, { customerIds: page.items.map((s) => s.customerId), serviceIds: [] });
      return {
        items: page.items.map((s) =>
          presentService(s, refs.customers.get(s.customerId) ?? String(s.customerId)),
        ),
        nextCursor: encodeCursor(page.nextAfterId),
      };
    },
  );

  typed(app).get(
    '/services/:ref',
    {
      onRequest: readers,
      schema: {
        tags: ['registry'],
        summary: 'One service by its reference',
        security: secured,
        params: refParam,
        response: { 200: serviceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const service = await findServiceByRef(db, request.params.ref);
      if (!service) throw new AupError('AUP_ERR_NOT_FOUND', `service ${request.params.ref} does not exist`);
      assertOwnCustomer(principalOf(request), service.customerId, `service ${request.params.ref}`);
      const customer = await getCustomerById(db, service.customerId);
      return presentService(service, customer?.ref ?? String(service.customerId));
    },
  );

  typed(app).post(
    '/services',
    {
      onRequest: writers,
      schema: {
        tags: ['registry'],
        summary: 'Create a service for a customer',
        security: secured,
        body: z.object({
          ref: z.string().trim().min(1).max(200),
          customerRef: z.string().trim().min(1).max(200),
          kind: z.enum(SERVICE_KINDS),
          status: z.enum(REGISTRY_STATUSES).default('active'),
          provisioningRef: z.string().trim().min(1).max(200).nullable().default(null),
        }),
        response: { 201: serviceSchema, ...errorResponses, 409: problemSchema },
      },
    },
    async (request, reply) => {
      const service = await createService(db, request.body);
      return reply.code(201).send(presentService(service, request.body.customerRef));
    },
  );

  typed(app).get(
    '/assignments',
    {
      onRequest: readers,
      schema: {
        tags: ['registry'],
        summary: 'Assignments (prefixes and domains held over time), optionally of one service',
        security: secured,
        querystring: z.object({
          ...pageQuery,
          service: z.string().max(200).optional().describe('service ref'),
        }),
        response: {
          200: z.object({ items: z.array(assignmentSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const scope: { customerId?: number; serviceId?: number } = scopeOf(principal);
      if (request.query.service !== undefined) {
        const service = await findServiceByRef(db, request.query.service);
        if (!service)
          throw new AupError('AUP_ERR_NOT_FOUND', `service ${request.query.service} does not exist`);
        assertOwnCustomer(principal, service.customerId, `service ${request.query.service}`);
        scope.serviceId = service.id;
      }
      const afterId = decodeCursor(request.query.cursor);
      const page = await listAssignmentsPage(db, {
        ...scope,
        ...(afterId !== undefined ? { afterId } : {}),
        limit: request.query.limit,
      });
      const refs = await refsOf(db, {
        customerIds: page.items.map((a) => a.customerId),
        serviceIds: page.items.map((a) => a.serviceId),
      });
      return {
        items: page.items.map((a) => presentAssignment(a, refs)),
        nextCursor: encodeCursor(page.nextAfterId),
      };
    },
  );

  typed(app).post(
    '/assignments',
    {
      onRequest: writers,
      schema: {
        tags: ['registry'],
        summary: 'Assign a prefix or domain to a service over [validFrom, validTo)',
        security: secured,
        body: z.object({
          serviceRef: z.string().trim().min(1).max(200),
          resource: z.string().trim().min(1).max(300),
          validFrom: isoDate,
          validTo: isoDate.nullable().default(null),
        }),
        response: { 201: assignmentSchema, ...errorResponses, 409: problemSchema, 422: problemSchema },
      },
    },
    async (request, reply) => {
      const assignment = await assignResource(db, request.body);
      const refs = await refsOf(db, {
        customerIds: [assignment.customerId],
        serviceIds: [assignment.serviceId],
      });
      return reply.code(201).send(presentAssignment(assignment, refs));
    },
  );

  typed(app).post(
    '/registry/import',
    {
      onRequest: writers,
      bodyLimit: deps.http.maxUploadBytes,
      schema: {
        tags: ['registry'],
        summary: 'Import registry rows (CSV or JSON, as `aupdesk registry import`); idempotent',
        description:
          'Send text/csv, or application/json (an array of rows or the nested customers document).',
        security: secured,
        consumes: ['text/csv', 'application/json'],
        response: {
          200: importSummarySchema,
          ...errorResponses,
          413: problemSchema,
          415: problemSchema,
          422: problemSchema,
        },
      },
    },
    async (request) => {
      const isCsv = typeof request.body === 'string';
      const text = isCsv ? (request.body as string) : JSON.stringify(request.body);
      const format = isCsv ? detectRegistryFormat('upload.csv', text) : 'json';
      const summary = await importRegistry(db, parseRegistryFile(text, format));
      // New customers are screened against the SDN list in force (Secure Packet §7); matches are queued.
      await rescreenCustomers(db, { at: deps.clock.now(), actor: auditActorOf(principalOf(request)) });
      return summary;
    },
  );
};
