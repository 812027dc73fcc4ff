import type { FastifyInstance } from 'fastify';
import { consentsOfCustomer } from '../../compliance/consents-of-customer.js';
import type { StoredTestConsent } from '../../compliance/test-consent-repository.js';
import { AupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { time } from '../views/format.js';
import { type Html, html } from '../views/html.js';
import { page, sendPage } from '../views/layout.js';
import { type AreaSpec, principalOfPage, shell } from '../views/page-support.js';

/**
 * The portal's compliance views: the vulnerability-test consents the provider recorded for the customer's
 * own services (what may be tested, from when to when, on which written consent). Read only: a consent is
 * the provider's written permission, recorded by the abuse desk.
 */
export function registerCompliancePortalPages(
  app: FastifyInstance,
  spec: AreaSpec,
  deps: ResolvedAppDeps,
): void {
  app.get('/compliance/consents', async (request, reply) => {
    const p = principalOfPage(request);
    if (p.role !== 'customer' || p.customerId === null) {
      throw new AupError('AUP_ERR_AUTH_FORBIDDEN', 'the portal is for customer accounts');
    }
    const consents = await consentsOfCustomer(deps.store.db, p.customerId);
    const s = shell(request, reply, spec, 'consents');
    return sendPage(
      reply,
      page({ ...s, title: 'Vulnerability tests', body: renderPortalConsents(consents, deps.clock.now()) }),
    );
  });
}

function renderPortalConsents(consents: readonly StoredTestConsent[], now: Date): Html {
  const state = (c: StoredTestConsent) =>
    c.revokedAt ? 'withdrawn' : now < c.validFrom ? 'upcoming' : now >= c.validTo ? 'expired' : 'in force';
  return html`<h1>Vulnerability tests</h1>
<p>You may test your own systems only with our prior written consent. Tests from the services below against the listed targets, inside the window, are expected and open no abuse case; anything outside them is handled as any other complaint. To ask for a consent, write to the abuse desk before the test.</p>
<table class="responsive" id="consents"><thead><tr><th scope="col">Service</th><th scope="col">Targets</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Our consent</th><th scope="col">State</th></tr></thead><tbody>
${consents.length === 0 ? html`<tr><td colspan="6" class="muted">No consent on record.</td></tr>` : ''}
${consents.map(
  (c) =>
    html`<tr><td data-label="Service">${c.service}</td><td data-label="Targets">${c.targets.map((t) => html`<code>${t}</code> `)}</td><td data-label="From">${time(c.validFrom)}</td><td data-label="To">${time(c.validTo)}</td><td data-label="Our consent">${c.reference}</td><td data-label="State">${state(c)}</td></tr>`,
)}
</tbody></table>`;
}
