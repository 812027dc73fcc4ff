import { z } from 'zod';
import { caseStatuses } from '../../cases/case-state.js';
import { QUEUE_SORTS, type QueueFilter, type QueuePage } from '../../cases/queries/case-queue.js';
import { severities } from '../../policy/policy-schema.js';
import { due, severityBadge, statusBadge, time } from '../views/format.js';
import { type Html, href, html, pathOf } from '../views/html.js';
import { csrfField } from '../views/layout.js';

/** The analyst's queue: filters in a GET form (bookmarkable), sortable columns, pages, bulk actions. */

const oneOrMany = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter((s) => s !== ''));

export const queueQuerySchema = z.object({
  state: oneOrMany.pipe(z.array(z.enum(caseStatuses))),
  clause: z.string().max(100).optional(),
  severity: z.enum(severities).or(z.literal('')).optional(),
  customer: z.string().max(200).optional(),
  assignee: z.string().max(200).optional(),
  due: z.enum(['soon', 'overdue', '']).optional(),
  responded: z.enum(['1', '']).optional(),
  q: z.string().max(200).optional(),
  sort: z.enum(QUEUE_SORTS).optional(),
  dir: z.enum(['asc', 'desc']).optional(),
  page: z.coerce.number().int().min(1).max(100_000).optional(),
});
export type QueueQuery = z.infer<typeof queueQuerySchema>;

/** The store filter of a queue query at `now`. */
export function filterOf(q: QueueQuery, now: Date): QueueFilter {
  return {
    statuses: q.state,
    ...(q.clause ? { clauseId: q.clause } : {}),
    ...(q.severity ? { severity: q.severity } : {}),
    ...(q.customer ? { customerRef: q.customer } : {}),
    ...(q.assignee ? { assignedTo: q.assignee } : {}),
    ...(q.due === 'soon' ? { dueBefore: new Date(now.getTime() + 24 * 3600_000) } : {}),
    ...(q.due === 'overdue' ? { dueBefore: now } : {}),
    ...(q.responded === '1' ? { responded: true } : {}),
    ...(q.q ? { search: q.q } : {}),
    ...(q.sort ? { sort: q.sort } : {}),
    ...(q.dir ? { direction: q.dir } : {}),
    page: q.page ?? 1,
    pageSize: 50,
  };
}

function queryParams(q: QueueQuery): Record<string, string | undefined> {
  return {
    clause: q.clause,
    severity: q.severity,
    customer: q.customer,
    assignee: q.assignee,
    due: q.due,
    responded: q.responded,
    q: q.q,
    sort: q.sort,
    dir: q.dir,
  };
}

function queueHref(q: QueueQuery, overrides: Record<string, string | number | undefined>): string {
  const params = { ...queryParams(q), ...overrides };
  // Repeated `state` parameters are appended by hand (href takes one value per key).
  const base = href('/console', params);
  const states = q.state.map((s) => `state=${encodeURIComponent(s)}`).join('&');
  if (!states) return base;
  return base.includes('?') ? `${base}&${states}` : `${base}?${states}`;
}

function sortHeader(q: QueueQuery, key: (typeof QUEUE_SORTS)[number], label: string): Html {
  const active = (q.sort ?? 'id') === key;
  const dir = active ? (q.dir ?? (key === 'due' ? 'asc' : 'desc')) : undefined;
  const next = active && dir === 'asc' ? 'desc' : active ? 'asc' : key === 'due' ? 'asc' : 'desc';
  const sortAttr = dir === undefined ? 'none' : dir === 'asc' ? 'ascending' : 'descending';
  return html`<th scope="col" aria-sort="${sortAttr}"><a href="${queueHref(q, { sort: key, dir: next, page: undefined })}">${label}${dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}</a></th>`;
}

export function renderQueue(o: {
  query: QueueQuery;
  result: QueuePage;
  clauses: readonly string[];
  csrfToken: string;
  now: Date;
  me: string;
}): Html {
  const { query: q, result, now } = o;
  const opt = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  const filters = html`<form method="get" action="/console" class="filters" role="search" aria-label="Filter cases">
  <div class="field"><label for="f-q">Search</label>
    <input id="f-q" type="search" name="q" value="${q.q ?? ''}" placeholder="AUP-…, customer, service, IP" size="26"></div>
  <div class="field"><label for="f-state">State</label>
    <select id="f-state" name="state">
      ${opt('', 'any', q.state.length === 0)}
      ${caseStatuses.map((s) => opt(s, s.replace(/-/g, ' '), q.state.includes(s)))}
    </select></div>
  <div class="field"><label for="f-clause">Clause</label>
    <select id="f-clause" name="clause">
      ${opt('', 'any', !q.clause)}
      ${o.clauses.map((c) => opt(c, c, q.clause === c))}
    </select></div>
  <div class="field"><label for="f-sev">Severity</label>
    <select id="f-sev" name="severity">
      ${opt('', 'any', !q.severity)}
      ${severities.map((s) => opt(s, s, q.severity === s))}
    </select></div>
  <div class="field"><label for="f-customer">Customer</label>
    <input id="f-customer" type="text" name="customer" value="${q.customer ?? ''}" size="12"></div>
  <div class="field"><label for="f-due">Due</label>
    <select id="f-due" name="due">
      ${opt('', 'any time', !q.due)}
      ${opt('soon', 'within 24 h', q.due === 'soon')}
      ${opt('overdue', 'overdue', q.due === 'overdue')}
    </select></div>
  <div class="field check"><input id="f-resp" type="checkbox" name="responded" value="1"${q.responded === '1' ? html` checked` : ''}>
    <label for="f-resp">Customer responded</label></div>
  ${q.sort ? html`<input type="hidden" name="sort" value="${q.sort}">` : ''}
  ${q.dir ? html`<input type="hidden" name="dir" value="${q.dir}">` : ''}
  <div class="field"><button type="submit">Filter</button></div>
  <div class="field"><a href="/console">Clear</a></div>
</form>`;

  const rows = result.rows.map(
    (r) => html`<tr>
  <td><input type="checkbox" name="case" value="${r.ref}" form="bulk" aria-label="Select ${r.ref}"></td>
  <td data-label="Case"><a href="${pathOf('console', 'cases', r.ref)}" data-open>${r.ref}</a></td>
  <td data-label="State">${statusBadge(r.status)}</td>
  <td data-label="Clause">${r.clauseId}</td>
  <td data-label="Severity">${severityBadge(r.severity)}</td>
  <td data-label="Customer"><a href="${pathOf('console', 'customers', r.customerId)}">${r.customerRef}</a></td>
  <td data-label="Service"><a href="${pathOf('console', 'services', r.serviceId)}">${r.serviceRef}</a></td>
  <td data-label="Events" class="num">${r.eventCount}</td>
  <td data-label="Opened">${time(r.openedAt)}</td>
  <td data-label="Last event">${time(r.lastEventAt)}</td>
  <td data-label="Due">${due(r.dueAt, now)}</td>
  <td data-label="Assigned">${r.assignedTo ?? html`<span class="muted">—</span>`}</td>
</tr>`,
  );

  const pager = html`<nav class="pager" aria-label="Pages">
  ${result.page > 1 ? html`<a href="${queueHref(q, { page: result.page - 1 })}" rel="prev">← Previous</a>` : html`<span class="muted">← Previous</span>`}
  <span>Page ${result.page} of ${result.pages}${result.totalCapped ? '+' : ''} · ${result.total.toLocaleString('en')}${result.totalCapped ? '+' : ''} cases</span>
  ${result.page < result.pages || (result.totalCapped && result.rows.length === result.pageSize) ? html`<a href="${queueHref(q, { page: result.page + 1 })}" rel="next">Next →</a>` : html`<span class="muted">Next →</span>`}
</nav>`;

  return html`<h1>Case queue</h1>
${filters}
<form id="bulk" method="post" action="/console/cases/bulk" class="bulk" aria-label="Bulk actions on selected cases">
  ${csrfField(o.csrfToken)}
  <label for="bulk-action">With selected:</label>
  <select id="bulk-action" name="action" required>
    <option value="assign">Assign to</option>
    <option value="hold">Hold</option>
    <option value="send-notice">Send notice</option>
    <option value="dismiss">Dismiss</option>
  </select>
  <label class="visually-hidden" for="bulk-assignee">Assignee</label>
  <input id="bulk-assignee" type="text" name="assignee" value="${o.me}" size="18" placeholder="assignee">
  <label class="visually-hidden" for="bulk-reason">Reason (dismissal)</label>
  <input id="bulk-reason" type="text" name="reason" size="22" placeholder="reason (for dismissal)">
  <button type="submit">Apply</button>
  <span class="help">Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>o</kbd> open, <kbd>x</kbd> select, <kbd>/</kbd> search</span>
</form>
<div class="table-wrap">
<table class="queue responsive" data-kbd-nav>
  <caption class="visually-hidden">Cases, ${result.total} matching</caption>
  <thead><tr>
    <th scope="col"><input type="checkbox" data-select-all="case" aria-label="Select all on this page"></th>
    ${sortHeader(q, 'id', 'Case')}
    ${sortHeader(q, 'status', 'State')}
    <th scope="col">Clause</th>
    ${sortHeader(q, 'severity', 'Severity')}
    ${sortHeader(q, 'customer', 'Customer')}
    <th scope="col">Service</th>
    <th scope="col" class="num">Events</th>
    ${sortHeader(q, 'opened', 'Opened')}
    ${sortHeader(q, 'last-event', 'Last event')}
    ${sortHeader(q, 'due', 'Due')}
    <th scope="col">Assigned</th>
  </tr></thead>
  <tbody>
  ${rows.length > 0 ? rows : html`<tr><td colspan="12" class="muted">No case matches these filters.</td></tr>`}
  </tbody>
</table>
</div>
${pager}`;
}
