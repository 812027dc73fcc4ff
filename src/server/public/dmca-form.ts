import type { FastifyInstance } from 'fastify';
import { checkCounterNotice, checkNotice } from '../../dmca/notice-check.js';
import { composeNoticeText, noticeFieldsSchema } from '../../dmca/notice-form.js';
import { type FormValues, type PublicFormOptions, registerRoutedForm } from './routed-form.js';
import { html, type SafeHtml } from './safe-html.js';

/**
 * The DMCA form at `/dmca`: the elements of 512(c)(3)(A) (or, for a counter-notice, 512(g)(3)) as fields,
 * plus free text. A post is written out as text, stored as evidence and worked by the inbox exactly like
 * mail to dmca@; the sender lands on the report status page and hears from the agent by mail. The form
 * tells the sender before sending which elements are still missing, and sends anyway: an incomplete notice
 * is answered with what is missing (and never reaches the customer).
 */

export interface DmcaFormOptions extends PublicFormOptions {
  /** The page around the form (the agent and the statute's list), or undefined without a DMCA agent. */
  readonly page: (form: SafeHtml) => Promise<string | undefined>;
}

export function dmcaFormHtml(token: string, values: FormValues, errors: readonly string[]): SafeHtml {
  const v = (k: string) => values[k] ?? '';
  const checked = (k: string) => (values[k] === 'on' ? html` checked` : '');
  const counter = values.kind === 'counter-notice';
  return html`<h2 id="send">Send a notice</h2>
${errors.length > 0 ? html`<div class="notice bad" role="alert"><p>The notice was not sent:</p><ul class="errors">${errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ''}
<form method="post" action="/dmca" class="form" id="dmca-form">
<input type="hidden" name="_token" value="${token}">
<fieldset><legend>This is</legend>
<label><input type="radio" name="kind" value="notice"${counter ? '' : html` checked`}> a notice of claimed infringement (17 U.S.C. § 512(c)(3))</label>
<label><input type="radio" name="kind" value="counter-notice"${counter ? html` checked` : ''}> a counter-notice (17 U.S.C. § 512(g)(3))</label>
</fieldset>
<label for="notice_ref">Counter-notice only: the notice reference (DMCA-…)</label>
<input type="text" id="notice_ref" name="notice_ref" maxlength="40" value="${v('notice_ref')}">
<label for="work">(ii) The copyrighted work</label>
<textarea id="work" name="work" maxlength="5000">${v('work')}</textarea>
<label for="material">(iii) The material and where it is: one URL per line</label>
<textarea id="material" name="material" maxlength="20000">${v('material')}</textarea>
<fieldset><legend>(iv) How to reach you</legend>
<label for="name">Name</label><input type="text" id="name" name="name" maxlength="300" autocomplete="name" value="${v('name')}">
<label for="organisation">Organisation</label><input type="text" id="organisation" name="organisation" maxlength="300" value="${v('organisation')}">
<label for="address">Postal address</label><input type="text" id="address" name="address" maxlength="1000" value="${v('address')}">
<label for="phone">Telephone</label><input type="tel" id="phone" name="phone" maxlength="60" value="${v('phone')}">
<label for="email">Email</label><input type="email" id="email" name="email" maxlength="320" value="${v('email')}">
</fieldset>
<label><input type="checkbox" name="good_faith"${checked('good_faith')}> (v) I have a good faith belief that use of the material in the manner complained of is not authorized by the copyright owner, its agent, or the law.</label>
<label><input type="checkbox" name="accuracy_authority"${checked('accuracy_authority')}> (vi) The information in this notification is accurate, and under penalty of perjury, I am authorized to act on behalf of the owner of an exclusive right that is allegedly infringed.</label>
<label><input type="checkbox" name="mistake_statement"${checked('mistake_statement')}> Counter-notice: under penalty of perjury, I have a good faith belief that the material was removed or disabled as a result of mistake or misidentification.</label>
<label><input type="checkbox" name="jurisdiction_consent"${checked('jurisdiction_consent')}> Counter-notice: I consent to the jurisdiction of the Federal District Court for the judicial district of my address, and will accept service of process from the person who provided the notification.</label>
<label for="text">Anything else (free text)</label>
<textarea id="text" name="text" maxlength="100000">${v('text')}</textarea>
<label for="signature">(i) Signature: type your full name (/s/ Name)</label>
<input type="text" id="signature" name="signature" maxlength="300" value="${v('signature')}">
<button type="submit">Send to the designated agent</button>
</form>`;
}

const FIELDS = [
  'kind',
  'notice_ref',
  'signature',
  'work',
  'material',
  'name',
  'organisation',
  'address',
  'phone',
  'email',
  'good_faith',
  'accuracy_authority',
  'mistake_statement',
  'jurisdiction_consent',
  'text',
] as const;

export function registerDmcaForm(app: FastifyInstance, options: DmcaFormOptions): void {
  registerRoutedForm(app, options, {
    path: '/dmca',
    fields: FIELDS,
    page: (token, values, errors) => options.page(dmcaFormHtml(token, values, errors)),
    check(values) {
      const parsed = noticeFieldsSchema.safeParse(values);
      if (!parsed.success) {
        return {
          ok: false,
          errors: parsed.error.issues.map((i) => `${String(i.path[0] ?? 'form')}: ${i.message}`),
        };
      }
      const f = parsed.data;
      if (!f.material && !f.text && !f.work) {
        return { ok: false, errors: ['name the work and the material (or write the notice as free text)'] };
      }
      // Written out once: the stored message and the check of what it lacks read the same text.
      return { ok: true, fields: { kind: f.kind, text: composeNoticeText(f, 'web form') } };
    },
    compose: (f) => ({
      bytes: new TextEncoder().encode(f.text),
      route: 'dmca',
      contentType: 'text/plain',
      fileName: f.kind === 'counter-notice' ? 'dmca-counter-notice.txt' : 'dmca-notice.txt',
    }),
    accepted(request, reply, { kind, text }, accepted) {
      const check = kind === 'counter-notice' ? checkCounterNotice(text) : checkNotice(text);
      request.log.info(
        { inbox: accepted.inboxId, kind, complete: check.complete, missing: check.missing },
        'DMCA submission accepted from the form',
      );
      if (!check.complete) {
        // Still sent: the agent answers it with what is missing. The sender sees it now as well.
        reply.header('x-dmca-missing', check.missing.join(','));
      }
    },
  });
}
