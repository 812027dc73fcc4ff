import type { AuditEntry } from '../../audit/audit-log.js';
import { activeStatuses } from '../../cases/case-state.js';
import { INTERRUPTING } from '../../enforcement/commands/case-commands.js';
import { bytes, due, severityBadge, statusBadge, time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField } from '../views/layout.js';
import type { CaseView, EvidenceView } from './case-view.js';

/**
 * The analyst's case page. Every piece of complaint content (subject, headers, body, HTML source, file
 * names, reporter identity, event fields) goes through `html` escaping and sits in `<pre>` or text cells:
 * evidence is read, never rendered.
 */

export function renderCasePage(view: CaseView, o: { csrfToken: string; now: Date; me: string }): Html {
  const r = view.record;
  const s = r.state;
  const action = pathOf('console', 'cases', r.ref, 'actions');
  return html`<h1>${r.ref} ${statusBadge(r.status)} ${severityBadge(r.severity)}</h1>
<div class="grid">
<div>
  <section class="panel" aria-labelledby="facts-h">
    <h2 id="facts-h">Case</h2>
    <dl class="facts">
      <dt>Clause</dt><dd><strong>${r.clauseId}</strong>${view.clause ? html` — ${view.clause.title}` : ''}</dd>
      <dt>Binding policy</dt><dd>${view.policy ? html`${view.policy.provider.name} AUP version <strong>${view.policy.version}</strong> (effective ${time(view.policy.effective_at)})` : html`${r.providerId} ${r.policyVersion} <span class="muted">(not loaded)</span>`}</dd>
      <dt>Customer</dt><dd><a href="${pathOf('console', 'customers', r.customerId)}">${r.customerRef}</a>${r.repeatCount > 0 ? html` <span class="badge sev-high">repeat offence #${r.repeatCount + 1}</span>` : ''}</dd>
      <dt>Service</dt><dd><a href="${pathOf('console', 'services', r.serviceId)}">${r.serviceRef}</a></dd>
      <dt>Addresses</dt><dd>${s.subjects.addresses.join(', ') || '—'}</dd>
      ${s.subjects.urls.length > 0 ? html`<dt>URLs</dt><dd>${s.subjects.urls.slice(0, 20).join(' · ')}</dd>` : ''}
      <dt>Opened</dt><dd>${time(r.openedAt)}</dd>
      <dt>Events</dt><dd>${view.events.length} (${time(r.firstEventAt)} – ${time(r.lastEventAt)})</dd>
      <dt>Notice given</dt><dd>${s.noticeGivenAt ? time(s.noticeGivenAt) : html`<span class="muted">not yet</span>`}</dd>
      <dt>Next due</dt><dd>${due(r.dueAt, o.now)}</dd>
      <dt>Assigned</dt><dd>${r.assignedTo ?? html`<span class="muted">nobody</span>`}</dd>
      ${view.clause ? html`<dt>Clause text</dt><dd>${view.clause.text}</dd>` : ''}
    </dl>
  </section>
  ${renderLadder(view, o.now)}
  ${renderEvents(view)}
  ${renderConsentEvidence(view, o.csrfToken)}
  <section class="panel" aria-labelledby="evidence-h">
    <h2 id="evidence-h">Evidence</h2>
    ${view.evidence.length === 0 ? html`<p class="muted">No stored report belongs to this case.</p>` : view.evidence.map((e) => renderEvidence(r.ref, e, 'console'))}
  </section>
  ${renderTimeline(view)}
</div>
<div>
  ${renderActions(view, action, o)}
  <section class="panel" aria-labelledby="notes-h">
    <h2 id="notes-h">Notes</h2>
    ${view.notes.length === 0 ? html`<p class="muted">No notes yet.</p>` : html`<ul>${view.notes.map((n) => html`<li><small>${time(n.at)} · ${n.author}</small><br>${n.text}</li>`)}</ul>`}
    <form method="post" action="${action}">
      ${csrfField(o.csrfToken)}<input type="hidden" name="action" value="add-note">
      <label for="note-text">Add a note</label>
      <textarea id="note-text" name="text" required maxlength="20000"></textarea>
      <button type="submit">Add note</button>
    </form>
  </section>
  <section class="panel" aria-labelledby="earlier-h">
    <h2 id="earlier-h">The customer's other cases</h2>
    ${
      view.earlier.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<table><thead><tr><th scope="col">Case</th><th scope="col">Clause</th><th scope="col">State</th><th scope="col">Opened</th></tr></thead><tbody>
      ${view.earlier.map((c) => html`<tr><td><a href="${pathOf('console', 'cases', c.ref)}">${c.ref}</a></td><td>${c.clauseId}</td><td>${statusBadge(c.status)}</td><td>${time(c.openedAt)}</td></tr>`)}
      </tbody></table>`
    }
  </section>
</div>
</div>`;
}

function renderLadder(view: CaseView, now: Date): Html {
  const ladder = view.policy?.terms.enforcement.ladder ?? [];
  const s = view.record.state;
  const position = s.ladder.position;
  const waiting = s.ladder.awaitingApproval;
  return html`<section class="panel" aria-labelledby="ladder-h">
  <h2 id="ladder-h">Ladder</h2>
  <ol class="ladder">
    ${ladder.map((step, i) => {
      const done = i <= position;
      const next = i === position + 1 && activeStatuses.has(view.record.status);
      return html`<li class="${done ? 'done' : next ? 'next' : ''}">${step.id}: ${step.action}${step.wait ? html` <small>then wait ${step.wait}</small>` : ''}${step.approval === 'analyst' ? html` <small>(analyst approves)</small>` : ''}${next ? html` — <span>next, due ${view.record.dueAt ? due(view.record.dueAt, now) : html`now`}</span>` : ''}${waiting?.stepId === step.id ? html` — <strong>waiting for approval</strong>` : ''}</li>`;
    })}
  </ol>
  ${ladder.length === 0 ? html`<p class="muted">The binding policy version is not loaded.</p>` : ''}
</section>`;
}

function renderEvents(view: CaseView): Html {
  const events = view.events.slice(0, 200);
  return html`<section class="panel" aria-labelledby="events-h">
  <h2 id="events-h">Events (${view.events.length})</h2>
  <div class="table-wrap"><table class="responsive"><thead><tr><th scope="col">Time</th><th scope="col">Classification</th><th scope="col">Source</th><th scope="col">Report</th><th scope="col">Verdict</th></tr></thead><tbody>
  ${events.map(
    (e) =>
      html`<tr><td data-label="Time">${time(e.eventTime)}</td><td data-label="Classification">${e.classification}</td><td data-label="Source">${e.sourceIp ?? ''} ${e.sourceFqdn ?? ''} ${e.sourceUrl ? html`<br><small>${e.sourceUrl}</small>` : ''}</td><td data-label="Report">#${e.reportId}</td><td data-label="Verdict">${e.verdict}${e.clauseId ? html` (${e.clauseId})` : ''}</td></tr>`,
  )}
  </tbody></table></div>
  ${view.events.length > events.length ? html`<p class="muted">First ${events.length} shown.</p>` : ''}
</section>`;
}

/** One report's evidence as text: reporter, subject, raw headers, text body, HTML source, attachments. */
export function renderEvidence(
  caseRef: string,
  e: EvidenceView,
  area: 'console' | 'portal',
  redact?: (t: string) => string,
): Html {
  const r = e.report;
  const show = redact ?? ((t: string) => t);
  const base =
    area === 'console'
      ? pathOf('console', 'cases', caseRef, 'evidence', r.id)
      : pathOf('portal', 'cases', caseRef, 'evidence', r.id);
  return html`<article class="evidence-item" aria-label="Report ${r.id}">
  <h3>Report #${r.id} <small>${r.channel} · ${r.format} · received ${time(r.receivedAt)}${e.available ? html` · ${bytes(e.size)}` : ''}</small></h3>
  <dl class="facts">
    ${area === 'console' ? html`<dt>Reporter</dt><dd>${e.reporter.name ?? ''} ${e.reporter.email ? html`&lt;${e.reporter.email}&gt;` : ''} ${e.reporter.verified ? html`<span class="badge status-cured">verified</span>` : html`<span class="badge">unverified</span>`}</dd>` : ''}
    <dt>Subject</dt><dd class="subject">${show(r.subject ?? '—')}</dd>
    ${area === 'console' ? html`<dt>Evidence</dt><dd><code>${r.evidenceSha256}</code> · <a href="${base}/raw" download>download original</a></dd>` : ''}
  </dl>
  ${!e.available ? html`<p class="flash flash-error">The evidence blob is missing from the evidence store.</p>` : ''}
  ${e.headers && area === 'console' ? html`<details><summary>Headers</summary><pre class="evidence headers">${e.headers}</pre></details>` : ''}
  ${e.textBody ? html`<h4>Body</h4><pre class="evidence body">${show(e.textBody)}</pre>` : ''}
  ${e.htmlSource ? html`<details><summary>HTML part (source, shown as text)</summary><pre class="evidence html-source">${show(e.htmlSource)}</pre></details>` : ''}
  ${e.truncated ? html`<p class="muted">Long parts are cut here; download the original for everything.</p>` : ''}
  ${
    e.attachments.length > 0
      ? html`<h4>Attachments</h4><ul class="attachments">${e.attachments.map(
          (a) =>
            html`<li>${area === 'console' ? html`<a href="${base}/attachments/${a.index}" download>${a.fileName}</a>` : html`<span>${show(a.fileName)}</span>`} <small>${a.contentType} · ${bytes(a.size)}</small></li>`,
        )}</ul>`
      : ''
  }
</article>`;
}

function renderActions(view: CaseView, action: string, o: { csrfToken: string; me: string }): Html {
  const r = view.record;
  const s = r.state;
  const remedies = view.policy?.terms.enforcement.remedies ?? [];
  const closed = r.status === 'dismissed' || r.status === 'terminated';
  const waiting = s.ladder.awaitingApproval;
  const waitingStep = waiting
    ? view.policy?.terms.enforcement.ladder.find((st) => st.id === waiting.stepId)
    : undefined;
  const simple = (name: string, label: string, cls = 'secondary') =>
    html`<form method="post" action="${action}">${csrfField(o.csrfToken)}<input type="hidden" name="action" value="${name}"><button type="submit" class="${cls}">${label}</button></form>`;
  const confirmForm = (name: string, label: string, question: string, extra: Html = html``) =>
    html`<form method="post" action="${action}" data-confirm="${question}" class="confirm-box">
  ${csrfField(o.csrfToken)}<input type="hidden" name="action" value="${name}">${extra}
  <input type="checkbox" id="confirm-${name}" name="confirm" value="yes" required>
  <label for="confirm-${name}">I confirm: ${question}</label>
  <button type="submit" class="danger">${label}</button>
</form>`;
  const items: Html[] = [];
  if (!closed) {
    if (waiting) {
      const interrupting = waitingStep ? INTERRUPTING.has(waitingStep.action) : false;
      const extra = html`<input type="hidden" name="stepId" value="${waiting.stepId}">`;
      items.push(
        interrupting
          ? confirmForm(
              'approve-step',
              `Approve "${waiting.stepId}"`,
              `${waitingStep?.action ?? ''} service ${r.serviceRef} now?`,
              extra,
            )
          : html`<form method="post" action="${action}">${csrfField(o.csrfToken)}<input type="hidden" name="action" value="approve-step">${extra}<button type="submit">Approve "${waiting.stepId}" (${waitingStep?.action ?? 'step'})</button></form>`,
      );
    }
    if (remedies.includes('notify') || remedies.includes('warn'))
      items.push(simple('send-notice', 'Send notice', ''));
    if (r.status === 'on-hold' || r.status === 'customer-responded')
      items.push(simple('release', 'Release (resume ladder)'));
    else items.push(simple('hold', 'Hold'));
    items.push(simple('skip-step', 'Skip next step'));
    items.push(simple('mark-cured', 'Mark cured'));
    if (remedies.includes('suspend') && !s.suspended) {
      items.push(
        confirmForm('suspend', 'Suspend service', `suspend service ${r.serviceRef} of ${r.customerRef}?`),
      );
    }
    if (remedies.includes('terminate')) {
      items.push(
        confirmForm(
          'terminate',
          'Terminate service',
          `terminate service ${r.serviceRef} of ${r.customerRef}? This ends the contract.`,
        ),
      );
    }
    const others = remedies.filter((m) => !['notify', 'warn', 'suspend', 'terminate'].includes(m));
    if (others.length > 0) {
      items.push(html`<form method="post" action="${action}">${csrfField(o.csrfToken)}<input type="hidden" name="action" value="apply-remedy">
  <label for="remedy-sel">Remedy</label>
  <select id="remedy-sel" name="remedy">${others.map((m) => html`<option value="${m}">${m}</option>`)}</select>
  <label for="fee-amount" class="visually-hidden">Fee amount</label><input id="fee-amount" name="feeAmount" type="number" min="0" step="0.01" placeholder="fee" size="6">
  <input type="checkbox" id="confirm-remedy" name="confirm" value="yes"><label for="confirm-remedy">confirm (deny service)</label>
  <button type="submit" class="secondary">Apply</button></form>`);
    }
    items.push(html`<form method="post" action="${action}">${csrfField(o.csrfToken)}<input type="hidden" name="action" value="dismiss">
  <label for="dismiss-reason">Reason</label><input id="dismiss-reason" name="reason" type="text" required size="18">
  <button type="submit" class="secondary">Dismiss</button></form>`);
  }
  if (s.suspended || s.blocked) items.push(simple('reinstate', 'Reinstate service', ''));
  items.push(html`<form method="post" action="${action}">${csrfField(o.csrfToken)}<input type="hidden" name="action" value="assign">
  <label for="assignee">Assign to</label><input id="assignee" name="assignee" type="text" value="${r.assignedTo ?? o.me}" size="18">
  <button type="submit" class="secondary">Assign</button></form>`);
  return html`<section class="panel" aria-labelledby="actions-h">
  <h2 id="actions-h">Actions</h2>
  <p class="help">Only the remedies the binding policy reserves are offered: ${remedies.join(', ') || 'none'}.</p>
  <div class="actions">${items}</div>
</section>`;
}

interface TimelineItem {
  readonly at: Date;
  readonly kind: 'audit' | 'message' | 'note';
  readonly body: Html;
}

function renderTimeline(view: CaseView): Html {
  const items: TimelineItem[] = [];
  for (const m of view.messages) {
    items.push({
      at: m.at,
      kind: 'message',
      body: html`<strong>${m.direction === 'out' ? `Sent ${m.kind}` : m.kind === 'third-party' ? 'Received third-party message (not authenticated as the customer; changed nothing)' : `Received ${m.kind.replace(/-/g, ' ')}`}</strong> ${m.subject ? html`“${m.subject}”` : ''} <small>${m.direction === 'out' ? (m.recipient ?? '') : (m.sender ?? '')}</small>${m.body ? html`<details><summary>Text</summary><pre class="evidence">${m.body}</pre></details>` : ''}`,
    });
  }
  for (const n of view.notes)
    items.push({ at: n.at, kind: 'note', body: html`<strong>Note</strong> by ${n.author}: ${n.text}` });
  for (const a of view.audit) {
    const text = auditText(a);
    if (text) items.push({ at: a.at, kind: 'audit', body: text });
  }
  items.sort((a, b) => b.at.getTime() - a.at.getTime());
  return html`<section class="panel" aria-labelledby="timeline-h">
  <h2 id="timeline-h">Timeline</h2>
  ${items.length === 0 ? html`<p class="muted">Nothing recorded yet.</p>` : html`<ol class="timeline" reversed>${items.map((i) => html`<li class="kind-${i.kind}">${time(i.at)} — ${i.body}</li>`)}</ol>`}
</section>`;
}

function auditText(a: AuditEntry): Html | undefined {
  const p = (a.payload ?? {}) as Record<string, unknown>;
  const str = (v: unknown) =>
    typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
  switch (a.kind) {
    case 'case.state':
      return html`<strong>${str(p.from)} → ${str(p.to)}</strong> <small>(${str(p.cause)}, ${a.actor})</small><br><small>${str(p.reason)}</small>`;
    case 'case.intervention': {
      const command = (p.command ?? {}) as Record<string, unknown>;
      return html`<strong>${a.actor}</strong>: ${str(command.kind)}${p.note ? html` — ${str(p.note)}` : ''}`;
    }
    case 'judgement': {
      // An event's one entry in the case's trail: which event, under what, and whether it opened the case.
      const clauses = Array.isArray(p.clauses) ? p.clauses.map(str).join(', ') : str(p.reason);
      const outcome = p.outcome === 'opened' ? 'opened the case' : p.outcome === 'joined' ? 'joined' : '';
      return html`Event <strong>#${str(p.event)}</strong> of report #${str(p.report)}: ${str(p.verdict)} ${clauses ? html`(${clauses})` : ''} ${outcome}`;
    }
    case 'case.assigned':
      return html`Assigned to <strong>${str(p.to) || 'nobody'}</strong> by ${a.actor}`;
    case 'case.note':
    case 'case.message':
      return undefined;
    default:
      if (a.kind.startsWith('action.')) {
        return html`Action ${a.kind.slice('action.'.length)}: <code>${str(p.kind)}</code> ${str(p.idempotencyKey ?? p.key)} ${p.error ? html`<small>${str(p.error)}</small>` : ''}`;
      }
      return html`${a.kind} <small>${a.actor}</small>`;
  }
}

/** The customer's per-recipient consent evidence (Secure Packet §4.3) with the accept/reject form. */
function renderConsentEvidence(view: CaseView, csrf: string): Html | '' {
  if (view.consentEvidence.length === 0) return '';
  const r = view.record;
  return html`<section class="panel" aria-labelledby="consent-evidence-h">
    <h2 id="consent-evidence-h">Consent evidence</h2>
    ${view.consentEvidence.map(
      (
        e,
      ) => html`<article id="consent-evidence-${e.id}"><p><strong>#${e.id}</strong> from ${e.submittedBy}, ${time(e.submittedAt)} · <span class="badge">${e.status}</span>${e.decidedBy ? html` <small>by ${e.decidedBy}${e.note ? html`: ${e.note}` : ''}</small>` : ''}</p>
<div class="table-wrap"><table class="responsive"><thead><tr><th scope="col">Address</th><th scope="col">When</th><th scope="col">Source</th><th scope="col">Method</th><th scope="col">Confirmation</th></tr></thead><tbody>
${e.recipients.map((x) => html`<tr><td data-label="Address">${x.address}</td><td data-label="When">${x.time}</td><td data-label="Source">${x.source}</td><td data-label="Method">${x.method}</td><td data-label="Confirmation">${x.confirmation}</td></tr>`)}
</tbody></table></div>
${
  e.status === 'pending'
    ? html`<form method="post" action="${pathOf('console', 'cases', r.ref, 'consent-evidence', e.id, 'decide')}">${csrfField(csrf)}
<input name="note" type="text" placeholder="why (optional)" aria-label="Note on consent evidence ${e.id}" maxlength="4000">
<button type="submit" name="decision" value="accept">Accept (mark cured)</button> <button type="submit" name="decision" value="reject">Reject (the ladder goes on)</button></form>`
    : ''
}</article>`,
    )}
  </section>`;
}
