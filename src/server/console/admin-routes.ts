import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-key-repository.js';
import { roles } from '../../accounts/principal.js';
import { createUser, listUsers } from '../../accounts/user-repository.js';
import { listActions, retryDeadAction } from '../../enforcement/outbox/outbox-repository.js';
import { AupError, isAupError } from '../../errors.js';
import { diffPolicies } from '../../policy/policy-diff.js';
import { parsePolicySource } from '../../policy/policy-loader.js';
import {
  getPolicyVersion,
  listPolicyVersions,
  publishPolicyVersion,
} from '../../policy/policy-repository.js';
import { refsOf } from '../../registry/registry-query.js';
import { findCustomerByRef } from '../../registry/registry-repository.js';
import { html } from '../views/html.js';
import { page, sendPage } from '../views/layout.js';
import { field, formOf, principalOfPage, redirectWith, shell } from '../views/page-support.js';
import {
  renderApiKeys,
  renderPolicies,
  renderPolicyPreview,
  renderProvisioning,
  renderUsers,
} from './admin-pages.js';
import { type ConsoleContext, consoleSpec, orBackWithError, requireAdmin } from './console-context.js';

/** The admin pages (admins only): users, API keys, policies, the provisioning hook. */
export function adminRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { deps, db, secure } = ctx;
  /** The refs of the customers that users or keys belong to (staff belong to none). */
  const ownerRefs = async (rows: ReadonlyArray<{ readonly customerId: number | null }>) =>
    (
      await refsOf(db, {
        customerIds: rows.flatMap((r) => (r.customerId === null ? [] : [r.customerId])),
        serviceIds: [],
      })
    ).customers;
  const customerIdOf = async (ref: string): Promise<number | null> => {
    if (ref === '') return null;
    const c = await findCustomerByRef(db, ref);
    if (!c) throw new AupError('AUP_ERR_INPUT_INVALID', `no customer ${ref}`);
    return c.id;
  };

  app.get('/admin/users', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const users = await listUsers(db);
    const refs = await ownerRefs(users);
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(reply, page({ ...s, title: 'Users', body: renderUsers(users, refs, s.csrfToken) }));
  });

  app.post('/admin/users', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const body = formOf(request);
    const role = z.enum(roles).safeParse(field(body, 'role'));
    const password = typeof body.password === 'string' ? body.password : '';
    return orBackWithError(ctx, reply, '/console/admin/users', async () => {
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
    });
  });

  app.get('/admin/apikeys', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const keys = await listApiKeys(db);
    const refs = await ownerRefs(keys);
    const s = shell(request, reply, consoleSpec, 'admin');
    return sendPage(reply, page({ ...s, title: 'API keys', body: renderApiKeys(keys, refs, s.csrfToken) }));
  });

  app.post('/admin/apikeys', async (request, reply) => {
    requireAdmin(principalOfPage(request));
    const body = formOf(request);
    const role = z.enum(roles).safeParse(field(body, 'role'));
    return orBackWithError(ctx, reply, '/console/admin/apikeys', async () => {
      if (!role.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'choose a role');
      const customerId = await customerIdOf(field(body, 'customer'));
      const created = await createApiKey(db, {
        name: field(body, 'name'),
        role: role.data,
        customerId,
        now: deps.clock.now(),
      });
      const keys = await listApiKeys(db);
      const refs = await ownerRefs(keys);
      const s = shell(request, reply, consoleSpec, 'admin');
      // The key is shown on this response only (never stored in clear, never in a redirect or a cookie).
      return sendPage(
        reply,
        page({ ...s, title: 'API keys', body: renderApiKeys(keys, refs, s.csrfToken, created.key) }),
      );
    });
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
}
