import type { QueuePage } from '../../cases/queries/case-queue.js';
import type { LoadedPolicy } from '../../policy/policy-loader.js';
import { obligationOfClause } from '../../policy/policy-schema.js';
import type { CustomerRecord } from '../../registry/registry-repository.js';
import { renderEvidence } from '../console/case-page.js';
import type { CaseView } from '../console/case-view.js';
import { due, severityBadge, statusBadge, time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField } from '../views/layout.js';

/**
 * The customer portal's pages. A customer sees its own cases, the notices sent about them, the clause and
 * the deadline, and the evidence as far as the binding policy shares it (`complaints.share_with_customer`):
 * `shared` — the complaint text; `reporter-redacted` — the text with every e-mail address and the
 * reporter's name blanked; `summary-only` — only the observations (time, source, classification).
 */

export function redactor(view: CaseView): ((t: string) => string) | undefined {
  const mode = view.policy?.terms.complaints.share_with_customer ?? 'summary-only';
  if (mode === 'shared') return undefined;
  const names = view.evidence
    .flatMap((e) => [e.reporter.name, e.reporter.email])
    .filter((n): n is string => !!n && n.length > 2);
  return (t: string) => {
    let out = t.replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[redacted]');
    for (const n of names) out = out.split(n).join('[redacted]');
    return out;
  };
}

export function renderPortalHome(o: {
  customer: CustomerRecord;
  cases: QueuePage;
  notices: Array<{ caseRef: string; subject: string | null; at: Date }>;
  pendingPolicy: LoadedPolicy | undefined;
  now: Date;
}): Html {
  return html`<h1>Your abuse cases</h1>
<p class="muted">${o.customer.name} (${o.customer.ref})</p>
${
  o.pendingPolicy
    ? html`<p class="flash flash-error" role="status">A new Acceptable Use Policy (version ${o.pendingPolicy.document.version}) is published. <a href="/portal/policy">Read and accept it</a>.</p>`
    : ''
}
<section class="panel" aria-labelledby="cases-h"><h2 id="cases-h">Cases</h2>
${
  o.cases.rows.length === 0
    ? html`<p>No abuse case concerns your services.</p>`
    : html`<table class="responsive"><thead><tr><th scope="col">Case</th><th scope="col">State</th><th scope="col">Rule</th><th scope="col">Service</th><th scope="col">Opened</th><th scope="col">Deadline</th></tr></thead><tbody>
${o.cases.rows.map(
  (c) =>
    html`<tr><td data-label="Case"><a href="${pathOf('portal', 'cases', c.ref)}">${c.ref}</a></td><td data-label="State">${statusBadge(c.status)}</td><td data-label="Rule">${c.clauseId} ${severityBadge(c.severity)}</td><td data-label="Service">${c.serviceRef}</td><td data-label="Opened">${time(c.openedAt)}</td><td data-label="Deadline">${due(c.dueAt, o.now)}</td></tr>`,
)}</tbody></table>`
}
</section>
<section class="panel" aria-labelledby="notices-h"><h2 id="notices-h">Notices sent to you</h2>
${
  o.notices.length === 0
    ? html`<p class="muted">None.</p>`
    : html`<ul>${o.notices.map((n) => html`<li>${time(n.at)} — <a href="${pathOf('portal', 'cases', n.caseRef)}">${n.subject ?? n.caseRef}</a></li>`)}</ul>`
}
</section>`;
}

export function renderPortalCase(view: CaseView, o: { csrfToken: string; now: Date }): Html {
  const r = view.record;
  const s = r.state;
  const share = view.policy?.terms.complaints.share_with_customer ?? 'summary-only';
  const redact = redactor(view);
  const action = pathOf('portal', 'cases', r.ref);
  const closed = ['dismissed', 'terminated', 'cured', 'reinstated'].includes(r.status);
  const notices = view.messages.filter((m) => m.direction === 'out' && m.kind === 'notice');
  const thread = view.messages.filter((m) => m.kind === 'notice' || m.kind === 'reply');
  return html`<h1>${r.ref} ${statusBadge(r.status)}</h1>
<div class="grid"><div>
<section class="panel" aria-labelledby="what-h"><h2 id="what-h">What this is about</h2>
<dl class="facts">
  <dt>Service</dt><dd>${r.serviceRef}</dd>
  <dt>Rule</dt><dd><strong>${view.clause?.title ?? r.clauseId}</strong> ${severityBadge(r.severity)}</dd>
  ${view.clause ? html`<dt>The policy says</dt><dd>${view.clause.text}</dd>` : ''}
  <dt>Policy</dt><dd>${view.policy ? html`${view.policy.provider.name} ${view.policy.title}, version ${view.policy.version}` : r.policyVersion}</dd>
  <dt>Addresses</dt><dd>${s.subjects.addresses.join(', ') || '—'}</dd>
  <dt>Notice given</dt><dd>${s.noticeGivenAt ? time(s.noticeGivenAt) : html`<span class="muted">not yet</span>`}</dd>
  <dt>Deadline</dt><dd id="deadline">${r.dueAt && !closed ? due(r.dueAt, o.now) : html`<span class="muted">none</span>`}</dd>
  ${s.suspended ? html`<dt>Service state</dt><dd><strong>suspended</strong> because of this case</dd>` : ''}
</dl></section>
<section class="panel" aria-labelledby="obs-h"><h2 id="obs-h">Observations (${view.events.length})</h2>
<table class="responsive"><thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Source</th></tr></thead><tbody>
${view.events.slice(0, 100).map((e) => html`<tr><td data-label="Time">${time(e.eventTime)}</td><td data-label="Kind">${e.classification}</td><td data-label="Source">${e.sourceIp ?? ''} ${e.sourceFqdn ?? ''} ${e.sourceUrl ?? ''}</td></tr>`)}
</tbody></table></section>
<section class="panel" aria-labelledby="ev-h"><h2 id="ev-h">The complaint</h2>
${
  share === 'summary-only'
    ? html`<p class="muted">The policy shares only the observations above, not the complaint itself.</p>`
    : view.evidence.map((e) => renderEvidence(r.ref, e, 'portal', redact))
}
${share === 'reporter-redacted' ? html`<p class="help">The reporter's identity and e-mail addresses are withheld, as the policy provides.</p>` : ''}
</section>
</div><div>
<section class="panel" aria-labelledby="thread-h"><h2 id="thread-h">Messages</h2>
${
  thread.length === 0
    ? html`<p class="muted">No message yet.</p>`
    : html`<ol class="timeline">${thread.map(
        (m) =>
          html`<li class="kind-message">${time(m.at)} — <strong>${m.direction === 'out' ? 'From the abuse desk' : 'From you'}</strong>: ${m.subject ?? ''}${m.body ? html`<pre class="evidence">${m.body}</pre>` : ''}</li>`,
      )}</ol>`
}
<p class="muted">${notices.length} notice(s) sent.</p>
</section>
${
  closed
    ? html`<section class="panel"><p>This case is ${r.status.replace(/-/g, ' ')}: nothing more is needed from you.</p></section>`
    : html`<section class="panel" aria-labelledby="reply-h"><h2 id="reply-h">Answer the abuse desk</h2>
<form method="post" action="${action}/reply">
  ${csrfField(o.csrfToken)}
  <label for="reply-text">Your reply</label>
  <textarea id="reply-text" name="text" required maxlength="20000"></textarea>
  <button type="submit">Send reply</button>
</form>
<h3>Fixed it?</h3>
<form method="post" action="${action}/cured">
  ${csrfField(o.csrfToken)}
  <label for="cured-text">What did you fix?</label>
  <textarea id="cured-text" name="text" required maxlength="20000" placeholder="e.g. the compromised account was closed and the mail queue purged"></textarea>
  <button type="submit">Mark as cured (for review)</button>
</form>
${
  asksConsentEvidence(view)
    ? html`<h3>Consent evidence</h3><p>This complaint is about mail sent without consent: <a href="${action}/consent-evidence" id="consent-evidence-link">send the consent evidence for each recipient</a>.</p>`
    : ''
}
<p class="help">The abuse desk reviews your answer; the deadline is paused while it does.</p>
</section>`
}
</div></div>`;
}

export function renderPortalPolicy(o: {
  customer: CustomerRecord;
  current: LoadedPolicy | undefined;
  policyHtml: Html;
  csrfToken: string;
}): Html {
  const accepted = o.customer.acceptedPolicy;
  const c = o.current;
  const needs =
    c &&
    !(accepted && accepted.provider === c.document.provider.id && accepted.version === c.document.version);
  return html`<h1>Acceptable Use Policy</h1>
<p>${accepted ? html`You accepted version <strong>${accepted.version}</strong>${accepted.at ? html` on ${time(accepted.at)}` : ''}.` : 'No acceptance is recorded for you.'}</p>
${
  c && needs
    ? html`<form method="post" action="/portal/policy/accept" class="panel">
  ${csrfField(o.csrfToken)}
  <input type="hidden" name="provider" value="${c.document.provider.id}">
  <input type="hidden" name="version" value="${c.document.version}">
  <input type="checkbox" id="accept-box" name="confirm" value="yes" required>
  <label for="accept-box">I have read version ${c.document.version} and accept it for ${o.customer.name}</label>
  <button type="submit">Accept version ${c.document.version}</button>
</form>`
    : ''
}
<section class="panel">${o.policyHtml}</section>`;
}

/** Whether the case's clause is one the policy's consent-evidence obligation names (Secure Packet §4.3). */
function asksConsentEvidence(view: CaseView): boolean {
  if (!view.policy || !view.record.clauseId) return false;
  return obligationOfClause(view.policy, view.record.clauseId)?.kind === 'consent-evidence';
}
