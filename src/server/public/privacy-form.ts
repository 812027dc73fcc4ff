import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import { layout } from './public-layout.js';
import { type FormValues, type PublicFormOptions, registerRoutedForm } from './routed-form.js';
import { html, type SafeHtml } from './safe-html.js';

/**
 * The form at `/privacy` for a parent or guardian to ask that a child's personal data be deleted (INFINCE,
 * "Collection and Use of Children's Personal Information"). Shown only when the current policy carries the
 * `children-data-deletion` obligation. A post is written out as a message (From and Subject headers, so
 * the intake reads the requester as it reads mail) and queued on the `privacy` route, exactly like mail to
 * privacy@; the sender lands on the report status page and receives the confirmation by mail.
 */

export interface PrivacyFormOptions extends PublicFormOptions {
  readonly currentDocument: () => Promise<PolicyDocument | undefined>;
}

const fieldsSchema = z.object({
  name: z.string().trim().min(1, 'give your name').max(300),
  email: z
    .string()
    .trim()
    .regex(/^[^\s@<>"(),;:]+@[^\s@<>"(),;:]+\.[^\s@<>"(),;:]+$/, 'give an e-mail address we can answer'),
  details: z
    .string()
    .trim()
    .min(1, 'say whose information it is and where it is (account, service, address)')
    .max(20_000),
});

function formHtml(token: string, values: FormValues, errors: readonly string[]): SafeHtml {
  const v = (k: string) => values[k] ?? '';
  return html`<h2 id="send">Ask us to delete a child's information</h2>
${errors.length > 0 ? html`<div class="notice bad" role="alert"><p>The request was not sent:</p><ul class="errors">${errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ''}
<form method="post" action="/privacy" class="form" id="privacy-form">
<input type="hidden" name="_token" value="${token}">
<label for="name">Your name (parent or legal guardian)</label><input type="text" id="name" name="name" maxlength="300" autocomplete="name" value="${v('name')}">
<label for="email">Your email (we confirm the deletion there)</label><input type="email" id="email" name="email" maxlength="320" value="${v('email')}">
<label for="details">Whose information, and where it is (account name, service, email or address used)</label>
<textarea id="details" name="details" maxlength="20000">${v('details')}</textarea>
<button type="submit">Send the deletion request</button>
</form>`;
}

function page(doc: PolicyDocument, form: SafeHtml): string | undefined {
  const obligation = doc.obligations?.find((o) => o.kind === 'children-data-deletion');
  if (!obligation) return undefined;
  return layout({
    title: "Children's personal information",
    providerName: doc.provider.name,
    body: html`<h1>Children's personal information</h1><blockquote>${obligation.text}</blockquote>${form}`,
  });
}

/** Header-safe: no CR/LF or quotes reach the composed message's headers. */
const headerSafe = (s: string): string => s.replace(/[\r\n"\\]+/g, ' ').slice(0, 300);

export function registerPrivacyForm(app: FastifyInstance, options: PrivacyFormOptions): void {
  registerRoutedForm(app, options, {
    path: '/privacy',
    fields: ['name', 'email', 'details'],
    async page(token, values, errors) {
      const doc = await options.currentDocument();
      return doc ? page(doc, formHtml(token, values, errors)) : undefined;
    },
    check(values) {
      const parsed = fieldsSchema.safeParse(values);
      return parsed.success
        ? { ok: true, fields: parsed.data }
        : { ok: false, errors: parsed.error.issues.map((i) => i.message) };
    },
    compose: (f, now) => ({
      bytes: new TextEncoder().encode(
        [
          `From: "${headerSafe(f.name)}" <${f.email}>`,
          "Subject: Request to delete a child's personal information (web form)",
          `Date: ${now.toUTCString()}`,
          'Content-Type: text/plain; charset=utf-8',
          '',
          'I ask you to delete personal information of a child under eighteen (18) held on your systems.',
          '',
          f.details,
          '',
        ].join('\r\n'),
      ),
      route: 'privacy',
      contentType: 'message/rfc822',
      fileName: 'privacy-request.eml',
    }),
  });
}
