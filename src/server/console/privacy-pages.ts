import type { FastifyInstance } from 'fastify';
import { auditActorOf } from '../../accounts/principal.js';
import { breachRecordSchema } from '../../compliance/privacy-request.js';
import {
  completePrivacyRequest,
  isOverdue,
  listPrivacyRequests,
  type PrivacyRequestRecord,
  recordBreach,
} from '../../compliance/privacy-request-repository.js';
import { isAupError } from '../../errors.js';
import { parseIncidentTime } from '../../intake/channels/web-form-complaint.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { statusBadge, time } from '../views/format.js';
import { type Html, html, pathOf } from '../views/html.js';
import { csrfField, page, sendPage } from '../views/layout.js';
import { type AreaSpec, field, formOf, principalOfPage, redirectWith, shell } from '../views/page-support.js';
import { complianceNav } from './compliance-pages.js';

/**
 * The console's privacy page (compliance/privacy-request-repository.ts): requests to delete a minor's
 * personal data with their deadline (overdue ones marked) and breach notifications with the dates the
 * affected parties and the regulator were told; an analyst completes a request here (the requester is
 * mailed the confirmation) and records a breach the provider learnt of. Times are entered in UTC (a
 * `datetime-local` field carries no zone; the server's own zone must not decide). Requesters' text is shown
 * as text, never as markup.
 */

const BASE = '/console/compliance/privacy';

export function registerPrivacyPages(app: FastifyInstance, spec: AreaSpec, deps: ResolvedAppDeps): void {
  const db = deps.store.db;
  const secure = deps.http.secureCookies;

  app.get('/compliance/privacy', async (request, reply) => {
    const s = shell(request, reply, spec, 'compliance');
    const rows = await listPrivacyRequests(db, { limit: 200 });
    const now = deps.clock.now();
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Privacy requests',
        body: html`${complianceNav('privacy')}<h1>Privacy requests and breach notifications</h1>${privacyList(rows, now, s.csrfToken)}${breachForm(s.csrfToken)}`,
      }),
    );
  });

  app.post('/compliance/privacy/breach', async (request, reply) => {
    const form = formOf(request);
    const at = (name: string) => {
      const v = field(form, name);
      return v ? (parseIncidentTime(v) ?? v) : undefined;
    };
    const parsed = breachRecordSchema.safeParse({
      summary: field(form, 'summary'),
      discoveredAt: at('discovered'),
      ...(at('affected') ? { affectedNotifiedAt: at('affected') } : {}),
      ...(at('regulator') ? { regulatorNotifiedAt: at('regulator') } : {}),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const text = `The breach was not recorded: ${issue?.path.join('.') || 'form'} ${issue?.message ?? 'invalid'}`;
      return redirectWith(reply, BASE, { kind: 'error', text }, secure);
    }
    const record = await db.transaction().execute((trx) =>
      recordBreach(trx, {
        breach: parsed.data,
        channel: 'console',
        actor: auditActorOf(principalOfPage(request)),
      }),
    );
    const text = `${record.ref} recorded${record.status === 'completed' ? ': the affected parties and the regulator were told' : ''}.`;
    return redirectWith(reply, BASE, { kind: 'ok', text }, secure);
  });

  app.post('/compliance/privacy/:ref/complete', async (request, reply) => {
    const ref = String((request.params as { ref?: unknown }).ref ?? '').slice(0, 40);
    const form = formOf(request);
    const at = (name: string): Date | undefined => {
      const v = parseIncidentTime(field(form, name));
      return v === undefined ? undefined : new Date(v);
    };
    try {
      const { record, confirmationQueued } = await db.transaction().execute((trx) =>
        completePrivacyRequest(trx, {
          ref,
          at: deps.clock.now(),
          note: field(form, 'note')?.slice(0, 5000),
          affectedNotifiedAt: at('affected'),
          regulatorNotifiedAt: at('regulator'),
          actor: auditActorOf(principalOfPage(request)),
        }),
      );
      const text = `${record.ref} completed${confirmationQueued ? '; the requester is mailed a confirmation' : ''}.`;
      return redirectWith(reply, BASE, { kind: 'ok', text }, secure);
    } catch (error) {
      if (!isAupError(error)) throw error;
      return redirectWith(reply, BASE, { kind: 'error', text: error.message }, secure);
    }
  });
}

function privacyList(rows: readonly PrivacyRequestRecord[], now: Date, csrf: string): Html {
  if (rows.length === 0) return html`<p class="muted">No privacy requests or breach records yet.</p>`;
  return html`<div class="table-wrap"><table class="responsive" id="privacy-list"><thead><tr><th scope="col">Reference</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Requester</th><th scope="col">Summary</th><th scope="col">Received</th><th scope="col">Due</th><th scope="col">Told (affected / regulator)</th><th scope="col">Complete</th></tr></thead><tbody>
${rows.map(
  (r) =>
    html`<tr id="${r.ref}"><td data-label="Reference">${r.ref}</td><td data-label="Kind">${r.kind}</td><td data-label="Status">${statusBadge(isOverdue(r, now) ? 'overdue' : r.status)}</td><td data-label="Requester">${r.requester.name ?? '—'} ${r.requester.email ? `<${r.requester.email}>` : ''}</td><td data-label="Summary">${r.summary.slice(0, 300)}</td><td data-label="Received">${time(r.receivedAt)}</td><td data-label="Due">${r.dueAt ? time(r.dueAt) : '—'}</td><td data-label="Told">${r.affectedNotifiedAt ? time(r.affectedNotifiedAt) : '—'} / ${r.regulatorNotifiedAt ? time(r.regulatorNotifiedAt) : '—'}</td><td data-label="Complete">${r.status === 'open' ? completeForm(r, csrf) : r.completedAt ? time(r.completedAt) : ''}</td></tr>`,
)}
</tbody></table></div>`;
}

function completeForm(r: PrivacyRequestRecord, csrf: string): Html {
  const breach =
    r.kind === 'breach'
      ? html`<label>Affected told (UTC) <input type="datetime-local" name="affected"></label><label>Regulator told (UTC) <input type="datetime-local" name="regulator"></label>`
      : html`<label>What was deleted <input type="text" name="note" maxlength="5000"></label>`;
  return html`<form method="post" action="${pathOf('console', 'compliance', 'privacy', r.ref, 'complete')}">${csrfField(csrf)}${breach}<button type="submit">Complete</button></form>`;
}

function breachForm(csrf: string): Html {
  return html`<section class="panel" aria-labelledby="record-breach-h"><h2 id="record-breach-h">Record a data breach</h2>
<form method="post" action="/console/compliance/privacy/breach" id="record-breach">${csrfField(csrf)}
<label>What happened <textarea name="summary" required maxlength="5000"></textarea></label>
<label>Discovered (UTC) <input type="datetime-local" name="discovered" required></label>
<label>Affected told (UTC) <input type="datetime-local" name="affected"></label>
<label>Regulator told (UTC) <input type="datetime-local" name="regulator"></label>
<button type="submit">Record the breach</button>
</form>
<p class="muted">It stays open until both the affected parties and the regulator were told. Also <code>POST /api/v1/privacy-requests</code> with <code>kind: breach</code>.</p>
</section>`;
}
