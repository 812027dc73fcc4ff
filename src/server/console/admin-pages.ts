import type { ApiKeyRecord } from '../../accounts/api-key-repository.js';
import { roles } from '../../accounts/principal.js';
import type { UserRecord } from '../../accounts/user-repository.js';
import type { OutboxRecord } from '../../enforcement/outbox/outbox-repository.js';
import type { FieldChange, PolicyDiff } from '../../policy/policy-diff.js';
import type { PolicyVersionSummary } from '../../policy/policy-repository.js';
import { time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField } from '../views/layout.js';

/** Admin pages: people and roles, API keys, policy versions (publish after seeing the diff), provisioning. */

export function adminNav(current: string): Html {
  const items = [
    ['users', 'Users and roles'],
    ['apikeys', 'API keys'],
    ['policies', 'Policies'],
    ['provisioning', 'Provisioning hook'],
  ] as const;
  return html`<nav aria-label="Admin" class="pager">${items.map(([key, label]) =>
    key === current
      ? html`<strong aria-current="page">${label}</strong>`
      : html`<a href="${pathOf('console', 'admin', key)}">${label}</a>`,
  )}</nav>`;
}

export function renderUsers(
  users: readonly UserRecord[],
  customerRefs: Map<number, string>,
  csrf: string,
): Html {
  return html`<h1>Users and roles</h1>${adminNav('users')}
<table class="responsive"><thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Customer</th><th scope="col">Created</th><th scope="col">Last sign-in</th><th scope="col">State</th></tr></thead><tbody>
${users.map(
  (u) =>
    html`<tr><td data-label="E-mail">${u.email}</td><td data-label="Role">${u.role}</td><td data-label="Customer">${u.customerId === null ? '—' : html`<a href="${pathOf('console', 'customers', u.customerId)}">${customerRefs.get(u.customerId) ?? u.customerId}</a>`}</td><td data-label="Created">${time(u.createdAt)}</td><td data-label="Last sign-in">${time(u.lastLoginAt)}</td><td data-label="State">${u.disabledAt ? 'disabled' : u.hasPassword ? 'active' : 'no password'}</td></tr>`,
)}
</tbody></table>
<h2>Add a user</h2>
<form method="post" action="/console/admin/users" class="filters">
  ${csrfField(csrf)}
  <div class="field"><label for="u-email">E-mail</label><input id="u-email" name="email" type="email" required></div>
  <div class="field"><label for="u-role">Role</label><select id="u-role" name="role">${roles.map((r) => html`<option value="${r}">${r}</option>`)}</select></div>
  <div class="field"><label for="u-customer">Customer reference (customer role)</label><input id="u-customer" name="customer" type="text"></div>
  <div class="field"><label for="u-password">Initial password (12+ characters)</label><input id="u-password" name="password" type="password" minlength="12" autocomplete="new-password" required></div>
  <div class="field"><button type="submit">Add user</button></div>
</form>`;
}

export function renderApiKeys(
  keys: readonly ApiKeyRecord[],
  customerRefs: Map<number, string>,
  csrf: string,
  created?: string,
): Html {
  return html`<h1>API keys</h1>${adminNav('apikeys')}
${created ? html`<div class="flash flash-ok" role="status"><p>New key (shown once, copy it now):</p><pre class="evidence" id="new-key">${created}</pre></div>` : ''}
<table class="responsive"><thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Role</th><th scope="col">Customer</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"></th></tr></thead><tbody>
${keys.map(
  (k) =>
    html`<tr><td data-label="Name">${k.name}</td><td data-label="Prefix"><code>${k.prefix}…</code></td><td data-label="Role">${k.role}</td><td data-label="Customer">${k.customerId === null ? '—' : (customerRefs.get(k.customerId) ?? k.customerId)}</td><td data-label="Created">${time(k.createdAt)}</td><td data-label="Last used">${time(k.lastUsedAt)}</td><td>${
      k.revokedAt
        ? html`revoked ${time(k.revokedAt)}`
        : html`<form method="post" action="/console/admin/apikeys/revoke" data-confirm="Revoke key ${k.name}?">${csrfField(csrf)}<input type="hidden" name="id" value="${k.id}"><button type="submit" class="secondary">Revoke</button></form>`
    }</td></tr>`,
)}
</tbody></table>
<h2>Create a key</h2>
<form method="post" action="/console/admin/apikeys" class="filters">
  ${csrfField(csrf)}
  <div class="field"><label for="k-name">Name</label><input id="k-name" name="name" type="text" required maxlength="200"></div>
  <div class="field"><label for="k-role">Role</label><select id="k-role" name="role">${roles.map((r) => html`<option value="${r}">${r}</option>`)}</select></div>
  <div class="field"><label for="k-customer">Customer reference (customer role)</label><input id="k-customer" name="customer" type="text"></div>
  <div class="field"><button type="submit">Create key</button></div>
</form>`;
}

export function renderPolicies(
  versions: readonly PolicyVersionSummary[],
  csrf: string,
  draft = '',
  defaultProvider?: string,
): Html {
  const providers = [...new Set(versions.map((v) => v.provider))];
  const fallback = defaultProvider ?? providers[0];
  return html`<h1>Policies</h1>${adminNav('policies')}
<p class="help" id="providers-served">This desk serves every published provider (${providers.join(', ') || 'none'}): each customer is judged under the version of its own provider that binds it. Customers whose registry row names no provider are judged under <strong>${fallback ?? 'none'}</strong>${defaultProvider ? ' (--provider)' : ''}. A version published here binds the next event in every running process.</p>
<table class="responsive"><thead><tr><th scope="col">Provider</th><th scope="col">Version</th><th scope="col">Published</th><th scope="col">Effective</th><th scope="col">sha256</th></tr></thead><tbody>
${versions.map((v) => html`<tr><td data-label="Provider">${v.provider}</td><td data-label="Version">${v.version}</td><td data-label="Published">${time(v.publishedAt)}</td><td data-label="Effective">${time(v.effectiveAt)}</td><td data-label="sha256"><code>${v.sha256.slice(0, 16)}…</code></td></tr>`)}
</tbody></table>
<h2>Publish a new version</h2>
<p class="help">Paste the policy document (YAML). The next page shows what changes against the provider's latest version; nothing is published until you confirm there.</p>
<form method="post" action="/console/admin/policies/preview">
  ${csrfField(csrf)}
  <label for="p-source">Policy YAML</label>
  <textarea id="p-source" name="source" rows="16" required>${draft}</textarea>
  <button type="submit">Show the changes</button>
</form>`;
}

function changeList(changes: readonly FieldChange[]): Html {
  if (changes.length === 0) return html``;
  return html`<ul>${changes.map(
    (c) =>
      html`<li><code>${c.path}</code>${c.material ? html` <span class="badge sev-high">material</span>` : html` <span class="badge">editorial</span>`} <small>${c.note}</small><br><span class="diff-del">${display(c.old)}</span> → <span class="diff-add">${display(c.new)}</span></li>`,
  )}</ul>`;
}

function display(v: unknown): string {
  if (v === undefined || v === null) return '∅';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

export function renderPolicyPreview(o: {
  provider: string;
  version: string;
  diff: PolicyDiff | undefined;
  /** What publishing will tell customers (compliance/aup-change-notice.ts `changeAnnouncement`). */
  announcement?: string | undefined;
  source: string;
  csrf: string;
}): Html {
  const d = o.diff;
  return html`<h1>Publish ${o.provider} ${o.version}?</h1>${adminNav('policies')}
${
  d
    ? html`<section class="panel" aria-labelledby="diff-h"><h2 id="diff-h">Changes from ${d.from} to ${d.to}</h2>
  <p><strong>${d.verdict.material ? 'Material change' : 'Editorial change only'}</strong></p>
  ${o.announcement ? html`<p id="change-notices">${o.announcement}</p>` : ''}
  ${d.verdict.reasons.length > 0 ? html`<ul>${d.verdict.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}
  ${d.clauses.added.length > 0 ? html`<h3>Clauses added</h3><ul>${d.clauses.added.map((c) => html`<li class="diff-add">${c.id}: ${c.title}</li>`)}</ul>` : ''}
  ${d.clauses.removed.length > 0 ? html`<h3>Clauses removed</h3><ul>${d.clauses.removed.map((c) => html`<li class="diff-del">${c.id}: ${c.title}</li>`)}</ul>` : ''}
  ${d.clauses.changed.map((c) => html`<h3>Clause ${c.id}: ${c.title}</h3>${changeList(c.changes)}`)}
  ${d.terms.length > 0 ? html`<h3>Terms</h3>${changeList(d.terms)}` : ''}
  ${d.document.length > 0 ? html`<h3>Document</h3>${changeList(d.document)}` : ''}
</section>`
    : html`<p>This is the first version of ${o.provider}: there is nothing to compare with.</p>`
}
<form method="post" action="/console/admin/policies/publish" data-confirm="Publish ${o.provider} ${o.version}?">
  ${csrfField(o.csrf)}
  <input type="hidden" name="source" value="${o.source}">
  <input type="checkbox" id="p-confirm" name="confirm" value="yes" required><label for="p-confirm">I have read the changes; publish version ${o.version}</label>
  <button type="submit">Publish</button>
  <a href="/console/admin/policies">Cancel</a>
</form>`;
}

export function renderProvisioning(o: {
  actions: readonly OutboxRecord[];
  csrf: string;
  settings: Html;
}): Html {
  return html`<h1>Provisioning hook</h1>${adminNav('provisioning')}
<section class="panel"><h2>Settings</h2>${o.settings}</section>
<section class="panel"><h2>Recent deliveries</h2>
<table class="responsive"><thead><tr><th scope="col">Action</th><th scope="col">Kind</th><th scope="col">Case</th><th scope="col">State</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th><th scope="col">Updated</th><th scope="col"></th></tr></thead><tbody>
${o.actions.length === 0 ? html`<tr><td colspan="8" class="muted">No provisioning action yet.</td></tr>` : ''}
${o.actions.map(
  (a) =>
    html`<tr><td data-label="Action">#${a.id} <small>${a.idempotencyKey}</small></td><td data-label="Kind">${a.kind}</td><td data-label="Case">${a.caseId === null ? '—' : html`<a href="${pathOf('console', 'cases', a.caseId)}">${a.caseId}</a>`}</td><td data-label="State">${a.status}</td><td data-label="Attempts" class="num">${a.attempts}/${a.maxAttempts}</td><td data-label="Last error">${a.lastError ?? ''}</td><td data-label="Updated">${time(a.updatedAt)}</td><td>${
      a.status === 'dead'
        ? html`<form method="post" action="/console/admin/provisioning/retry">${csrfField(o.csrf)}<input type="hidden" name="id" value="${a.id}"><button type="submit" class="secondary">Retry</button></form>`
        : ''
    }</td></tr>`,
)}
</tbody></table></section>`;
}
