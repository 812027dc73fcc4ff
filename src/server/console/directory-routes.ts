import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { queueCases, reportsOfReporter, topReporters } from '../../cases/queries/case-queue.js';
import { AupError } from '../../errors.js';
import {
  getCustomerById,
  getServiceById,
  listAssignmentsPage,
  listServices,
} from '../../registry/registry-query.js';
import { page, sendPage } from '../views/layout.js';
import { shell } from '../views/page-support.js';
import { type ConsoleContext, consoleSpec } from './console-context.js';
import {
  renderCustomerPage,
  renderReporterPage,
  renderReportersPage,
  renderServicePage,
} from './registry-pages.js';

/** Who is involved: customers, services and reporters, each with their cases. */
const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});

export function directoryRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { deps, db } = ctx;
  app.get('/customers/:id', async (request, reply) => {
    const { id } = idParam.parse(request.params);
    const customer = await getCustomerById(db, id);
    if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such customer');
    const [services, assignments, cases] = await Promise.all([
      listServices(db, { customerId: id, limit: 200 }),
      listAssignmentsPage(db, { customerId: id, limit: 200 }),
      queueCases(db, { customerId: id, pageSize: 50 }),
    ]);
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: `Customer ${customer.ref}`,
        body: renderCustomerPage({
          customer,
          services: services.items,
          assignments: assignments.items,
          cases,
          now: deps.clock.now(),
        }),
      }),
    );
  });

  app.get('/services/:id', async (request, reply) => {
    const { id } = idParam.parse(request.params);
    const service = await getServiceById(db, id);
    if (!service) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such service');
    const [customer, assignments, cases] = await Promise.all([
      getCustomerById(db, service.customerId),
      listAssignmentsPage(db, { serviceId: id, limit: 200 }),
      queueCases(db, { serviceId: id, pageSize: 50 }),
    ]);
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: `Service ${service.ref}`,
        body: renderServicePage({
          service,
          customer,
          assignments: assignments.items,
          cases,
          now: deps.clock.now(),
        }),
      }),
    );
  });

  app.get('/reporters', async (request, reply) => {
    const since = new Date(deps.clock.now().getTime() - 30 * 86_400_000);
    const rows = await topReporters(db, since);
    const s = shell(request, reply, consoleSpec, 'reporters');
    return sendPage(reply, page({ ...s, title: 'Reporters', body: renderReportersPage(rows, since) }));
  });

  app.get('/reporters/view', async (request, reply) => {
    const { email } = z.object({ email: z.string().min(1).max(320) }).parse(request.query);
    const reports = await reportsOfReporter(db, email);
    const s = shell(request, reply, consoleSpec, 'reporters');
    return sendPage(
      reply,
      page({ ...s, title: `Reporter ${email}`, body: renderReporterPage(email, reports) }),
    );
  });
}
