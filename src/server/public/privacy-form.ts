import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AcceptedReport, AcceptReportInput } from '../../intake/inbox/inbox-accept.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import { checkFormToken, FORM_COOKIE, issueFormToken, readCookie, statusTag } from './form-token.js';
import { layout } from './public-layout.js';
import { html, type SafeHtml } from './safe-html.js';

/**
 * The form at `/privacy` for a parent or guardian to ask that a child's personal data be deleted (INFINCE,
 * "Collection and Use of Children's Personal Information"). Shown only when the current policy carries the
 * `children-data-deletion` obligation. A post is written out as a message (From and Subject headers, so
 * the intake reads the requester as it reads mail) and queued on the `privacy` route, exactly like mail to
 * privacy@; the sender lands on the report status page and receives the confirmation by mail.
 */

export interface PrivacyFormOptions {
  readonly secret: Buffer;
  readonly clock: { now(): Date };
  readonly acceptReport: (input: AcceptReportInput) => Promise<AcceptedReport>;
  readonly onAccepted?: (() => void) | undefined;
  readonly formRateLimit: { readonly max: number; readonly timeWindow: number };
  readonly pageConfig: { readonly config: Record<string, unknown> };
  readonly secure: (request: FastifyRequest) => boolean;
  readonly currentDocument: () => Promise<PolicyDocument | undefined>;
  readonly send: (reply: FastifyReply, status: number, page: string) => FastifyReply | Promise<FastifyReply>;
  readonly notFound: (reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;
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

type Values = Record<string, string>;

function formHtml(token: string, values: Values, errors: readonly string[]): SafeHtml {
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
  const show = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    values: Values,
    errors: string[],
  ) => {
    const doc = await options.currentDocument();
    const issued = issueFormToken(
      options.secret,
      options.clock.now(),
      readCookie(request.headers.cookie, FORM_COOKIE),
    );
    const rendered = doc ? page(doc, formHtml(issued.token, values, errors)) : undefined;
    if (!rendered) return options.notFound(reply);
    reply.header(
      'set-cookie',
      `${FORM_COOKIE}=${issued.nonce}; Path=/privacy; HttpOnly; SameSite=Strict; Max-Age=7200${options.secure(request) ? '; Secure' : ''}`,
    );
    reply.header('cache-control', 'no-store');
    return options.send(reply, status, rendered);
  };

  app.get('/privacy', options.pageConfig, async (request, reply) => show(request, reply, 200, {}, []));

  app.post('/privacy', { config: { rateLimit: options.formRateLimit } }, async (request, reply) => {
    const body = request.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return show(request, reply, 415, {}, [
        'send the form as a browser does (application/x-www-form-urlencoded)',
      ]);
    }
    const raw = body as Record<string, unknown>;
    const values: Values = {};
    for (const k of ['name', 'email', 'details'])
      if (typeof raw[k] === 'string') values[k] = raw[k] as string;
    const now = options.clock.now();
    const token = checkFormToken(
      options.secret,
      typeof raw._token === 'string' ? raw._token : undefined,
      readCookie(request.headers.cookie, FORM_COOKIE),
      now,
    );
    if (!token.ok) return show(request, reply, 403, values, [token.reason]);
    const parsed = fieldsSchema.safeParse(values);
    if (!parsed.success)
      return show(
        request,
        reply,
        422,
        values,
        parsed.error.issues.map((i) => i.message),
      );
    const f = parsed.data;
    const message = [
      `From: "${headerSafe(f.name)}" <${f.email}>`,
      "Subject: Request to delete a child's personal information (web form)",
      `Date: ${now.toUTCString()}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'I ask you to delete personal information of a child under eighteen (18) held on your systems.',
      '',
      f.details,
      '',
    ].join('\r\n');
    const accepted = await options.acceptReport({
      bytes: new TextEncoder().encode(message),
      channel: 'form',
      route: 'privacy',
      receivedAt: now,
      contentType: 'message/rfc822',
      fileName: 'privacy-request.eml',
    });
    options.onAccepted?.();
    return reply.redirect(
      `/report/status/${accepted.inboxId}-${statusTag(options.secret, accepted.inboxId)}`,
      303,
    );
  });
}
