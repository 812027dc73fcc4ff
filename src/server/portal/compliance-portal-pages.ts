import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../accounts/principal.js';
import type { CaseRecord } from '../../cases/case-repository.js';
import { submitConsentEvidence } from '../../compliance/consent-evidence.js';
import { consentsOfCustomer } from '../../compliance/consents-of-customer.js';
import type { StoredTestConsent } from '../../compliance/test-consent-repository.js';
import type { EnforcementDeps } from '../../enforcement/pipeline/case-transition.js';
import { AupError, isAupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField, page, sendPage } from '../views/layout.js';
import {
  type AreaSpec,
  caseRefOf,
  fields,
  formOf,
  principalOfPage,
  redirectWith,
  shell,
} from '../views/page-support.js';

/**
 * The portal's compliance views: the vulnerability-test consents the provider recorded for the customer's
 * own services (what may be tested, from when to when, on which written consent). Read only: a consent is
 * the provider's written permission, recorded by the abuse desk.
 */
export function registerCompliancePortalPages(
  app: FastifyInstance,
  spec: AreaSpec,
  deps: ResolvedAppDeps,
  cases: {
    readonly ownCase: (p: Principal, ref: string) => Promise<CaseRecord>;
    readonly enforcement: () => Promise<EnforcementDeps>;
  },
): void {
  const secure = deps.http.secureCookies;

  // Consent evidence per recipient (Secure Packet §4.3): the form, and its submission as the case's answer.
  app.get('/cases/:ref/consent-evidence', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await cases.ownCase(principalOfPage(request), ref);
    const s = shell(request, reply, spec, 'cases');
    return sendPage(
      reply,
      page({
        ...s,
        title: `${record.ref}: consent evidence`,
        body: renderEvidenceForm(record.ref, s.csrfToken),
      }),
    );
  });

  app.post('/cases/:ref/consent-evidence', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const p = principalOfPage(request);
    const record = await cases.ownCase(p, ref);
    const back = `/portal/cases/${encodeURIComponent(record.ref)}`;
    const body = formOf(request);
    const columns = ['address', 'time', 'source', 'method', 'confirmation'] as const;
    const values = Object.fromEntries(columns.map((c) => [c, fields(body, c)])) as Record<
      (typeof columns)[number],
      string[]
    >;
    const rows = Math.max(...columns.map((c) => values[c].length));
    const recipients: Array<Record<string, string>> = [];
    for (let i = 0; i < rows; i += 1) {
      const row = Object.fromEntries(columns.map((c) => [c, (values[c][i] ?? '').trim()]));
      // A row left wholly blank is an unused line of the form, not a recipient.
      if (Object.values(row).some((v) => v !== '')) recipients.push(row);
    }
    try {
      await submitConsentEvidence(await cases.enforcement(), {
        caseRef: record.ref,
        customerId: record.customerId,
        author: p.name,
        recipients,
      });
    } catch (error) {
      if (isAupError(error) && error.status < 500 && error.code !== 'AUP_ERR_NOT_FOUND') {
        // The form again with what was typed (up to 25 fields), and the reason: a redirect would lose it.
        const s = shell(request, reply, spec, 'cases');
        return sendPage(
          reply,
          page({
            ...s,
            flash: { kind: 'error', text: error.message },
            title: `${record.ref}: consent evidence`,
            body: renderEvidenceForm(record.ref, s.csrfToken, values),
          }),
          422,
        );
      }
      throw error;
    }
    return redirectWith(
      reply,
      back,
      {
        kind: 'ok',
        text: `Thank you: your consent evidence for ${recipients.length} recipient(s) is with the abuse desk for review.`,
      },
      secure,
    );
  });

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

const EVIDENCE_ROWS = 5;
/** The most recipients one submission takes (compliance/consent-evidence.ts); a refused post shows no more. */
const MAX_ROWS = 200;

function rowsOf(values: Readonly<Record<string, readonly string[]>> | undefined): number {
  const posted = Math.max(0, ...Object.values(values ?? {}).map((c) => c.length));
  return Math.min(MAX_ROWS, Math.max(EVIDENCE_ROWS, posted));
}

type EvidenceColumn = 'address' | 'time' | 'source' | 'method' | 'confirmation';

/** The form; `values` (per column, per row) puts back what a refused post carried. */
function renderEvidenceForm(
  ref: string,
  csrf: string,
  values?: Readonly<Record<EvidenceColumn, readonly string[]>>,
): Html {
  const v = (c: EvidenceColumn, i: number) => values?.[c][i] ?? '';
  const row = (i: number) => html`<fieldset><legend>Recipient ${i + 1}</legend>
<label>Address <input name="address" type="email" ${i === 0 ? 'required' : ''} placeholder="alice@recipient.example" value="${v('address', i)}"></label>
<label>When consent was given <input name="time" type="text" ${i === 0 ? 'required' : ''} placeholder="2026-10-02T10:14:00Z" value="${v('time', i)}"></label>
<label>Where (source) <input name="source" type="text" ${i === 0 ? 'required' : ''} placeholder="newsletter form at shop.example" value="${v('source', i)}"></label>
<label>How it was obtained (method) <input name="method" type="text" ${i === 0 ? 'required' : ''} placeholder="double opt-in" value="${v('method', i)}"></label>
<label>How the address was confirmed <input name="confirmation" type="text" ${i === 0 ? 'required' : ''} placeholder="confirmation link clicked 2026-10-02T10:20Z from 192.0.2.44" value="${v('confirmation', i)}"></label>
</fieldset>`;
  return html`<h1>Consent evidence for ${ref}</h1>
<p>For each recipient named in the complaint: the address, when and from where consent was given, how it was obtained, and how the address was confirmed (Secure Packet AUP §4.3). Leave unused rows empty; for more recipients, send the form again.</p>
<form method="post" action="${pathOf('portal', 'cases', ref, 'consent-evidence')}" id="consent-evidence">${csrfField(csrf)}
${Array.from({ length: rowsOf(values) }, (_, i) => row(i))}
<button type="submit">Send the evidence</button>
</form>`;
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
