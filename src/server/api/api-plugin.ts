import type { FastifyPluginAsync } from 'fastify';
import type { ApiPluginOptions } from './api-support.js';
import { authRoutes } from './auth-routes.js';
import { caseOpenRoutes } from './case-open-routes.js';
import { caseRoutes } from './case-routes.js';
import { complianceBillingRoutes } from './compliance-billing-routes.js';
import { complianceRoutes } from './compliance-routes.js';
import { consentEvidenceRoutes } from './consent-evidence-routes.js';
import { dmcaRoutes } from './dmca-routes.js';
import { evidenceRoutes } from './evidence-routes.js';
import { legalRoutes } from './legal-routes.js';
import { policyRoutes } from './policy-routes.js';
import { privacyRoutes } from './privacy-routes.js';
import { registryRoutes } from './registry-routes.js';
import { reportRoutes } from './report-routes.js';
import { sanctionsRoutes } from './sanctions-routes.js';
import { triageRoutes } from './triage-routes.js';

/**
 * The JSON API under `/api/v1`: one encapsulated plugin per resource, so a resource's content-type parsers
 * (raw report bodies, CSV, YAML) stay inside it.
 */
export const apiPlugin: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  // Only `deps` is passed on: the `prefix` this plugin was registered with must not be applied twice.
  const options: ApiPluginOptions = { deps };
  await app.register(authRoutes, options);
  await app.register(reportRoutes, options);
  await app.register(caseRoutes, options);
  await app.register(caseOpenRoutes, options);
  await app.register(triageRoutes, options);
  await app.register(registryRoutes, options);
  await app.register(policyRoutes, options);
  await app.register(evidenceRoutes, options);
  await app.register(dmcaRoutes, options);
  await app.register(legalRoutes, options);
  await app.register(complianceRoutes, options);
  await app.register(sanctionsRoutes, options);
  await app.register(consentEvidenceRoutes, options);
  await app.register(privacyRoutes, options);
  await app.register(complianceBillingRoutes, options);
};
