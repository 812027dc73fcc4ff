import type { ReportStatusView } from '../../cases/queries/report-status.js';
import { abuseKinds, type ComplaintForm, fieldLabels } from '../../intake/channels/web-form-complaint.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import { layout } from './public-layout.js';
import { html, type SafeHtml } from './safe-html.js';

/** The complaint form and the status page a reporter is sent to after posting it. */

export interface ReportFormInput {
  readonly policy: PolicyDocument | undefined;
  readonly token: string;
  readonly maxUploadBytes: number;
  /** Values to put back after a failed post (never the file). */
  readonly values: Partial<Record<keyof ComplaintForm, string>>;
  /** Field → message; `_form` for the form as a whole. */
  readonly errors: Record<string, string>;
}

export function renderReportForm(input: ReportFormInput): string {
  const { values, errors, policy } = input;
  const requireIdentity = policy ? policy.terms.complaints.anonymous === 'reject' : true;
  const required = (on: boolean): SafeHtml | string => (on ? html` required` : '');
  const err = (field: string): SafeHtml | string =>
    errors[field]
      ? html` <span class="hint" role="alert">(${fieldLabels[field] ?? field} ${errors[field]})</span>`
      : '';
  const summary = Object.entries(errors);
  const provider = policy?.provider.name ?? 'This provider';
  const abuseMail = policy?.provider.abuse_contact.email;
  return layout({
    title: 'Report abuse',
    providerName: policy?.provider.name,
    body: html`<h1>Report abuse</h1>
<p>Use this form to report spam, phishing, malware, attacks, copyright infringement or any other use of ${provider}'s network that breaks its <a href="/aup">acceptable use policy</a>.${abuseMail ? html` You can also write to <a href="mailto:${abuseMail}">${abuseMail}</a>.` : ''}</p>
<p>${
      requireIdentity
        ? html`<strong>${provider} does not act on anonymous complaints:</strong> your name and email are required.`
        : html`You may complain anonymously; without an email address we cannot tell you what happened.`
    }${policy?.terms.complaints.share_with_customer === 'shared' ? html` Complaints are passed on to the customer as received, including who sent them.` : ''}</p>
${
  summary.length > 0
    ? html`<div class="notice bad" role="alert"><p>The complaint was not sent:</p><ul class="errors">${summary.map(
        ([field, message]) =>
          field === '_form'
            ? html`<li>${message}</li>`
            : html`<li>${fieldLabels[field] ?? field} ${message}</li>`,
      )}</ul></div>`
    : ''
}
<form class="report" method="post" action="/report" enctype="multipart/form-data">
<input type="hidden" name="_token" value="${input.token}">
<fieldset><legend>About you</legend>
<label for="name">Your name${err('name')}</label>
<input type="text" id="name" name="name" maxlength="200" autocomplete="name" value="${values.name ?? ''}"${required(requireIdentity)}>
<label for="organisation">Organisation <span class="hint">(optional)</span>${err('organisation')}</label>
<input type="text" id="organisation" name="organisation" maxlength="200" autocomplete="organization" value="${values.organisation ?? ''}">
<label for="email">Email${err('email')}</label>
<input type="email" id="email" name="email" maxlength="254" autocomplete="email" value="${values.email ?? ''}"${required(requireIdentity)}>
</fieldset>
<fieldset><legend>The abuse</legend>
<label for="kind">Kind of abuse${err('kind')}</label>
<select id="kind" name="kind">${Object.entries(abuseKinds).map(
      ([value, label]) =>
        html`<option value="${value}"${values.kind === value ? html` selected` : ''}>${label}</option>`,
    )}</select>
<label for="target">Offending IP address, URL or domain${err('target')} <span class="hint">(one or more, as you saw them)</span></label>
<input type="text" id="target" name="target" maxlength="2000" value="${values.target ?? ''}" required>
<label for="when">When it happened <span class="hint">(UTC; optional)</span>${err('when')}</label>
<input type="datetime-local" id="when" name="when" value="${values.when ?? ''}">
<label for="description">What happened${err('description')} <span class="hint">(paste log lines or mail headers here if you have them)</span></label>
<textarea id="description" name="description" maxlength="20000" required>${values.description ?? ''}</textarea>
<label for="evidence">Evidence file <span class="hint">(optional: a log, a mail as .eml, a screenshot; at most ${formatSize(input.maxUploadBytes)})</span>${err('evidence')}</label>
<input type="file" id="evidence" name="evidence">
</fieldset>
<p><button type="submit">Send the complaint</button></p>
<p class="hint muted">What you send is stored exactly as received and kept as evidence.</p>
</form>`,
  });
}

export function renderReportStatus(status: ReportStatusView, providerName: string | undefined): string {
  const reportRef = `R-${status.inboxId}`;
  // A request about a child's personal data (the /privacy form) is a request, never a complaint or a case.
  const privacy = status.route === 'privacy';
  let body: SafeHtml;
  if (status.state === 'pending') {
    body = html`<div class="notice ok"><p>Your ${privacy ? 'request' : 'complaint'} was received and stored on ${status.receivedAt.toISOString()}. Your report reference is <strong>${reportRef}</strong>.</p>
<p>It is being processed; this page refreshes by itself and will show ${privacy ? 'the reference of your request' : 'the case reference'}.</p></div>`;
  } else if (status.recordedAs) {
    body = html`<div class="notice ok"><p>Your ${privacy ? "request to delete a child's personal information" : 'message'} ${reportRef} was received on ${status.receivedAt.toISOString()} and is recorded under <strong class="request-ref">${status.recordedAs.ref}</strong>.</p>
<p>${privacy ? 'We delete the information and confirm it to you by e-mail. ' : ''}Quote the reference if you write to us about it.</p></div>`;
  } else if (status.caseRefs.length > 0) {
    body = html`<div class="notice ok"><p>Your complaint ${reportRef} was received on ${status.receivedAt.toISOString()} and is handled under case ${status.caseRefs.map(
      (ref, i) => html`${i > 0 ? ', ' : ''}<strong class="case-ref">${ref}</strong>`,
    )}.</p>
<p>Quote the case reference if you write to us about it.</p></div>`;
  } else {
    body = html`<div class="notice"><p>Your complaint ${reportRef} was received on ${status.receivedAt.toISOString()}${status.state === 'failed' ? '' : ' and processed'}. No case was opened: ${status.note ?? 'see the policy'}.</p></div>`;
  }
  return layout({
    title: `Report ${reportRef}`,
    providerName,
    head: status.state === 'pending' ? html`<meta http-equiv="refresh" content="3">` : '',
    body: html`<h1>Report ${reportRef}</h1>
${body}
<p class="muted">Keep the address of this page to come back to the status of your report.</p>`,
  });
}

function formatSize(n: number): string {
  return n >= 1024 * 1024
    ? `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`
    : `${Math.round(n / 1024)} KiB`;
}
