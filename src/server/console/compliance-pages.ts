import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { importTestConsents } from '../../compliance/import-test-consents.js';
import { testConsentOf } from '../../compliance/test-consent-csv.js';
import {
  listTestConsents,
  revokeTestConsent,
  type StoredTestConsent,
} from '../../compliance/test-consent-repository.js';
import { AupError, isAupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField, page, sendPage } from '../views/layout.js';
import { type AreaSpec, field, formOf, principalOfPage, redirectWith, shell } from '../views/page-support.js';

/**
 * The console's compliance pages (compliance/): vulnerability-test consents (Secure Packet §5): the list,
 * a form to record one from the written consent, and revocation. Every change is audited by the command.
 */

const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});

export function registerCompliancePages(app: FastifyInstance, spec: AreaSpec, deps: ResolvedAppDeps): void {
  const db = deps.store.db;
  const secure = deps.http.secureCookies;
  const base = '/console/compliance/consents';

  app.get('/compliance/consents', async (request, reply) => {
    const consents = await listTestConsents(db);
    const s = shell(request, reply, spec, 'compliance');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Vulnerability-test consents',
        body: renderConsents(consents, s.csrfToken, deps.clock.now()),
      }),
    );
  });

  app.post('/compliance/consents', async (request, reply) => {
    const me = principalOfPage(request);
    const body = formOf(request);
    try {
      const consent = testConsentOf({
        service: field(body, 'service'),
        targets: field(body, 'targets').replace(/[\s,]+/g, ';'),
        validFrom: field(body, 'valid_from'),
        validTo: field(body, 'valid_to'),
        reference: field(body, 'reference'),
      });
      const result = await importTestConsents(
        db,
        { consents: [consent] },
        { at: deps.clock.now(), actor: auditActorOf(me), source: 'console' },
      );
      const text =
        result.created.length > 0
          ? `consent ${result.created[0]!.id} recorded for ${consent.service}`
          : `this consent was already recorded (${result.existing[0]!.id})`;
      return redirectWith(reply, base, { kind: 'ok', text }, secure);
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      return redirectWith(reply, base, { kind: 'error', text: error.message }, secure);
    }
  });

  app.post('/compliance/consents/:id/revoke', async (request, reply) => {
    const me = principalOfPage(request);
    const parsed = idParam.safeParse(request.params);
    if (!parsed.success) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such consent');
    const reason = field(formOf(request), 'reason');
    if (reason === '') {
      return redirectWith(reply, base, { kind: 'error', text: 'say why the consent is withdrawn' }, secure);
    }
    const revoked = await db
      .transaction()
      .execute((trx) =>
        revokeTestConsent(trx, parsed.data.id, { at: deps.clock.now(), actor: auditActorOf(me), reason }),
      );
    return redirectWith(reply, base, { kind: 'ok', text: `consent ${revoked.id} withdrawn` }, secure);
  });
}

function renderConsents(consents: readonly StoredTestConsent[], csrf: string, now: Date): Html {
  const stateOf = (c: StoredTestConsent): string =>
    c.revokedAt ? 'withdrawn' : now < c.validFrom ? 'upcoming' : now >= c.validTo ? 'expired' : 'in force';
  return html`<h1>Vulnerability-test consents</h1>
<p class="muted">A scan or attack from the service against these targets, inside the window, is recorded as authorised and opens no case; anything outside is judged as usual (Secure Packet §5, prior written consent).</p>
<div class="grid"><div>
<section class="panel"><h2>Recorded</h2>
<div class="table-wrap"><table class="responsive" id="consents"><thead><tr><th scope="col">#</th><th scope="col">Service</th><th scope="col">Targets</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Written consent</th><th scope="col">State</th><th scope="col"></th></tr></thead><tbody>
${consents.length === 0 ? html`<tr><td colspan="8" class="muted">No consent recorded.</td></tr>` : ''}
${consents.map(
  (c) =>
    html`<tr><td data-label="#">${c.id}</td><td data-label="Service">${c.service}</td><td data-label="Targets">${c.targets.map((t) => html`<code>${t}</code> `)}</td><td data-label="From">${time(c.validFrom)}</td><td data-label="To">${time(c.validTo)}</td><td data-label="Written consent">${c.reference}</td><td data-label="State"><span class="badge">${stateOf(c)}</span></td><td>${
      c.revokedAt
        ? ''
        : html`<form method="post" action="${pathOf('console', 'compliance', 'consents', c.id, 'revoke')}">${csrfField(csrf)}<input name="reason" placeholder="why withdrawn" required aria-label="Reason to withdraw consent ${c.id}"> <button type="submit">Withdraw</button></form>`
    }</td></tr>`,
)}
</tbody></table></div></section>
</div><div>
<section class="panel"><h2>Record a consent</h2>
<form method="post" action="/console/compliance/consents" id="record-consent">${csrfField(csrf)}
<label>Service <input name="service" required placeholder="gamehost-ded-7"></label>
<label>Targets <input name="targets" required placeholder="203.0.113.0/28; 2001:db8:77::/48"></label>
<label>Valid from <input name="valid_from" required placeholder="2026-12-05 or 2026-12-05T08:00:00Z"></label>
<label>Valid to <input name="valid_to" required placeholder="2026-12-05 (whole day) or a date-time with zone"></label>
<label>Written consent <input name="reference" required placeholder="ticket or letter reference"></label>
<button type="submit">Record</button>
</form>
<p class="muted">A file of consents: <code>aupdesk consent import &lt;file&gt;</code> or <code>POST /api/v1/consents</code> (text/csv).</p>
</section>
</div></div>`;
}
