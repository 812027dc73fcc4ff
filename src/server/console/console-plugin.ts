import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-key-repository.js';
import type { Principal, Role } from '../../accounts/principal.js';
import { roles } from '../../accounts/principal.js';
import { createUser, listUsers } from '../../accounts/user-repository.js';
import { caseIdFromRef } from '../../cases/case-ref.js';
import { getCase } from '../../cases/case-repository.js';
import {
  queueCases,
  reportBelongsToCase,
  reportsOfReporter,
  topReporters,
} from '../../cases/queries/case-queue.js';
import { dashboardData } from '../../cases/queries/dashboard.js';
import { getReport } from '../../cases/report-repository.js';
import { listActions, retryDeadAction } from '../../enforcement/outbox/outbox-repository.js';
import { policyHistories } from '../../enforcement/pipeline/case-transition.js';
import { AupError, isAupError } from '../../errors.js';
import { diffPolicies } from '../../policy/policy-diff.js';
import { parsePolicySource } from '../../policy/policy-loader.js';
import {
  getPolicyVersion,
  listPolicyVersions,
  publishPolicyVersion,
} from '../../policy/policy-repository.js';
import {
  getCustomerById,
  getServiceById,
  listAssignmentsPage,
  listServices,
  refsOf,
} from '../../registry/registry-query.js';
import { findCustomerByRef } from '../../registry/registry-repository.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { html } from '../views/html.js';
import { page, sendPage } from '../views/layout.js';
import {
  type AreaSpec,
  caseRefOf,
  field,
  fields,
  formOf,
  installErrorPages,
  installGuard,
  principalOfPage,
  redirectWith,
  registerLogin,
  shell,
} from '../views/page-support.js';
import {
  renderApiKeys,
  renderPolicies,
  renderPolicyPreview,
  renderProvisioning,
  renderUsers,
} from './admin-pages.js';
import { runCaseAction, sendNotice } from './case-actions.js';
import { renderCasePage } from './case-page.js';
import { attachmentBytes, contentDisposition, loadCaseView } from './case-view.js';
import { renderDashboard } from './dashboard-page.js';
import { type EnforcementSource, storeEnforcementSource } from './enforcement-source.js';
import { filterOf, queueQuerySchema, renderQueue } from './queue-page.js';
import {
  renderCustomerPage,
  renderReporterPage,
  renderReportersPage,
  renderServicePage,
} from './registry-pages.js';

/**
 * The analyst console under `/console`: the queue, case pages with every action the binding policy allows,
 * customers, services and reporters, the dashboard, and the admin pages. Server-rendered HTML; every form
 * posts with the session's CSRF token; only admins and analysts get in (admin pages: admins only).
 */

export interface ConsoleOptions {
  readonly deps: ResolvedAppDeps;
  /** Default: the store's published policies (`storeEnforcementSource`). */
  readonly enforcement?: EnforcementSource;
}

const STAFF: readonly Role[] = ['admin', 'analyst'];
export const DASHBOARD_TTL_MS = 30_000;

export const consoleSpec: AreaSpec = {
  area: 'console',
  base: '/console',
  roles: STAFF,
  nav: (p: Principal | null) => [
    { href: '/console', label: 'Queue', key: 'queue' },
    { href: '/console/dashboard', label: 'Dashboard', key: 'dashboard' },
    { href: '/console/reporters', label: 'Reporters', key: 'reporters' },
    ...(p?.role === 'admin' ? [{ href: '/console/admin/users', label: 'Admin', key: 'admin' }] : []),
  ],
};

const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});

export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app: FastifyInstance, options) => {
  const deps = options.deps;
  const db = deps.store.db;
  const secure = deps.http.secureCookies;
  const enforcement = options.enforcement ?? storeEnforcementSource(deps);
  installErrorPages(app, consoleSpec);
  installGuard(app, consoleSpec, ['/console/login']);
  registerLogin(app, consoleSpec, deps);

  const requireAdmin = (p: Principal) => {
    if (p.role !== 'admin') throw new AupError('AUP_ERR_AUTH_FORBIDDEN', 'admin pages are for admins');
  };
  const caseByRef = async (ref: string) => {
    let id: number;
    try {
      id = caseIdFromRef(ref);
    } catch {
      throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case');
    }
    const record = await getCase(db, id);
    if (!record) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case');
    return record;
  };

  // The queue.
  app.get('/', async (request, reply) => {
    const parsed = queueQuerySchema.safeParse(request.query);
    if (!parsed.success)
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `bad filter: ${parsed.error.issues[0]?.path.join('.') ?? ''}`,
      );
    const now = deps.clock.now();
    const enf = await enforcement();
    const clauses = [
      ...new Set(
        policyHistories(enf).flatMap((h) => h.versions.flatMap((v) => v.document.clauses.map((c) => c.id))),
      ),
    ].sort();
    const result = await queueCases(db, filterOf(parsed.data, now));
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Queue',
        body: renderQueue({
          query: parsed.data,
          result,
          clauses,
          csrfToken: s.csrfToken,
          now,
          me: s.user.name,
        }),
      }),
    );
  });

  app.post('/cases/bulk', async (request, reply) => {
    const body = formOf(request);
    const me = principalOfPage(request).name;
    const refs = fields(body, 'case').slice(0, 200);
    const action = field(body, 'action');
    if (refs.length === 0)
      return redirectWith(reply, '/console', { kind: 'error', text: 'Select at least one case.' }, secure);
    const enf = await enforcement();
    const done: string[] = [];
    const failed: string[] = [];
    for (const ref of refs) {
      try {
        if (action === 'notify') await sendNotice(enf, ref, me);
        else if (action === 'assign' || action === 'hold' || action === 'dismiss') {
          await runCaseAction(enf, ref, me, {
            action,
            assignee: field(body, 'assignee'),
            reason: field(body, 'reason') || 'dismissed in bulk',
          });
        } else throw new AupError('AUP_ERR_INPUT_INVALID', 'unknown bulk action');
        done.push(ref);
      } catch (error) {
        failed.push(`${ref}: ${isAupError(error) ? error.message : 'failed'}`);
      }
    }
    const back =
      typeof request.headers.referer === 'string' && request.headers.referer.includes('/console')
        ? '/console'
        : '/console';
    return redirectWith(
      reply,
      back,
      {
        kind: failed.length > 0 ? 'error' : 'ok',
        text: `${action}: ${done.length} done${failed.length > 0 ? `; ${failed.length} failed (${failed.slice(0, 5).join('; ')})` : ''}`,
      },
      secure,
    );
  });

  // A case.
  app.get('/cases/:ref', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await caseByRef(ref);
    const enf = await enforcement();
    const view = await loadCaseView(enf, deps.evidenceStore, record, { audit: true, notes: true });
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: record.ref,
        body: renderCasePage(view, { csrfToken: s.csrfToken, now: deps.clock.now(), me: s.user.name }),
      }),
    );
  });

  app.post('/cases/:ref/actions', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await caseByRef(ref);
    const me = principalOfPage(request).name;
    const back = `/console/cases/${encodeURIComponent(record.ref)}`;
    try {
      const outcome = await runCaseAction(await enforcement(), record.ref, me, formOf(request));
      return redirectWith(reply, back, { kind: 'ok', text: outcome.message }, secure);
    } catch (error) {
      if (isAupError(error) && error.status < 500)
        return redirectWith(reply, back, { kind: 'error', text: error.message }, secure);
      throw error;
    }
  });

  app.get('/cases/:ref/evidence/:report/raw', async (request, reply) => {
    const params = z
      .object({
        ref: z.string().max(40),
        report: z.coerce
          .number()
          .int()
          .positive()
          .max(2 ** 31 - 1),
      })
      .parse(request.params);
    const record = await caseByRef(params.ref);
    const report = await getReport(db, params.report);
    if (!report || !(await reportBelongsToCase(db, report.id, record.id)))
      throw new AupError('AUP_ERR_NOT_FOUND', 'no such evidence on this case');
    const bytes = await deps.evidenceStore.get(report.evidenceSha256);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', contentDisposition(`report-${report.id}.eml`))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(Buffer.from(bytes));
  });

  app.get('/cases/:ref/evidence/:report/attachments/:index', async (request, reply) => {
    const params = z
      .object({
        ref: z.string().max(40),
        report: z.coerce
          .number()
          .int()
          .positive()
          .max(2 ** 31 - 1),
        index: z.coerce.number().int().min(0).max(10_000),
      })
      .parse(request.params);
    const record = await caseByRef(params.ref);
    const report = await getReport(db, params.report);
    if (!report || !(await reportBelongsToCase(db, report.id, record.id)))
      throw new AupError('AUP_ERR_NOT_FOUND', 'no such evidence on this case');
    const found = await attachmentBytes(deps.evidenceStore, report, params.index);
    if (!found) throw new AupError('AUP_ERR_NOT_FOUND', 'no such attachment');
    // Always a download of opaque bytes: an attachment is never displayed by the browser as a page.
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', contentDisposition(found.fileName))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(Buffer.from(found.bytes));
  });

  // Customers, services, reporters.
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

  // The dashboard summarises 30 days: recomputing it more than every DASHBOARD_TTL_MS buys nothing, and one
  // cold computation costs far more than a page (it reads every event of the window).
  let dashboard: { at: number; data: Awaited<ReturnType<typeof dashboardData>> } | undefined;
  app.get('/dashboard', async (request, reply) => {
    const nowMs = deps.clock.now().getTime();
    if (!dashboard || nowMs - dashboard.at > DASHBOARD_TTL_MS || nowMs < dashboard.at) {
      dashboard = { at: nowMs, data: await dashboardData(db, deps.clock.now()) };
    }
    const data = dashboard.data;
    const s = shell(request, reply, consoleSpec, 'dashboard');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Dashboard',
        body: renderDashboard(data),
        scripts: ['/assets/chart.umd.min.js', '/assets/dashboard.js'],
      }),
    );
  });

  // Admin.
  const customerRefMap = async (ids: number[]) =>
    (await refsOf(db, { customerIds: ids, serviceIds: [] })).customers;
  const customerIdOf = async (ref: string): Promise<number | null> => {
    if (ref === '') return null;
    const c = await findCustomerByRef(db, ref);
    if (!c) throw new AupError('AUP_ERR_INPUT_INVALID', `no customer ${ref}`);
    return c.id;
  };

  app.get('/admin/users', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const users = await listUsers(db);
    const refs = await customerRefMap(users.flatMap((u) => (u.customerId === null ? [] : [u.customerId])));
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(reply, page({ ...s, title: 'Users', body: renderUsers(users, refs, s.csrfToken) }));
  });

  app.post('/admin/users', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const body = formOf(request);
    const role = z.enum(roles).safeParse(field(body, 'role'));
    const password = typeof body.password === 'string' ? body.password : '';
    try {
      if (!role.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'choose a role');
      if (password.length < 12)
        throw new AupError('AUP_ERR_INPUT_INVALID', 'the password needs at least 12 characters');
      const customerId = await customerIdOf(field(body, 'customer'));
      const user = await createUser(db, {
        email: field(body, 'email'),
        role: role.data,
        customerId,
        password,
        now: deps.clock.now(),
      });
      return redirectWith(
        reply,
        '/console/admin/users',
        { kind: 'ok', text: `user ${user.email} (${user.role}) added` },
        secure,
      );
    } catch (error) {
      if (isAupError(error) && error.status < 500)
        return redirectWith(reply, '/console/admin/users', { kind: 'error', text: error.message }, secure);
      throw error;
    }
  });

  app.get('/admin/apikeys', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const keys = await listApiKeys(db);
    const refs = await customerRefMap(keys.flatMap((k) => (k.customerId === null ? [] : [k.customerId])));
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(reply, page({ ...s, title: 'API keys', body: renderApiKeys(keys, refs, s.csrfToken) }));
  });

  app.post('/admin/apikeys', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const body = formOf(request);
    const role = z.enum(roles).safeParse(field(body, 'role'));
    try {
      if (!role.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'choose a role');
      const customerId = await customerIdOf(field(body, 'customer'));
      const created = await createApiKey(db, {
        name: field(body, 'name'),
        role: role.data,
        customerId,
        now: deps.clock.now(),
      });
      const keys = await listApiKeys(db);
      const refs = await customerRefMap(keys.flatMap((k) => (k.customerId === null ? [] : [k.customerId])));
      const s = shell(request, reply, consoleSpec, 'admin');
      // The key is shown on this response only (never stored in clear, never in a redirect or a cookie).
      return sendPage(
        reply,
        page({ ...s, title: 'API keys', body: renderApiKeys(keys, refs, s.csrfToken, created.key) }),
      );
    } catch (error) {
      if (isAupError(error) && error.status < 500)
        return redirectWith(reply, '/console/admin/apikeys', { kind: 'error', text: error.message }, secure);
      throw error;
    }
  });

  app.post('/admin/apikeys/revoke', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const id = Number(field(formOf(request), 'id'));
    if (!Number.isSafeInteger(id) || id <= 0) throw new AupError('AUP_ERR_INPUT_INVALID', 'no key chosen');
    const revoked = await revokeApiKey(db, id, deps.clock.now());
    return redirectWith(
      reply,
      '/console/admin/apikeys',
      { kind: 'ok', text: `key ${revoked.name} revoked` },
      secure,
    );
  });

  app.get('/admin/policies', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const versions = await listPolicyVersions(db);
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(reply, page({ ...s, title: 'Policies', body: renderPolicies(versions, s.csrfToken) }));
  });

  const parseDraft = (source: string) => {
    if (source.trim() === '') throw new AupError('AUP_ERR_INPUT_INVALID', 'paste a policy document');
    return parsePolicySource(source, 'console');
  };

  app.post('/admin/policies/preview', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const source = typeof formOf(request).source === 'string' ? (formOf(request).source as string) : '';
    const s = shell(request, reply, consoleSpec, 'admin');
    try {
      const draft = parseDraft(source);
      const versions = (await listPolicyVersions(db, draft.document.provider.id)).filter(
        (v) => v.version !== draft.document.version,
      );
      const latest = versions.at(-1);
      const previous = latest ? await getPolicyVersion(db, latest.provider, latest.version) : undefined;
      const diff = previous ? diffPolicies(previous.document, draft.document) : undefined;
      return sendPage(
        reply,
        page({
          ...s,
          title: 'Publish policy',
          body: renderPolicyPreview({
            provider: draft.document.provider.id,
            version: draft.document.version,
            diff,
            source,
            csrf: s.csrfToken,
          }),
        }),
      );
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      const versions = await listPolicyVersions(db);
      return sendPage(
        reply,
        page({
          ...s,
          flash: { kind: 'error', text: error.message },
          title: 'Policies',
          body: renderPolicies(versions, s.csrfToken, source),
        }),
        400,
      );
    }
  });

  app.post('/admin/policies/publish', async (request, reply) => {
    const me = principalOfPage(request);
    requireAdmin(me);
    const body = formOf(request);
    if (field(body, 'confirm') !== 'yes')
      throw new AupError('AUP_ERR_INPUT_INVALID', 'confirm that you have read the changes');
    const draft = parseDraft(typeof body.source === 'string' ? body.source : '');
    const result = await publishPolicyVersion(db, draft);
    request.log.info(
      { user: me.name, provider: result.provider, version: result.version, status: result.status },
      'policy publish',
    );
    return redirectWith(
      reply,
      '/console/admin/policies',
      { kind: 'ok', text: `${result.provider} ${result.version}: ${result.status}` },
      secure,
    );
  });

  app.get('/admin/provisioning', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const all = await Promise.all(
      ['provision.suspend', 'provision.unsuspend', 'provision.terminate', 'provision.remove-content'].map(
        (kind) => listActions(db, { kind, limit: 100 }),
      ),
    );
    const actions = all
      .flat()
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
      .slice(0, 100);
    const env = process.env;
    const settings = html`<dl class="facts">
  <dt>Webhook URL</dt><dd>${env.AUPDESK_PROVISION_WEBHOOK_URL ?? html`<span class="muted">not set</span>`}</dd>
  <dt>Signing secret</dt><dd>${env.AUPDESK_PROVISION_WEBHOOK_SECRET ? 'set (hidden)' : html`<span class="muted">not set</span>`}</dd>
  <dt>Command</dt><dd>${env.AUPDESK_PROVISION_COMMAND ?? html`<span class="muted">not set</span>`}</dd>
</dl><p class="help">The hook is configured in the environment of <code>aupdesk serve</code> (docs/enforcement.md: webhook contract and signature); this page shows what the process uses and what it delivered.</p>`;
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Provisioning hook',
        body: renderProvisioning({ actions, csrf: s.csrfToken, settings }),
      }),
    );
  });

  app.post('/admin/provisioning/retry', async (request, reply) => {
    const me = principalOfPage(request);
    requireAdmin(me);
    const id = Number(field(formOf(request), 'id'));
    if (!Number.isSafeInteger(id) || id <= 0) throw new AupError('AUP_ERR_INPUT_INVALID', 'no action chosen');
    await db.transaction().execute((trx) =>
      retryDeadAction(trx, id, {
        at: deps.clock.now(),
        actor: `user:${me.name}`,
        reason: 'retried from the console',
      }),
    );
    return redirectWith(
      reply,
      '/console/admin/provisioning',
      { kind: 'ok', text: `action #${id} will be retried` },
      secure,
    );
  });
};
