import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { importTestConsents } from '../../compliance/import-test-consents.js';
import { waivePolicyVersion } from '../../compliance/policy-waivers.js';
import {
  decideSanctionsMatch,
  listSanctionsMatches,
  type StoredSanctionsMatch,
} from '../../compliance/sanctions/sanctions-repository.js';
import { testConsentOf } from '../../compliance/test-consent-csv.js';
import {
  listTestConsents,
  revokeTestConsent,
  type StoredTestConsent,
} from '../../compliance/test-consent-repository.js';
import { AupError, isAupError } from '../../errors.js';
import {
  listPolicyWaivers,
  type PolicyWaiver,
  revokePolicyWaiver,
} from '../../registry/policy-waiver-repository.js';
import { getCustomerById } from '../../registry/registry-query.js';
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

  const waiversBase = '/console/compliance/waivers';

  app.get('/compliance/waivers', async (request, reply) => {
    const waivers = await listPolicyWaivers(db);
    const refs = new Map<number, string>();
    for (const w of waivers) {
      if (!refs.has(w.customerId))
        refs.set(w.customerId, (await getCustomerById(db, w.customerId))?.ref ?? '?');
    }
    const s = shell(request, reply, spec, 'compliance');
    return sendPage(
      reply,
      page({ ...s, title: 'Policy waivers', body: renderWaivers(waivers, refs, s.csrfToken) }),
    );
  });

  app.post('/compliance/waivers', async (request, reply) => {
    const me = principalOfPage(request);
    const body = formOf(request);
    try {
      const result = await waivePolicyVersion(db, {
        customerRef: field(body, 'customer'),
        provider: field(body, 'provider'),
        version: field(body, 'version'),
        reason: field(body, 'reason'),
        at: deps.clock.now(),
        actor: auditActorOf(me),
      });
      const w = result.waiver;
      const text = result.created
        ? `${w.provider} ${w.version} waived for ${field(body, 'customer')}`
        : `this waiver was already recorded (${w.id})`;
      return redirectWith(reply, waiversBase, { kind: 'ok', text }, secure);
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      return redirectWith(reply, waiversBase, { kind: 'error', text: error.message }, secure);
    }
  });

  app.post('/compliance/waivers/:id/revoke', async (request, reply) => {
    const me = principalOfPage(request);
    const parsed = idParam.safeParse(request.params);
    if (!parsed.success) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such waiver');
    const reason = field(formOf(request), 'reason');
    if (reason === '') {
      return redirectWith(
        reply,
        waiversBase,
        { kind: 'error', text: 'say why the waiver is withdrawn' },
        secure,
      );
    }
    const revoked = await db
      .transaction()
      .execute((trx) =>
        revokePolicyWaiver(trx, parsed.data.id, { at: deps.clock.now(), actor: auditActorOf(me), reason }),
      );
    return redirectWith(reply, waiversBase, { kind: 'ok', text: `waiver ${revoked.id} withdrawn` }, secure);
  });

  const sanctionsBase = '/console/compliance/sanctions';

  app.get('/compliance/sanctions', async (request, reply) => {
    const open = await listSanctionsMatches(db, { status: 'open' });
    const s = shell(request, reply, spec, 'compliance');
    return sendPage(
      reply,
      page({ ...s, title: 'Sanctions review', body: renderSanctions(open, s.csrfToken) }),
    );
  });

  app.post('/compliance/sanctions/:id/decide', async (request, reply) => {
    const me = principalOfPage(request);
    const parsed = idParam.safeParse(request.params);
    if (!parsed.success) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such match');
    const body = formOf(request);
    const decision = field(body, 'decision');
    if (decision !== 'cleared' && decision !== 'confirmed') {
      return redirectWith(
        reply,
        sanctionsBase,
        { kind: 'error', text: 'choose cleared or confirmed' },
        secure,
      );
    }
    try {
      const decided = await decideSanctionsMatch(db, parsed.data.id, {
        decision,
        note: field(body, 'note'),
        at: deps.clock.now(),
        actor: auditActorOf(me),
      });
      const text = `match ${decided.id} (${decided.customer}, ent_num ${decided.entry}) ${decided.status}`;
      return redirectWith(reply, sanctionsBase, { kind: 'ok', text }, secure);
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      return redirectWith(reply, sanctionsBase, { kind: 'error', text: error.message }, secure);
    }
  });

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
  return html`<h1>Vulnerability-test consents</h1>${complianceNav('consents')}
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

function renderSanctions(open: readonly StoredSanctionsMatch[], csrf: string): Html {
  return html`<h1>Sanctions review</h1>${complianceNav('sanctions')}
<p class="muted">Possible matches of customers against OFAC's SDN list (Secure Packet §7), highest score first. A match is a question, never an action: clear it (not the listed party) or confirm it, saying why. Lists: <code>aupdesk sanctions import --sdn sdn.csv --alt alt.csv --add add.csv</code> or <code>POST /api/v1/sanctions/lists</code>.</p>
<section class="panel"><h2>Open matches</h2>
<div class="table-wrap"><table class="responsive" id="sanctions-matches"><thead><tr><th scope="col">#</th><th scope="col">Customer</th><th scope="col">Matched name</th><th scope="col">SDN entry</th><th scope="col">Score</th><th scope="col">Program</th><th scope="col">Decide</th></tr></thead><tbody>
${open.length === 0 ? html`<tr><td colspan="7" class="muted">No open match.</td></tr>` : ''}
${open.map(
  (m) =>
    html`<tr><td data-label="#">${m.id}</td><td data-label="Customer">${m.customer}</td><td data-label="Matched name">${m.name}${m.via === 'alias' ? html` <small>(alias of ${m.sdnName})</small>` : ''}</td><td data-label="SDN entry">${m.entry}${m.countryMatch ? html` <span class="badge">country matches</span>` : ''}</td><td data-label="Score">${m.score.toFixed(3)}</td><td data-label="Program">${m.program}</td><td><form method="post" action="${pathOf('console', 'compliance', 'sanctions', m.id, 'decide')}">${csrfField(csrf)}<select name="decision" aria-label="Decision on match ${m.id}"><option value="cleared">cleared</option><option value="confirmed">confirmed</option></select> <input name="note" required placeholder="why" aria-label="Note on match ${m.id}"> <button type="submit">Decide</button></form></td></tr>`,
)}
</tbody></table></div></section>`;
}

export function complianceNav(current: 'consents' | 'waivers' | 'sanctions' | 'privacy'): Html {
  const link = (key: typeof current, label: string) =>
    key === current
      ? html`<strong>${label}</strong>`
      : html`<a href="${pathOf('console', 'compliance', key)}">${label}</a>`;
  return html`<p class="subnav">${link('consents', 'Vulnerability-test consents')} · ${link('waivers', 'Policy waivers')} · ${link('sanctions', 'Sanctions review')} · ${link('privacy', 'Privacy requests')}</p>`;
}

function renderWaivers(
  waivers: readonly PolicyWaiver[],
  refs: ReadonlyMap<number, string>,
  csrf: string,
): Html {
  return html`<h1>Policy waivers</h1>${complianceNav('waivers')}
<p class="muted">A waived version never binds the customer: it stays on the version before, past any grace period. Only where the version's change terms provide for waivers (Secure Packet: "when the changes would severely adversely effect Customer's business").</p>
<div class="grid"><div>
<section class="panel"><h2>Recorded</h2>
<div class="table-wrap"><table class="responsive" id="waivers"><thead><tr><th scope="col">#</th><th scope="col">Customer</th><th scope="col">Version waived</th><th scope="col">Reason</th><th scope="col">Granted</th><th scope="col">State</th><th scope="col"></th></tr></thead><tbody>
${waivers.length === 0 ? html`<tr><td colspan="7" class="muted">No waiver recorded.</td></tr>` : ''}
${waivers.map(
  (w) =>
    html`<tr><td data-label="#">${w.id}</td><td data-label="Customer"><a href="${pathOf('console', 'customers', w.customerId)}">${refs.get(w.customerId) ?? w.customerId}</a></td><td data-label="Version">${w.provider} ${w.version}</td><td data-label="Reason">${w.reason}</td><td data-label="Granted">${time(w.grantedAt)} <small>${w.grantedBy}</small></td><td data-label="State"><span class="badge">${w.revokedAt ? 'withdrawn' : 'in force'}</span></td><td>${
      w.revokedAt
        ? ''
        : html`<form method="post" action="${pathOf('console', 'compliance', 'waivers', w.id, 'revoke')}">${csrfField(csrf)}<input name="reason" placeholder="why withdrawn" required aria-label="Reason to withdraw waiver ${w.id}"> <button type="submit">Withdraw</button></form>`
    }</td></tr>`,
)}
</tbody></table></div></section>
</div><div>
<section class="panel"><h2>Waive a version</h2>
<form method="post" action="/console/compliance/waivers" id="record-waiver">${csrfField(csrf)}
<label>Customer <input name="customer" required placeholder="customer reference"></label>
<label>Provider <input name="provider" required placeholder="securepacket"></label>
<label>Version <input name="version" required placeholder="2027-03-01"></label>
<label>Reason <input name="reason" required placeholder="why the change is waived for this customer"></label>
<button type="submit">Waive</button>
</form></section>
</div></div>`;
}
