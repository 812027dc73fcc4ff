import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Principal } from '../../accounts/principal.js';
import { caseIdFromRef } from '../../cases/case-ref.js';
import { type CaseRecord, getCase } from '../../cases/case-repository.js';
import { latestNoticesOfCases } from '../../cases/message-repository.js';
import { queueCases } from '../../cases/queries/case-queue.js';
import { recordCustomerResponse } from '../../enforcement/commands/customer-response-portal.js';
import { policyHistories } from '../../enforcement/pipeline/case-transition.js';
import { AupError, isAupError } from '../../errors.js';
import type { LoadedPolicy } from '../../policy/policy-loader.js';
import { acceptPolicyVersion } from '../../registry/policy-acceptance-portal.js';
import { getCustomerById } from '../../registry/registry-query.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { loadCaseView } from '../console/case-view.js';
import { type EnforcementSource, storeEnforcementSource } from '../console/enforcement-source.js';
import { policyBodyHtml, versionTimeline } from '../public/policy-pages.js';
import { trusted } from '../views/html.js';
import { page, sendPage } from '../views/layout.js';
import {
  type AreaSpec,
  caseRefOf,
  field,
  formOf,
  installErrorPages,
  installGuard,
  principalOfPage,
  redirectWith,
  registerLogin,
  shell,
} from '../views/page-support.js';
import { registerCompliancePortalPages } from './compliance-portal-pages.js';
import { renderPortalCase, renderPortalHome, renderPortalPolicy } from './portal-pages.js';

/**
 * The customer portal under `/portal`: a customer's own cases and notices, the evidence its policy shares,
 * the deadline; it can reply, say what it fixed (the case goes to review), and accept a new AUP version.
 *
 * Isolation: every case is loaded through `ownCase`, which answers 404 for a case of another customer
 * exactly as for a case that does not exist (no probing of references); the write paths check the binding
 * again inside their transaction (recordCustomerResponse).
 */

export interface PortalOptions {
  readonly deps: ResolvedAppDeps;
  readonly enforcement?: EnforcementSource;
}

export const portalSpec: AreaSpec = {
  area: 'portal',
  base: '/portal',
  roles: ['customer'],
  nav: () => [
    { href: '/portal', label: 'My cases', key: 'cases' },
    { href: '/portal/policy', label: 'Acceptable Use Policy', key: 'policy' },
    { href: '/portal/compliance/consents', label: 'Vulnerability tests', key: 'consents' },
  ],
};

function customerIdOf(p: Principal): number {
  if (p.role !== 'customer' || p.customerId === null) {
    throw new AupError('AUP_ERR_AUTH_FORBIDDEN', 'the portal is for customer accounts');
  }
  return p.customerId;
}

export const portalPlugin: FastifyPluginAsync<PortalOptions> = async (app: FastifyInstance, options) => {
  const deps = options.deps;
  const db = deps.store.db;
  const secure = deps.http.secureCookies;
  const enforcement = options.enforcement ?? storeEnforcementSource(deps);
  installErrorPages(app, portalSpec);
  installGuard(app, portalSpec, ['/portal/login']);
  registerLogin(app, portalSpec, deps);

  const ownCase = async (p: Principal, ref: string): Promise<CaseRecord> => {
    const customerId = customerIdOf(p);
    let record: CaseRecord | undefined;
    try {
      record = await getCase(db, caseIdFromRef(ref));
    } catch {
      record = undefined;
    }
    if (!record || record.customerId !== customerId || record.mergedInto !== null) {
      throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case among yours');
    }
    return record;
  };

  registerCompliancePortalPages(app, portalSpec, deps, { ownCase, enforcement });

  const latestPolicyFor = async (providerHint: string | undefined): Promise<LoadedPolicy | undefined> => {
    const histories = policyHistories(await enforcement());
    const history = histories.find((h) => h.provider === providerHint) ?? histories[0];
    if (!history) return undefined;
    const t = versionTimeline(history, deps.clock.now());
    return t.upcoming.at(-1) ?? t.current;
  };

  app.get('/', async (request, reply) => {
    const p = principalOfPage(request);
    const customerId = customerIdOf(p);
    const customer = await getCustomerById(db, customerId);
    if (!customer)
      throw new AupError('AUP_ERR_NOT_FOUND', 'your customer record is missing: contact the abuse desk');
    const cases = await queueCases(db, { customerId, pageSize: 100 });
    const ids = cases.rows.map((c) => c.id);
    const noticeRows = await latestNoticesOfCases(db, ids, 50);
    const refs = new Map(cases.rows.map((c) => [c.id, c.ref]));
    const latest = await latestPolicyFor(customer.acceptedPolicy?.provider);
    const pending =
      latest &&
      !(
        customer.acceptedPolicy?.version === latest.document.version &&
        customer.acceptedPolicy.provider === latest.document.provider.id
      )
        ? latest
        : undefined;
    const s = shell(request, reply, portalSpec, 'cases');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Your cases',
        body: renderPortalHome({
          customer,
          cases,
          notices: noticeRows.map((n) => ({
            caseRef: refs.get(n.caseId) ?? '',
            subject: n.subject,
            at: n.at,
          })),
          pendingPolicy: pending,
          now: deps.clock.now(),
        }),
      }),
    );
  });

  app.get('/cases/:ref', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await ownCase(principalOfPage(request), ref);
    const view = await loadCaseView(await enforcement(), deps.evidenceStore, record, {
      audit: false,
      notes: false,
    });
    const s = shell(request, reply, portalSpec, 'cases');
    return sendPage(
      reply,
      page({
        ...s,
        title: record.ref,
        body: renderPortalCase(view, { csrfToken: s.csrfToken, now: deps.clock.now() }),
      }),
    );
  });

  const respond =
    (cureClaimed: boolean) =>
    async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const { ref } = caseRefOf(request.params);
      const p = principalOfPage(request);
      const record = await ownCase(p, ref);
      const back = `/portal/cases/${encodeURIComponent(record.ref)}`;
      try {
        await recordCustomerResponse(await enforcement(), {
          caseRef: record.ref,
          customerId: customerIdOf(p),
          author: p.name,
          text: field(formOf(request), 'text'),
          cureClaimed,
        });
      } catch (error) {
        if (isAupError(error) && error.status < 500 && error.code !== 'AUP_ERR_NOT_FOUND') {
          return redirectWith(reply, back, { kind: 'error', text: error.message }, secure);
        }
        throw error;
      }
      return redirectWith(
        reply,
        back,
        {
          kind: 'ok',
          text: cureClaimed
            ? 'Thank you: the abuse desk will review your fix.'
            : 'Your reply was sent to the abuse desk.',
        },
        secure,
      );
    };
  app.post('/cases/:ref/reply', respond(false));
  app.post('/cases/:ref/cured', respond(true));

  app.get('/policy', async (request, reply) => {
    const customerId = customerIdOf(principalOfPage(request));
    const customer = await getCustomerById(db, customerId);
    if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', 'your customer record is missing');
    const current = await latestPolicyFor(customer.acceptedPolicy?.provider);
    const s = shell(request, reply, portalSpec, 'policy');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Acceptable Use Policy',
        body: renderPortalPolicy({
          customer,
          current,
          policyHtml: current
            ? trusted(policyBodyHtml(current.document).value)
            : trusted('<p>No policy is published.</p>'),
          csrfToken: s.csrfToken,
        }),
      }),
    );
  });

  app.post('/policy/accept', async (request, reply) => {
    const p = principalOfPage(request);
    const customerId = customerIdOf(p);
    const body = formOf(request);
    if (field(body, 'confirm') !== 'yes')
      throw new AupError('AUP_ERR_INPUT_INVALID', 'tick the box to accept');
    const histories = policyHistories(await enforcement());
    const history = histories.find((h) => h.provider === field(body, 'provider'));
    const version = history?.versions.find((v) => v.document.version === field(body, 'version'));
    if (!version) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such policy version');
    await acceptPolicyVersion(db, {
      customerId,
      provider: version.document.provider.id,
      version: version.document.version,
      effectiveAt: new Date(version.document.effective_at),
      effectiveAtOf: (accepted) => {
        const v = history?.versions.find((h) => h.document.version === accepted);
        return v ? new Date(v.document.effective_at) : undefined;
      },
      at: deps.clock.now(),
      actor: `user:${p.name}`,
    });
    return redirectWith(
      reply,
      '/portal/policy',
      { kind: 'ok', text: `You accepted version ${version.document.version}.` },
      secure,
    );
  });
};
