import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ResolvedAppDeps } from '../app-deps.js';
import { installErrorPages, installGuard, registerLogin } from '../views/page-support.js';
import { adminRoutes } from './admin-routes.js';
import { caseRoutes } from './case-routes.js';
import { registerCompliancePages } from './compliance-pages.js';
import { type ConsoleContext, consoleSpec } from './console-context.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { directoryRoutes } from './directory-routes.js';
import { registerDmcaLegalPages } from './dmca-legal-pages.js';
import { type EnforcementSource, storeEnforcementSource } from './enforcement-source.js';
import { registerPrivacyPages } from './privacy-pages.js';
import { queueRoutes } from './queue-routes.js';
import { triagePages } from './triage-pages.js';

/**
 * The analyst console under `/console`: the queue, case pages with every action the binding policy allows,
 * customers, services and reporters, the dashboard, and the admin pages. Server-rendered HTML; every form
 * posts with the session's CSRF token; only admins and analysts get in (admin pages: admins only). One
 * route file per area, as the API's.
 */

export interface ConsoleOptions {
  readonly deps: ResolvedAppDeps;
  /** Default: the store's published policies (`storeEnforcementSource`). */
  readonly enforcement?: EnforcementSource;
}

export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app: FastifyInstance, options) => {
  const deps = options.deps;
  const ctx: ConsoleContext = {
    deps,
    db: deps.store.db,
    secure: deps.http.secureCookies,
    enforcement: options.enforcement ?? storeEnforcementSource(deps),
  };
  installErrorPages(app, consoleSpec);
  installGuard(app, consoleSpec, ['/console/login']);
  registerLogin(app, consoleSpec, deps);
  queueRoutes(app, ctx);
  caseRoutes(app, ctx);
  directoryRoutes(app, ctx);
  dashboardRoutes(app, ctx);
  adminRoutes(app, ctx);
  registerDmcaLegalPages(app, deps, consoleSpec);
  registerCompliancePages(app, consoleSpec, deps);
  registerPrivacyPages(app, consoleSpec, deps);
  // The triage queue, the reports list and cases by hand (triage-pages.ts), behind the same guard.
  await app.register(triagePages, { deps, enforcement: ctx.enforcement, spec: consoleSpec });
};
