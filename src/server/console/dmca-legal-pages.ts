import type { FastifyInstance } from 'fastify';
import { auditActorOf } from '../../accounts/principal.js';
import {
  type DmcaRecord,
  listDmcaRecords,
  requireDmcaRecord,
  strikesOf,
} from '../../dmca/dmca-repository.js';
import { confirmRemoval, reportSuit } from '../../dmca/dmca-workflow.js';
import { AupError, isAupError } from '../../errors.js';
import { describeIssues, informationRequestSchema } from '../../legal/information-request.js';
import {
  type LegalRequestRecord,
  legalIdFromRef,
  listDisclosures,
  listLegalRequests,
  requireLegalRequest,
} from '../../legal/legal-repository.js';
import { billRequest, recordDisclosure, recordRequest } from '../../legal/legal-workflow.js';
import { workflowDeps } from '../api/workflow-deps.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { statusBadge, time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField, page, sendPage } from '../views/layout.js';
import { type AreaSpec, field, formOf, principalOfPage, redirectWith, shell } from '../views/page-support.js';

/**
 * Console pages of the two procedures outside the case ladder: DMCA notices and counter-notices (each
 * element with the text that satisfied it, the letters' state, confirm a removal, record a claimant's
 * filed action) and legal information requests (record one, the policy's decision and fee, the
 * disclosure log, billing). Complaint text is shown as text, never as markup.
 */

const refOf = (params: unknown): string => {
  const ref = (params as { ref?: unknown } | null)?.ref;
  if (typeof ref !== 'string' || ref.length > 40)
    throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such record');
  return ref;
};

function elementsTable(r: DmcaRecord): Html {
  return html`<table class="responsive" id="elements"><thead><tr><th scope="col">Element</th><th scope="col">Found</th><th scope="col">Text that satisfied it</th></tr></thead><tbody>
${Object.entries(r.elements).map(
  ([id, el]) =>
    html`<tr data-element="${id}"><td data-label="Element">${id}</td><td data-label="Found">${el.found ? 'yes' : html`<strong class="bad">missing</strong>`}</td><td data-label="Text"><pre class="excerpt">${el.text ?? ''}</pre></td></tr>`,
)}
</tbody></table>`;
}

function dmcaList(rows: readonly DmcaRecord[]): Html {
  if (rows.length === 0) return html`<p class="muted">No notices yet.</p>`;
  return html`<div class="table-wrap"><table class="responsive" id="dmca-list"><thead><tr><th scope="col">Reference</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Received</th><th scope="col">From</th><th scope="col">Customer</th><th scope="col">Missing</th></tr></thead><tbody>
${rows.map(
  (r) =>
    html`<tr><td data-label="Reference"><a href="${pathOf('console', 'dmca', r.ref)}">${r.ref}</a></td><td data-label="Kind">${r.kind}</td><td data-label="State">${statusBadge(r.status)}</td><td data-label="Received">${time(r.receivedAt)}</td><td data-label="From">${r.sender.organisation ?? r.sender.name ?? r.sender.email ?? '—'}</td><td data-label="Customer">${r.customerRef ?? '—'}</td><td data-label="Missing">${r.missing.join(', ') || '—'}</td></tr>`,
)}
</tbody></table></div>`;
}

function dmcaPage(r: DmcaRecord, csrf: string, strikes: number | null): Html {
  const removable = r.kind === 'notice' && r.status === 'takedown';
  const suable = r.kind === 'counter-notice' && r.status === 'forwarded';
  return html`<h1>${r.kind === 'notice' ? 'DMCA notice' : 'Counter-notice'} ${r.ref} ${statusBadge(r.status)}</h1>
<div class="grid"><div>
<section class="panel"><h2>${r.kind === 'notice' ? 'Elements of 17 U.S.C. 512(c)(3)(A)' : 'Elements of 17 U.S.C. 512(g)(3)'}</h2>${elementsTable(r)}</section>
<section class="panel"><h2>As received</h2><pre class="excerpt" id="notice-text">${r.body}</pre></section>
</div><div>
<section class="panel"><h2>Details</h2><dl class="facts">
<dt>Received</dt><dd>${time(r.receivedAt)} by ${r.channel}</dd>
<dt>From</dt><dd>${[r.sender.name, r.sender.organisation, r.sender.email].filter(Boolean).join(', ') || '—'}</dd>
<dt>Rights holder</dt><dd>${r.principal ?? '—'}</dd>
<dt>Material</dt><dd>${r.urls.length > 0 ? html`<ul>${r.urls.map((u) => html`<li><code>${u}</code></li>`)}</ul>` : '—'}</dd>
<dt>Customer</dt><dd>${r.customerRef ?? '—'}${strikes !== null ? html` (${strikes} strike${strikes === 1 ? '' : 's'} counted)` : ''}</dd>
<dt>Cases</dt><dd>${r.caseRefs.length > 0 ? r.caseRefs.map((c) => html`<a href="${pathOf('console', 'cases', c)}">${c}</a> `) : '—'}</dd>
<dt>Deadline</dt><dd>${r.deadlineAt ? time(r.deadlineAt) : '—'}</dd>
${r.restoreEarliest ? html`<dt>Restore window</dt><dd id="restore-window">${r.restoreEarliest} – ${r.restoreLatest}</dd>` : ''}
${r.suitReportedAt ? html`<dt>Action filed</dt><dd>${r.suitDetails ?? ''} (reported ${time(r.suitReportedAt)})</dd>` : ''}
<dt>Action taken</dt><dd>${r.actionTaken ?? '—'}</dd>
${r.reason ? html`<dt>Reason</dt><dd>${r.reason}</dd>` : ''}
</dl></section>
${removable ? html`<section class="panel"><h2>Removal</h2><form method="post" action="${pathOf('console', 'dmca', r.ref, 'removed')}">${csrfField(csrf)}<button type="submit">The customer removed the material</button></form></section>` : ''}
${suable ? html`<section class="panel"><h2>Claimant's court action</h2><form method="post" action="${pathOf('console', 'dmca', r.ref, 'suit')}">${csrfField(csrf)}<label for="details">Court, case number, filing date</label><input type="text" id="details" name="details" maxlength="2000" required><button type="submit">Record the filed action (stops the restore)</button></form></section>` : ''}
</div></div>`;
}

function legalList(rows: readonly LegalRequestRecord[]): Html {
  if (rows.length === 0) return html`<p class="muted">No requests yet.</p>`;
  return html`<div class="table-wrap"><table class="responsive" id="legal-list"><thead><tr><th scope="col">Reference</th><th scope="col">Kind</th><th scope="col">Decision</th><th scope="col">Requester</th><th scope="col">Matter</th><th scope="col">Received</th></tr></thead><tbody>
${rows.map(
  (r) =>
    html`<tr><td data-label="Reference"><a href="${pathOf('console', 'legal', r.ref)}">${r.ref}</a></td><td data-label="Kind">${r.kind}</td><td data-label="Decision">${statusBadge(r.status)}</td><td data-label="Requester">${r.requester.name}</td><td data-label="Matter">${[r.matter?.court, r.matter?.case_number].filter(Boolean).join(', ') || '—'}</td><td data-label="Received">${time(r.receivedAt)}</td></tr>`,
)}
</tbody></table></div>`;
}

const KINDS = [
  'subpoena',
  'court-order',
  'search-warrant',
  'law-enforcement-request',
  'regulatory-request',
  'civil-action-request',
  'private-request',
];

function legalForm(csrf: string): Html {
  return html`<section class="panel"><h2>Record a request</h2><form method="post" action="/console/legal" id="legal-form">${csrfField(csrf)}
<label for="kind">Kind</label><select id="kind" name="kind">${KINDS.map((k) => html`<option value="${k}">${k}</option>`)}</select>
<label for="requester">Requester</label><input type="text" id="requester" name="requester" maxlength="300" required>
<label for="requester_email">Requester email</label><input type="email" id="requester_email" name="requester_email" maxlength="320">
<label for="authority">Legal authority</label><input type="text" id="authority" name="authority" maxlength="500">
<label for="court">Court</label><input type="text" id="court" name="court" maxlength="300">
<label for="case_number">Case number</label><input type="text" id="case_number" name="case_number" maxlength="120">
<label for="filed_at">Filed on</label><input type="date" id="filed_at" name="filed_at">
<label><input type="checkbox" name="pending" value="yes"> The matter is pending</label>
<label for="asks">What is asked (one item per line)</label><textarea id="asks" name="asks" maxlength="20000" required></textarea>
<label for="customer">Customer concerned</label><input type="text" id="customer" name="customer" maxlength="100">
<label for="deadline">Answer by</label><input type="date" id="deadline" name="deadline">
<label for="nondisclosure_order">Order forbidding notice to the customer</label><input type="text" id="nondisclosure_order" name="nondisclosure_order" maxlength="1000">
<label for="estimated_hours">Estimated hours</label><input type="number" id="estimated_hours" name="estimated_hours" min="0" step="0.25" value="1">
<button type="submit">Record and assess</button></form></section>`;
}

function legalPage(
  r: LegalRequestRecord,
  disclosures: Awaited<ReturnType<typeof listDisclosures>>,
  csrf: string,
): Html {
  const a = r.assessment;
  const open = r.status === 'accepted' || r.status === 'disclosed';
  return html`<h1>${r.kind} ${r.ref} ${statusBadge(r.status)}</h1>
<div class="grid"><div>
<section class="panel"><h2>Decision under ${r.providerId ?? '?'} ${r.policyVersion ?? ''}</h2>
<p id="decision"><strong>${a?.decision ?? '—'}</strong></p>
${a && a.reasons.length > 0 ? html`<ul id="reasons">${a.reasons.map((x) => html`<li>${x}</li>`)}</ul>` : ''}
${a?.fee ? html`<p id="fee">Fee: ${a.fee.hourly_rate} ${a.fee.currency}/hour × ${a.fee.estimated_hours} h = ${a.fee.estimate} ${a.fee.currency} (estimate)${r.billedAmount !== null ? html`; billed ${r.billedHours} h = ${r.billedAmount} ${a.fee.currency}` : ''}</p>` : ''}
<h3>Told to the requester</h3><ul>${(a?.requester_notices ?? []).map((n) => html`<li>${n}</li>`)}</ul>
</section>
<section class="panel"><h2>Disclosure log</h2>${
    disclosures.length === 0
      ? html`<p class="muted">Nothing disclosed.</p>`
      : html`<table class="responsive" id="disclosures"><thead><tr><th scope="col">What</th><th scope="col">To</th><th scope="col">When</th><th scope="col">Customer told</th></tr></thead><tbody>${disclosures.map(
          (d) =>
            html`<tr><td data-label="What">${d.what}</td><td data-label="To">${d.recipient}</td><td data-label="When">${time(d.disclosedAt)}</td><td data-label="Customer told">${d.customerTold ? 'yes' : d.forbiddingOrder ? html`no: ${d.forbiddingOrder}` : 'no'}</td></tr>`,
        )}</tbody></table>`
  }
${open ? html`<form method="post" action="${pathOf('console', 'legal', r.ref, 'disclosures')}">${csrfField(csrf)}<label for="what">Disclosed</label><input type="text" id="what" name="what" maxlength="5000" required><label for="to">To (default: the requester)</label><input type="text" id="to" name="to" maxlength="500"><button type="submit">Log the disclosure</button></form>` : ''}
${a?.fee && r.billedAt === null && open ? html`<form method="post" action="${pathOf('console', 'legal', r.ref, 'bill')}">${csrfField(csrf)}<label for="hours">Hours actually spent</label><input type="number" id="hours" name="hours" min="0" step="0.25" required><button type="submit">Bill the requester</button></form>` : ''}
</section>
</div><div>
<section class="panel"><h2>Request</h2><dl class="facts">
<dt>Requester</dt><dd>${[r.requester.name, r.requester.organisation, r.requester.email].filter(Boolean).join(', ')}</dd>
<dt>Authority</dt><dd>${r.authority ?? '—'}</dd>
<dt>Matter</dt><dd>${[r.matter?.court, r.matter?.case_number, r.matter?.filed_at?.slice(0, 10), r.matter?.pending === true ? 'pending' : r.matter?.pending === false ? 'not pending' : undefined].filter(Boolean).join(', ') || '—'}</dd>
<dt>Asks</dt><dd><ul>${r.asks.map((x) => html`<li>${x}</li>`)}</ul></dd>
<dt>Deadline</dt><dd>${r.deadlineAt ? time(r.deadlineAt) : '—'}</dd>
<dt>Customer</dt><dd>${r.customerRef ?? '—'}${r.customerNotifiedAt ? html` (told ${time(r.customerNotifiedAt)})` : ''}</dd>
${r.nondisclosureOrder ? html`<dt>Nondisclosure order</dt><dd>${r.nondisclosureOrder}</dd>` : ''}
</dl></section>
${r.body ? html`<section class="panel"><h2>As received</h2><pre class="excerpt">${r.body}</pre></section>` : ''}
</div></div>`;
}

export function registerDmcaLegalPages(app: FastifyInstance, deps: ResolvedAppDeps, spec: AreaSpec): void {
  const db = deps.store.db;
  const secure = deps.http.secureCookies;
  const act = async (back: string, reply: Parameters<typeof redirectWith>[0], run: () => Promise<string>) => {
    try {
      return redirectWith(reply, back, { kind: 'ok', text: await run() }, secure);
    } catch (error) {
      if (isAupError(error) && error.status < 500)
        return redirectWith(reply, back, { kind: 'error', text: error.message }, secure);
      throw error;
    }
  };

  app.get('/dmca', async (request, reply) => {
    const s = shell(request, reply, spec, 'dmca');
    const rows = await listDmcaRecords(db, { limit: 200 });
    return sendPage(
      reply,
      page({
        ...s,
        title: 'DMCA',
        body: html`<h1>DMCA notices and counter-notices</h1>${dmcaList(rows)}<p><a href="/api/v1/dmca/export/lumen">Export (Lumen fields, JSON)</a></p>`,
      }),
    );
  });

  app.get('/dmca/:ref', async (request, reply) => {
    const r = await requireDmcaRecord(db, refOf(request.params));
    const s = shell(request, reply, spec, 'dmca');
    const strikes = r.customerRef
      ? (await strikesOf(db, r.customerRef)).filter((x) => !x.withdrawn).length
      : null;
    return sendPage(reply, page({ ...s, title: r.ref, body: dmcaPage(r, s.csrfToken, strikes) }));
  });

  app.post('/dmca/:ref/removed', async (request, reply) => {
    const ref = refOf(request.params);
    return act(`/console/dmca/${encodeURIComponent(ref)}`, reply, async () => {
      const wf = await workflowDeps(deps);
      const saved = await db
        .transaction()
        .execute((trx) => confirmRemoval(trx, wf, ref, auditActorOf(principalOfPage(request))));
      return `${saved.ref}: removal recorded; the claimant is told.`;
    });
  });

  app.post('/dmca/:ref/suit', async (request, reply) => {
    const ref = refOf(request.params);
    const details = field(formOf(request), 'details');
    return act(`/console/dmca/${encodeURIComponent(ref)}`, reply, async () => {
      if (!details)
        throw new AupError('AUP_ERR_INPUT_INVALID', 'give the court, case number and filing date');
      const wf = await workflowDeps(deps);
      const saved = await db
        .transaction()
        .execute((trx) =>
          reportSuit(trx, wf, ref, details.slice(0, 2000), auditActorOf(principalOfPage(request))),
        );
      return `${saved.ref}: filed action recorded; the material stays down.`;
    });
  });

  app.get('/legal', async (request, reply) => {
    const s = shell(request, reply, spec, 'legal');
    const rows = await listLegalRequests(db, { limit: 200 });
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Legal requests',
        body: html`<h1>Legal information requests</h1><div class="grid"><div>${legalList(rows)}</div><div>${legalForm(s.csrfToken)}</div></div>`,
      }),
    );
  });

  app.post('/legal', async (request, reply) => {
    const form = formOf(request);
    const optional = (name: string) => field(form, name) || undefined;
    const candidate = {
      kind: field(form, 'kind'),
      requester: {
        name: field(form, 'requester'),
        ...(optional('requester_email') ? { email: optional('requester_email') } : {}),
      },
      ...(optional('authority') ? { authority: optional('authority') } : {}),
      matter: {
        court: optional('court') ?? null,
        case_number: optional('case_number') ?? null,
        filed_at: optional('filed_at') ?? null,
        pending: field(form, 'pending') === 'yes' ? true : null,
      },
      asks: field(form, 'asks')
        .split(/\r?\n/)
        .map((x) => x.trim())
        .filter(Boolean),
      estimated_hours: Number(field(form, 'estimated_hours') || '1'),
      ...(optional('customer') ? { customer: optional('customer') } : {}),
      ...(optional('deadline') ? { deadline: optional('deadline') } : {}),
      ...(optional('nondisclosure_order') ? { nondisclosure_order: optional('nondisclosure_order') } : {}),
    };
    const parsed = informationRequestSchema.safeParse(candidate);
    if (!parsed.success)
      return redirectWith(
        reply,
        '/console/legal',
        { kind: 'error', text: describeIssues(parsed.error) },
        secure,
      );
    const wf = await workflowDeps(deps);
    const record = await db.transaction().execute((trx) =>
      recordRequest(trx, wf, {
        request: parsed.data,
        channel: 'form',
        receivedAt: deps.clock.now(),
        actor: auditActorOf(principalOfPage(request)),
      }),
    );
    return redirectWith(
      reply,
      `/console/legal/${record.ref}`,
      { kind: 'ok', text: `${record.ref}: ${record.status}` },
      secure,
    );
  });

  app.get('/legal/:ref', async (request, reply) => {
    const r = await requireLegalRequest(db, refOf(request.params));
    const disclosures = await listDisclosures(db, { requestId: legalIdFromRef(r.ref) });
    const s = shell(request, reply, spec, 'legal');
    return sendPage(reply, page({ ...s, title: r.ref, body: legalPage(r, disclosures, s.csrfToken) }));
  });

  app.post('/legal/:ref/disclosures', async (request, reply) => {
    const ref = refOf(request.params);
    const form = formOf(request);
    return act(`/console/legal/${encodeURIComponent(ref)}`, reply, async () => {
      const what = field(form, 'what');
      if (!what) throw new AupError('AUP_ERR_INPUT_INVALID', 'say what was disclosed');
      const wf = await workflowDeps(deps);
      await db.transaction().execute((trx) =>
        recordDisclosure(trx, wf, ref, {
          what: what.slice(0, 5000),
          recipient: field(form, 'to') || undefined,
          actor: auditActorOf(principalOfPage(request)),
        }),
      );
      return 'Disclosure logged.';
    });
  });

  app.post('/legal/:ref/bill', async (request, reply) => {
    const ref = refOf(request.params);
    const hours = Number(field(formOf(request), 'hours'));
    return act(`/console/legal/${encodeURIComponent(ref)}`, reply, async () => {
      const wf = await workflowDeps(deps);
      const saved = await db
        .transaction()
        .execute((trx) =>
          billRequest(trx, wf, ref, { hours, actor: auditActorOf(principalOfPage(request)) }),
        );
      return `Billed ${saved.billedHours} h: ${saved.billedAmount}.`;
    });
  });
}
