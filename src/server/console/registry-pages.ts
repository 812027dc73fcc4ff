import type { QueuePage, ReporterActivity, ReporterReport } from '../../cases/queries/case-queue.js';
import type { AssignmentRecord, CustomerRecord, ServiceRecord } from '../../registry/registry-repository.js';
import { due, severityBadge, statusBadge, time } from '../views/format.js';
import { type Html, href, html, pathOf } from '../views/html.js';

/** Customer, service and reporter pages: who they are, what they hold (and held), and their cases. */

export function casesTable(page: QueuePage, now: Date): Html {
  if (page.rows.length === 0) return html`<p class="muted">No cases.</p>`;
  return html`<div class="table-wrap"><table class="responsive"><thead><tr><th scope="col">Case</th><th scope="col">State</th><th scope="col">Clause</th><th scope="col">Severity</th><th scope="col">Service</th><th scope="col">Opened</th><th scope="col">Due</th></tr></thead><tbody>
${page.rows.map(
  (c) =>
    html`<tr><td data-label="Case"><a href="${pathOf('console', 'cases', c.ref)}">${c.ref}</a></td><td data-label="State">${statusBadge(c.status)}</td><td data-label="Clause">${c.clauseId}</td><td data-label="Severity">${severityBadge(c.severity)}</td><td data-label="Service"><a href="${pathOf('console', 'services', c.serviceId)}">${c.serviceRef}</a></td><td data-label="Opened">${time(c.openedAt)}</td><td data-label="Due">${due(c.dueAt, now)}</td></tr>`,
)}
</tbody></table></div>
${page.total > page.rows.length ? html`<p class="muted">${page.rows.length} of ${page.total} shown.</p>` : ''}`;
}

function assignmentsTable(
  items: readonly AssignmentRecord[],
  services: Map<number, string>,
  now: Date,
): Html {
  if (items.length === 0) return html`<p class="muted">No assignments.</p>`;
  return html`<table class="responsive"><thead><tr><th scope="col">Resource</th><th scope="col">Service</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Now</th></tr></thead><tbody>
${items.map((a) => {
  const current = a.validFrom <= now && (a.validTo === null || a.validTo > now);
  return html`<tr><td data-label="Resource"><code>${a.resource}</code></td><td data-label="Service"><a href="${pathOf('console', 'services', a.serviceId)}">${services.get(a.serviceId) ?? a.serviceId}</a></td><td data-label="From">${time(a.validFrom)}</td><td data-label="To">${a.validTo ? time(a.validTo) : html`<span class="muted">open</span>`}</td><td data-label="Now">${current ? 'held' : html`<span class="muted">ended</span>`}</td></tr>`;
})}
</tbody></table>`;
}

export function renderCustomerPage(o: {
  customer: CustomerRecord;
  services: readonly ServiceRecord[];
  assignments: readonly AssignmentRecord[];
  cases: QueuePage;
  now: Date;
}): Html {
  const c = o.customer;
  const names = new Map(o.services.map((s) => [s.id, s.ref]));
  return html`<h1>Customer ${c.ref} <span class="badge">${c.status}</span></h1>
<div class="grid"><div>
<section class="panel"><h2>Cases</h2>${casesTable(o.cases, o.now)}
<p><a href="${href('/console', { customer: c.ref })}">Open in the queue</a></p></section>
<section class="panel"><h2>Assignments (history)</h2>${assignmentsTable(o.assignments, names, o.now)}</section>
</div><div>
<section class="panel"><h2>Details</h2><dl class="facts">
  <dt>Name</dt><dd>${c.name}</dd>
  <dt>Contacts</dt><dd>${c.emails.join(', ') || '—'}</dd>
  <dt>Country</dt><dd>${c.country ?? '—'}</dd>
  <dt>Accepted AUP</dt><dd>${c.acceptedPolicy ? html`${c.acceptedPolicy.provider} ${c.acceptedPolicy.version} ${c.acceptedPolicy.at ? html`on ${time(c.acceptedPolicy.at)}` : ''}` : html`<span class="muted">none recorded</span>`}</dd>
</dl></section>
<section class="panel"><h2>Services</h2>${
    o.services.length === 0
      ? html`<p class="muted">None.</p>`
      : html`<ul>${o.services.map((s) => html`<li><a href="${pathOf('console', 'services', s.id)}">${s.ref}</a> <small>${s.kind} · ${s.status}</small></li>`)}</ul>`
  }</section>
</div></div>`;
}

export function renderServicePage(o: {
  service: ServiceRecord;
  customer: CustomerRecord | undefined;
  assignments: readonly AssignmentRecord[];
  cases: QueuePage;
  now: Date;
}): Html {
  const s = o.service;
  return html`<h1>Service ${s.ref} <span class="badge">${s.status}</span></h1>
<div class="grid"><div>
<section class="panel"><h2>Cases</h2>${casesTable(o.cases, o.now)}</section>
<section class="panel"><h2>Assignments (history)</h2>${assignmentsTable(o.assignments, new Map([[s.id, s.ref]]), o.now)}</section>
</div><div>
<section class="panel"><h2>Details</h2><dl class="facts">
  <dt>Customer</dt><dd>${o.customer ? html`<a href="${pathOf('console', 'customers', o.customer.id)}">${o.customer.ref}</a> ${o.customer.name}` : s.customerId}</dd>
  <dt>Kind</dt><dd>${s.kind}</dd>
  <dt>Provisioning id</dt><dd>${s.provisioningRef ?? '—'}</dd>
</dl></section>
</div></div>`;
}

export function renderReportersPage(rows: readonly ReporterActivity[], since: Date): Html {
  return html`<h1>Reporters</h1>
<p class="muted">Who sent reports since ${time(since)}, most active first.</p>
<table class="responsive"><thead><tr><th scope="col">Reporter</th><th scope="col">Name</th><th scope="col" class="num">Reports</th><th scope="col">Last report</th></tr></thead><tbody>
${rows.length === 0 ? html`<tr><td colspan="4" class="muted">No reports yet.</td></tr>` : ''}
${rows.map((r) => html`<tr><td data-label="Reporter"><a href="${href('/console/reporters/view', { email: r.email })}">${r.email}</a></td><td data-label="Name">${r.name ?? ''}</td><td data-label="Reports" class="num">${r.reports}</td><td data-label="Last">${time(r.lastAt)}</td></tr>`)}
</tbody></table>`;
}

export function renderReporterPage(email: string, reports: readonly ReporterReport[]): Html {
  return html`<h1>Reporter ${email}</h1>
<table class="responsive"><thead><tr><th scope="col">Report</th><th scope="col">Received</th><th scope="col">Channel</th><th scope="col">Format</th><th scope="col">Subject</th><th scope="col">Outcome</th><th scope="col">Cases</th></tr></thead><tbody>
${reports.length === 0 ? html`<tr><td colspan="7" class="muted">No reports from this address.</td></tr>` : ''}
${reports.map(
  (r) =>
    html`<tr><td data-label="Report">#${r.id}</td><td data-label="Received">${time(r.receivedAt)}</td><td data-label="Channel">${r.channel}</td><td data-label="Format">${r.format}</td><td data-label="Subject">${r.subject ?? ''}</td><td data-label="Outcome">${r.status} · ${r.disposition}</td><td data-label="Cases">${r.caseRefs.map((ref) => html`<a href="${pathOf('console', 'cases', ref)}">${ref}</a> `)}</td></tr>`,
)}
</tbody></table>`;
}
