import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { caseRefOf as refOfCaseId } from '../../cases/case-ref.js';
import { listCaseEvents, type StoredCaseEvent } from '../../cases/report-repository.js';
import {
  getTriageItem,
  listTriageItems,
  recordFailedIntake,
  type TriageItem,
  triageStats,
} from '../../cases/triage-repository.js';
import { openCase } from '../../enforcement/commands/open-case.js';
import {
  attachTriageItem,
  classifyTriageItem,
  dismissTriageItem,
  openCaseFromTriage,
  retryTriageItem,
  type TriageDecision,
} from '../../enforcement/commands/triage-commands.js';
import { notActionableTemplates } from '../../enforcement/notices/ack-templates.js';
import { reportOutcomes } from '../../enforcement/pipeline/report-outcome.js';
import { AupError, isAupError } from '../../errors.js';
import { type InboxReport, listInboxReports } from '../../intake/inbox/inbox-query.js';
import { channels } from '../../intake/report.js';
import { triageReasons } from '../../store/tables/triage.table.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { utc } from '../views/format.js';
import { type Html, html } from '../views/html.js';
import { csrfField, page, sendPage } from '../views/layout.js';
import {
  type AreaSpec,
  type FormBody,
  field,
  formOf,
  principalOfPage,
  redirectWith,
  shell,
} from '../views/page-support.js';
import { type EnforcementSource, storeEnforcementSource } from './enforcement-source.js';

/**
 * The console's triage queue (`/console/triage`: what opened no case, oldest first, and an item's page with
 * the five decisions), the reports list (`/console/reports`, every received complaint with what it came
 * to) and cases opened by hand (`/console/cases/new`). Registered inside the console plugin, behind its
 * guard (admins and analysts, session and CSRF).
 */

const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});

export interface TriagePagesOptions {
  readonly deps: ResolvedAppDeps;
  readonly enforcement?: EnforcementSource | undefined;
  /** The console's area (navigation, roles): passed in, so this file needs nothing from the plugin. */
  readonly spec: AreaSpec;
}

export const triagePages: FastifyPluginAsync<TriagePagesOptions> = async (app, options) => {
  const deps = options.deps;
  const consoleSpec = options.spec;
  const db = deps.store.db;
  const secure = deps.http.secureCookies;
  const enforcement = options.enforcement ?? storeEnforcementSource(deps);

  app.get('/triage', async (request, reply) => {
    const q = z
      .object({
        reason: z.enum(triageReasons).optional(),
        status: z.enum(['open', 'resolved']).default('open'),
      })
      .safeParse(request.query);
    if (!q.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'bad filter');
    const now = deps.clock.now();
    await recordFailedIntake(db, now);
    const items = await listTriageItems(db, { status: q.data.status, reason: q.data.reason, limit: 200 });
    const stats = await triageStats(db);
    const s = shell(request, reply, consoleSpec, 'triage');
    return sendPage(
      reply,
      page({ ...s, title: 'Triage', body: renderTriageList(items, stats, q.data, now) }),
    );
  });

  app.get('/triage/:id', async (request, reply) => {
    const { id } = idParam.parse(request.params);
    const item = await getTriageItem(db, id);
    if (!item) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such triage item');
    const events = item.reportId === null ? [] : await listCaseEvents(db, { reportId: item.reportId });
    const s = shell(request, reply, consoleSpec, 'triage');
    return sendPage(
      reply,
      page({
        ...s,
        title: `Triage item ${item.id}`,
        body: renderTriageItem(item, events, s.csrfToken, deps.clock.now()),
      }),
    );
  });

  const decisions: Record<
    string,
    (
      d: Awaited<ReturnType<typeof enforcement>>,
      item: number,
      analyst: string,
      form: FormBody,
    ) => Promise<TriageDecision>
  > = {
    classify: (d, item, analyst, f) =>
      classifyTriageItem(d, { item, analyst, classification: field(f, 'classification'), ...note(f) }),
    attach: (d, item, analyst, f) =>
      attachTriageItem(d, { item, analyst, caseRef: field(f, 'caseRef'), ...note(f) }),
    'open-case': (d, item, analyst, f) =>
      openCaseFromTriage(d, {
        item,
        analyst,
        clause: field(f, 'clause'),
        reason: field(f, 'reason'),
        ...(field(f, 'service') ? { service: field(f, 'service') } : {}),
      }),
    'not-actionable': (d, item, analyst, f) =>
      dismissTriageItem(d, {
        item,
        analyst,
        template: (field(f, 'template') || 'not-abuse') as (typeof notActionableTemplates)[number],
        ...note(f),
      }),
    retry: (d, item, analyst, f) => retryTriageItem(d, { item, analyst, ...note(f) }),
  };

  app.post('/triage/:id/:decision', async (request, reply) => {
    const { id } = idParam.parse(request.params);
    const decision = String((request.params as { decision?: unknown }).decision ?? '');
    const run = Object.hasOwn(decisions, decision) ? decisions[decision] : undefined;
    if (!run) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such decision');
    const me = analystName(principalOfPage(request).name);
    try {
      const result = await run(await enforcement(), id, me, formOf(request));
      const to = result.caseRef ? `/console/cases/${result.caseRef}` : '/console/triage';
      return redirectWith(reply, to, { kind: 'ok', text: result.detail }, secure);
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      return redirectWith(reply, `/console/triage/${id}`, { kind: 'error', text: error.message }, secure);
    }
  });

  app.get('/reports', async (request, reply) => {
    const q = z
      .object({
        outcome: z
          .enum(reportOutcomes)
          .optional()
          .or(z.literal('').transform(() => undefined)),
        channel: z
          .enum(channels)
          .optional()
          .or(z.literal('').transform(() => undefined)),
      })
      .safeParse(request.query);
    if (!q.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'bad filter');
    const rows = await listInboxReports(db, { outcome: q.data.outcome, channel: q.data.channel, limit: 200 });
    const s = shell(request, reply, consoleSpec, 'reports');
    return sendPage(reply, page({ ...s, title: 'Reports', body: renderReports(rows, q.data) }));
  });

  app.get('/reports/:id', async (request, reply) => {
    const id = z.object({ id: z.string().regex(/^[0-9]{1,18}$/) }).safeParse(request.params);
    const [row] = id.success ? await listInboxReports(db, { ids: [id.data.id], limit: 1 }) : [];
    if (!row) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such report');
    const events = row.reportId === null ? [] : await listCaseEvents(db, { reportId: row.reportId });
    const s = shell(request, reply, consoleSpec, 'reports');
    return sendPage(reply, page({ ...s, title: `Report ${row.id}`, body: renderReport(row, events) }));
  });

  app.get('/cases/new', async (request, reply) => {
    const s = shell(request, reply, consoleSpec, 'queue');
    const q = request.query as Record<string, unknown>;
    return sendPage(reply, page({ ...s, title: 'Open a case', body: renderNewCase(s.csrfToken, q) }));
  });

  app.post('/cases/new', async (request, reply) => {
    const f = formOf(request);
    const me = analystName(principalOfPage(request).name);
    const reports = field(f, 'reports')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    try {
      const result = await openCase(await enforcement(), {
        service: field(f, 'service'),
        clause: field(f, 'clause'),
        reason: field(f, 'reason'),
        reports,
        analyst: me,
      });
      const text = `Case ${result.case.ref} opened under ${result.case.clauseId} (${result.policy})${result.review ? ': on hold for review, no notice sent' : ''}`;
      return redirectWith(reply, `/console/cases/${result.case.ref}`, { kind: 'ok', text }, secure);
    } catch (error) {
      if (!isAupError(error) || error.status >= 500) throw error;
      return redirectWith(reply, '/console/cases/new', { kind: 'error', text: error.message }, secure);
    }
  });
};

function note(f: FormBody): { note?: string } {
  const n = field(f, 'note');
  return n ? { note: n } : {};
}

/** The analyst name the commands record: one word (the e-mail). */
function analystName(name: string): string {
  return name.replace(/\s+/g, '_').slice(0, 100);
}

function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function renderTriageList(
  items: readonly TriageItem[],
  stats: Awaited<ReturnType<typeof triageStats>>,
  q: { reason?: string | undefined; status: string },
  now: Date,
): Html {
  return html`<h1>Triage</h1>
    <p class="summary" data-testid="triage-summary">${stats.open} open${
      stats.oldestReceivedAt ? `; oldest received ${age(stats.oldestReceivedAt, now)} ago` : ''
    }</p>
    <form method="get" action="/console/triage" class="filters">
      <label>Reason <select name="reason"><option value="">any</option>${triageReasons.map(
        (r) =>
          html`<option value="${r}" ${q.reason === r ? 'selected' : ''}>${r} (${stats.byReason[r] ?? 0})</option>`,
      )}</select></label>
      <label>Status <select name="status">${['open', 'resolved'].map(
        (st) => html`<option value="${st}" ${q.status === st ? 'selected' : ''}>${st}</option>`,
      )}</select></label>
      <button type="submit">Filter</button>
    </form>
    ${
      items.length === 0
        ? html`<p class="empty">Nothing waits for a decision.</p>`
        : html`<table class="triage">
            <thead><tr><th>Item</th><th>Reason</th><th>Received</th><th>Age</th><th>Channel</th><th>Best guess</th><th>Detail</th><th>Decided</th></tr></thead>
            <tbody>${items.map(
              (t) => html`<tr data-reason="${t.reason}">
                <td><a href="/console/triage/${t.id}">#${t.id}</a></td>
                <td><span class="badge">${t.reason}</span></td>
                <td>${utc(t.receivedAt)}</td>
                <td>${age(t.receivedAt, now)}</td>
                <td>${t.channel}</td>
                <td>${t.bestGuess ?? ''}</td>
                <td>${t.detail}</td>
                <td>${t.resolution ? `${t.resolution} by ${t.resolvedBy}` : ''}</td>
              </tr>`,
            )}</tbody>
          </table>`
    }`;
}

function renderEvents(events: readonly StoredCaseEvent[]): Html {
  if (events.length === 0) return html`<p class="empty">No events.</p>`;
  return html`<table class="events">
    <thead><tr><th>Event</th><th>Time</th><th>Class</th><th>Source</th><th>Target</th><th>Verdict</th><th>Reason</th><th>Case</th></tr></thead>
    <tbody>${events.map((e) => {
      const ev = e.event;
      const source = ev['source.ip'] ?? ev['source.fqdn'] ?? ev['source.url'] ?? '';
      const target = ev['destination.ip'] ?? ev['destination.fqdn'] ?? '';
      return html`<tr>
        <td>${e.id}</td><td>${utc(e.eventTime)}</td><td>${e.classification}${
          ev['classification.confidence'] === undefined ? '' : ` (${ev['classification.confidence']})`
        }</td>
        <td>${source}</td><td>${target}</td><td>${e.verdict}</td><td>${e.reason ?? ''}</td>
        <td>${e.caseId === null ? '' : html`<a href="/console/cases/${refOfCaseId(e.caseId)}">${refOfCaseId(e.caseId)}</a>`}</td>
      </tr>`;
    })}</tbody>
  </table>`;
}

function renderTriageItem(
  item: TriageItem,
  events: readonly StoredCaseEvent[],
  csrf: string,
  now: Date,
): Html {
  const mine = item.eventIds.length > 0 ? events.filter((e) => item.eventIds.includes(e.id)) : events;
  const action = (name: string) => `/console/triage/${item.id}/${name}`;
  const decided = item.status !== 'open';
  return html`<h1>Triage item #${item.id}: ${item.reason}</h1>
    <dl class="facts">
      <dt>Reason</dt><dd data-testid="triage-reason">${item.reason}</dd>
      <dt>Detail</dt><dd>${item.detail}</dd>
      <dt>Best guess</dt><dd>${item.bestGuess ?? 'none'}</dd>
      <dt>Received</dt><dd>${utc(item.receivedAt)} (${age(item.receivedAt, now)} ago) by ${item.channel}</dd>
      ${item.inboxId ? html`<dt>Intake item</dt><dd>${item.inboxId}</dd>` : ''}
      ${decided ? html`<dt>Decided</dt><dd>${item.resolution} by ${item.resolvedBy} at ${utc(item.resolvedAt)}: ${item.note ?? ''}</dd>` : ''}
    </dl>
    <h2>Events</h2>
    ${renderEvents(mine)}
    ${
      decided
        ? ''
        : html`<h2>Decide</h2>
      <div class="decisions">
        <form method="post" action="${action('open-case')}" class="decision" id="open-case">
          <h3>Open a case</h3>${csrfField(csrf)}
          <label>Service <input name="service" placeholder="default: the service the item names"></label>
          <label>Clause <input name="clause" required placeholder="clause id of the binding version"></label>
          <label>Reason <textarea name="reason" required></textarea></label>
          <button type="submit">Open case</button>
        </form>
        <form method="post" action="${action('classify')}" class="decision" id="classify">
          <h3>Classify</h3>${csrfField(csrf)}
          <label>Class <input name="classification" required value="${item.bestGuess ?? ''}" placeholder="taxonomy/type"></label>
          <button type="submit">Classify and judge</button>
        </form>
        <form method="post" action="${action('attach')}" class="decision" id="attach">
          <h3>Attach to a case</h3>${csrfField(csrf)}
          <label>Case <input name="caseRef" required placeholder="AUP-000123"></label>
          <button type="submit">Attach</button>
        </form>
        <form method="post" action="${action('not-actionable')}" class="decision" id="not-actionable">
          <h3>Not actionable</h3>${csrfField(csrf)}
          <label>Reply to the reporter <select name="template">${notActionableTemplates.map(
            (t) => html`<option value="${t}">${t}</option>`,
          )}</select></label>
          <label>Note <textarea name="note"></textarea></label>
          <button type="submit">Close item</button>
        </form>
        ${
          item.reason === 'failed'
            ? html`<form method="post" action="${action('retry')}" class="decision" id="retry">
                <h3>Retry</h3>${csrfField(csrf)}<button type="submit">Process again</button></form>`
            : ''
        }
      </div>`
    }`;
}

function renderReports(
  rows: readonly InboxReport[],
  q: { outcome?: string | undefined; channel?: string | undefined },
): Html {
  return html`<h1>Reports</h1>
    <form method="get" action="/console/reports" class="filters">
      <label>Outcome <select name="outcome"><option value="">any</option>${reportOutcomes.map(
        (o) => html`<option value="${o}" ${q.outcome === o ? 'selected' : ''}>${o}</option>`,
      )}</select></label>
      <label>Channel <select name="channel"><option value="">any</option>${channels.map(
        (c) => html`<option value="${c}" ${q.channel === c ? 'selected' : ''}>${c}</option>`,
      )}</select></label>
      <button type="submit">Filter</button>
    </form>
    <table class="reports">
      <thead><tr><th>Report</th><th>Received</th><th>Channel</th><th>Format</th><th>Status</th><th>Events</th><th>Outcome</th><th>Cases</th></tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr>
          <td><a href="/console/reports/${r.id}">${r.id}</a></td><td>${utc(r.receivedAt)}</td><td>${r.channel}</td>
          <td>${r.reportFormat ?? ''}</td><td>${r.status}</td><td>${r.eventCount ?? ''}</td>
          <td>${r.outcomes.join(', ')}</td>
          <td>${r.cases.map((c) => html`<a href="/console/cases/${c}">${c}</a> `)}</td>
        </tr>`,
      )}</tbody>
    </table>`;
}

function renderReport(r: InboxReport, events: readonly StoredCaseEvent[]): Html {
  return html`<h1>Report ${r.id}</h1>
    <dl class="facts">
      <dt>Received</dt><dd>${utc(r.receivedAt)} by ${r.channel}</dd>
      <dt>Status</dt><dd>${r.status}${r.reportStatus ? ` (${r.reportStatus})` : ''}${r.lastError ? `: ${r.lastError}` : ''}</dd>
      <dt>Format</dt><dd>${r.reportFormat ?? ''}</dd>
      <dt>Outcome</dt><dd>${r.outcomes.join(', ')}</dd>
      <dt>Evidence</dt><dd><code>${r.evidenceSha256}</code></dd>
    </dl>
    <h2>Events</h2>
    ${renderEvents(events)}`;
}

function renderNewCase(csrf: string, q: Record<string, unknown>): Html {
  const v = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
  return html`<h1>Open a case by hand</h1>
    <p>Any clause of the version that binds the service's customer now, including clauses no event reaches. A
    clause the policy marks "subject to review" opens on hold: no notice until you release it.</p>
    <form method="post" action="/console/cases/new" class="decision" id="new-case">
      ${csrfField(csrf)}
      <label>Service <input name="service" required value="${v('service')}"></label>
      <label>Clause <input name="clause" required value="${v('clause')}"></label>
      <label>Reason <textarea name="reason" required></textarea></label>
      <label>Reports (ids) <input name="reports" value="${v('reports')}"></label>
      <button type="submit">Open case</button>
    </form>`;
}
