import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AcceptedReport, AcceptReportInput } from '../../intake/inbox/inbox-accept.js';
import { checkFormToken, FORM_COOKIE, issueFormToken, readCookie, statusTag } from './form-token.js';

/**
 * A public form whose post is written out as a message and queued on an inbox route, exactly as mail to that
 * route's address would be (`/dmca` → dmca@, `/privacy` → privacy@): one GET showing the form with a fresh
 * CSRF token, one POST that checks the token, reads the fields, composes the message, stores it as evidence
 * and sends the sender to the report status page. What differs per form (its fields, its page, how the
 * fields are checked and written out) is the spec; the request handling is here once.
 */

/** What the public pages plugin gives every form. */
export interface PublicFormOptions {
  readonly secret: Buffer;
  readonly clock: { now(): Date };
  readonly acceptReport: (input: AcceptReportInput) => Promise<AcceptedReport>;
  readonly onAccepted?: (() => void) | undefined;
  readonly formRateLimit: { readonly max: number; readonly timeWindow: number };
  /** Route config of the page (the public pages' rate limit). */
  readonly pageConfig: { readonly config: Record<string, unknown> };
  readonly secure: (request: FastifyRequest) => boolean;
  readonly send: (reply: FastifyReply, status: number, page: string) => FastifyReply | Promise<FastifyReply>;
  readonly notFound: (reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;
}

export type FormValues = Record<string, string>;

/** The checked fields, or the reasons shown above the form (status 422). */
export type FormCheck<F> =
  | { readonly ok: true; readonly fields: F }
  | { readonly ok: false; readonly errors: string[] };

export interface RoutedFormSpec<F> {
  /** `/dmca`, `/privacy`: the page's path, the form's action and the token cookie's path. */
  readonly path: string;
  /** The posted names read into the values (anything else is ignored). */
  readonly fields: readonly string[];
  /** The page with the form, or undefined when the provider's policy makes no such promise (404). */
  page(token: string, values: FormValues, errors: readonly string[]): Promise<string | undefined>;
  check(values: FormValues): FormCheck<F>;
  /** The message as stored (the evidence) and where it is queued. */
  compose(fields: F, now: Date): Pick<AcceptReportInput, 'bytes' | 'route' | 'contentType' | 'fileName'>;
  /** After the message is stored, before the redirect (a log line, a header for the sender). */
  accepted?(request: FastifyRequest, reply: FastifyReply, fields: F, accepted: AcceptedReport): void;
}

export function registerRoutedForm<F>(
  app: FastifyInstance,
  options: PublicFormOptions,
  spec: RoutedFormSpec<F>,
): void {
  const show = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    values: FormValues,
    errors: string[],
  ) => {
    const issued = issueFormToken(
      options.secret,
      options.clock.now(),
      readCookie(request.headers.cookie, FORM_COOKIE),
    );
    const page = await spec.page(issued.token, values, errors);
    if (!page) return options.notFound(reply);
    reply.header(
      'set-cookie',
      `${FORM_COOKIE}=${issued.nonce}; Path=${spec.path}; HttpOnly; SameSite=Strict; Max-Age=7200${options.secure(request) ? '; Secure' : ''}`,
    );
    reply.header('cache-control', 'no-store');
    return options.send(reply, status, page);
  };

  app.get(spec.path, options.pageConfig, async (request, reply) => show(request, reply, 200, {}, []));

  app.post(spec.path, { config: { rateLimit: options.formRateLimit } }, async (request, reply) => {
    const body = request.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return show(request, reply, 415, {}, [
        'send the form as a browser does (application/x-www-form-urlencoded)',
      ]);
    }
    const raw = body as Record<string, unknown>;
    const values: FormValues = {};
    for (const k of spec.fields) if (typeof raw[k] === 'string') values[k] = raw[k] as string;
    const now = options.clock.now();
    const token = checkFormToken(
      options.secret,
      typeof raw._token === 'string' ? raw._token : undefined,
      readCookie(request.headers.cookie, FORM_COOKIE),
      now,
    );
    if (!token.ok) return show(request, reply, 403, values, [token.reason]);
    const checked = spec.check(values);
    if (!checked.ok) return show(request, reply, 422, values, checked.errors);
    const accepted = await options.acceptReport({
      ...spec.compose(checked.fields, now),
      channel: 'form',
      receivedAt: now,
    });
    options.onAccepted?.();
    spec.accepted?.(request, reply, checked.fields, accepted);
    return reply.redirect(
      `/report/status/${accepted.inboxId}-${statusTag(options.secret, accepted.inboxId)}`,
      303,
    );
  });
}
