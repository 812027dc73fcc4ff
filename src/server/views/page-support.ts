import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError, z } from 'zod';
import type { Principal, Role } from '../../accounts/principal.js';
import { createSession, deleteSession } from '../../accounts/session-repository.js';
import { authenticateUser } from '../../accounts/user-repository.js';
import { AupError, isAupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { checkCsrf } from '../plugins/auth-plugin.js';
import { enforceLoginLimit, loginSucceeded } from '../plugins/login-limit.js';
import { html } from './html.js';
import { csrfField, errorPage, type Flash, type NavItem, page, sendPage } from './layout.js';

/**
 * What the console and the portal share around their pages: signing in with a form (people have no
 * header to put a CSRF token in, so forms carry it in `_csrf`), guarding pages by role, checking the form
 * token, one-shot flash messages, and HTML error pages in place of the API's problem details.
 *
 * A page route authenticates only by the session cookie: an API key is for machines and never opens a
 * page. A customer who follows a link into the console lands in the portal, and the other way round.
 */

export type Area = 'console' | 'portal';

export interface AreaSpec {
  readonly area: Area;
  /** `/console` or `/portal`. */
  readonly base: string;
  readonly roles: readonly Role[];
  readonly nav: (principal: Principal | null) => NavItem[];
}

const FLASH_COOKIE = 'aupdesk_flash';
const LOGIN_CSRF_COOKIE = 'aupdesk_login_csrf';

export type FormBody = Record<string, string | string[] | undefined>;

export function formOf(request: FastifyRequest): FormBody {
  const body = request.body;
  return body !== null && typeof body === 'object' ? (body as FormBody) : {};
}

/** One text field of a form (the first, when repeated), trimmed; '' when absent. */
export function field(body: FormBody, name: string): string {
  const v = body[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first.trim() : '';
}

/** Every value of a repeated field (checkboxes). */
export function fields(body: FormBody, name: string): string[] {
  const v = body[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function principalOfPage(request: FastifyRequest): Principal {
  if (!request.principal) throw new AupError('AUP_ERR_AUTH_REQUIRED', 'sign in first');
  return request.principal;
}

export function csrfOf(request: FastifyRequest): string {
  return request.session?.csrfToken ?? '';
}

/** Sets a message shown once on the next page of this browser. */
export function setFlash(reply: FastifyReply, flash: Flash, secure: boolean): void {
  const value = Buffer.from(JSON.stringify({ k: flash.kind, t: flash.text.slice(0, 500) })).toString(
    'base64url',
  );
  reply.setCookie(FLASH_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: 60 });
}

export function takeFlash(request: FastifyRequest, reply: FastifyReply): Flash | undefined {
  const raw = request.cookies[FLASH_COOKIE];
  if (raw === undefined) return undefined;
  reply.clearCookie(FLASH_COOKIE, { path: '/' });
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { k?: unknown; t?: unknown };
    if ((parsed.k === 'ok' || parsed.k === 'error') && typeof parsed.t === 'string') {
      return { kind: parsed.k, text: parsed.t };
    }
  } catch {
    // A mangled cookie is simply not shown.
  }
  return undefined;
}

/** After a form post: back to a page (303 so the browser GETs it) with a message. */
export function redirectWith(
  reply: FastifyReply,
  to: string,
  flash: Flash | undefined,
  secure: boolean,
): FastifyReply {
  if (flash) setFlash(reply, flash, secure);
  return reply.code(303).header('location', to).send();
}

/**
 * Guards every route of an area: a session (not an API key) of one of the area's roles. Anonymous GETs go
 * to the sign-in page; a person of the other area is sent to their own home.
 */
export function installGuard(app: FastifyInstance, spec: AreaSpec, publicPaths: readonly string[]): void {
  const identify = app.optionalAuth();
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (publicPaths.includes(path)) return;
    await identify.call(app, request, reply);
    const principal = request.principal;
    if (principal?.via !== 'session' || !request.session) {
      request.principal = null;
      if (request.method === 'GET' || request.method === 'HEAD') {
        return reply.code(303).header('location', `${spec.base}/login`).send();
      }
      throw new AupError('AUP_ERR_AUTH_REQUIRED', 'your session has ended: sign in again');
    }
    if (!spec.roles.includes(principal.role)) {
      if (request.method === 'GET' && principal.role === 'customer' && spec.area === 'console') {
        return reply.code(303).header('location', '/portal').send();
      }
      if (
        request.method === 'GET' &&
        spec.area === 'portal' &&
        (principal.role === 'admin' || principal.role === 'analyst')
      ) {
        return reply.code(303).header('location', '/console').send();
      }
      throw new AupError('AUP_ERR_AUTH_FORBIDDEN', `the ${principal.role} role has no access here`);
    }
  });
  // Every form post carries the session's CSRF token in `_csrf` (checked once the body is parsed).
  app.addHook('preHandler', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const path = request.url.split('?')[0] ?? '';
    if (publicPaths.includes(path)) return;
    const presented = field(formOf(request), '_csrf');
    if (!request.session) throw new AupError('AUP_ERR_AUTH_REQUIRED', 'sign in first');
    checkCsrfField(request, presented);
  });
}

function checkCsrfField(request: FastifyRequest, presented: string): void {
  try {
    checkCsrf(request, presented === '' ? undefined : presented);
  } catch (error) {
    if (isAupError(error, 'AUP_ERR_AUTH_CSRF')) {
      throw new AupError(
        'AUP_ERR_AUTH_CSRF',
        'the form is missing its security token or it is stale: reload the page',
      );
    }
    throw error;
  }
}

/** HTML error and not-found pages for the area (its own encapsulated handlers, not the API's JSON). */
export function installErrorPages(app: FastifyInstance, spec: AreaSpec): void {
  const render = (request: FastifyRequest, reply: FastifyReply, status: number, message: string) =>
    sendPage(
      reply,
      errorPage({
        area: spec.area,
        nav: spec.nav(request.principal),
        ...(request.principal
          ? { user: { name: request.principal.name, role: request.principal.role } }
          : {}),
        csrfToken: csrfOf(request),
        logoutAction: `${spec.base}/logout`,
        status,
        message,
      }),
      status,
    );
  app.setErrorHandler((error, request, reply) => {
    if (isAupError(error)) {
      if (error.status >= 500) {
        request.log.error({ err: error }, 'page failed');
        return render(request, reply, error.status, 'Something went wrong; it has been logged.');
      }
      return render(request, reply, error.status, error.message);
    }
    // A path or query parameter that failed its schema: the page does not exist in that shape.
    if (error instanceof ZodError) return render(request, reply, 404, 'There is no such page.');
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return render(
        request,
        reply,
        status,
        status === 429 ? 'Too many attempts: wait a few minutes.' : 'The request was refused.',
      );
    }
    request.log.error({ err: error }, 'page failed');
    return render(request, reply, 500, 'Something went wrong; it has been logged.');
  });
  app.setNotFoundHandler((request, reply) => render(request, reply, 404, 'There is no such page.'));
}

/** `GET/POST <base>/login` and `POST <base>/logout` for an area. */
export function registerLogin(app: FastifyInstance, spec: AreaSpec, deps: ResolvedAppDeps): void {
  const secure = deps.http.secureCookies;
  const db = deps.store.db;
  const loginPage = (token: string, message?: string, email = '') =>
    page({
      title: 'Sign in',
      area: spec.area,
      nav: [],
      body: html`<section class="login" aria-labelledby="login-title">
  <h1 id="login-title">Sign in</h1>
  ${message ? html`<p class="flash flash-error" role="alert">${message}</p>` : ''}
  <form method="post" action="${spec.base}/login">
    <input type="hidden" name="_csrf" value="${token}">
    <label for="email">E-mail</label>
    <input id="email" name="email" type="email" autocomplete="username" required value="${email}" autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
  <p class="help">${spec.area === 'console' ? 'For the abuse desk team.' : 'For customers: see the notices about your services and answer them.'}</p>
</section>`,
    });
  const newLoginToken = (reply: FastifyReply) => {
    const token = randomBytes(24).toString('base64url');
    reply.setCookie(LOGIN_CSRF_COOKIE, token, {
      path: spec.base,
      httpOnly: true,
      sameSite: 'strict',
      secure,
    });
    return token;
  };

  app.get(`/login`, async (_request, reply) => sendPage(reply, loginPage(newLoginToken(reply))));

  app.post(`/login`, async (request, reply) => {
    const body = formOf(request);
    // Login CSRF: the form's token must match the cookie set with the form (double submit).
    const cookieToken = request.cookies[LOGIN_CSRF_COOKIE] ?? '';
    const presented = field(body, '_csrf');
    if (!safeEqual(cookieToken, presented)) {
      return sendPage(reply, loginPage(newLoginToken(reply), 'The sign-in form expired: try again.'), 403);
    }
    const email = field(body, 'email');
    const password = typeof body.password === 'string' ? body.password : '';
    await enforceLoginLimit(deps, request, reply, email);
    const now = deps.clock.now();
    const user =
      email && password ? await authenticateUser(db, email, password, now).catch(() => undefined) : undefined;
    if (!user || !spec.roles.includes(user.role)) {
      return sendPage(reply, loginPage(newLoginToken(reply), 'Wrong e-mail or password.', email), 401);
    }
    await loginSucceeded(deps, email);
    const session = await createSession(db, {
      userId: user.id,
      now,
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
    });
    app.setSessionCookie(reply, session.token);
    reply.clearCookie(LOGIN_CSRF_COOKIE, { path: spec.base });
    request.log.info({ user: user.email, area: spec.area }, 'login');
    return reply.code(303).header('location', spec.base).send();
  });

  app.post(`/logout`, async (request, reply) => {
    if (request.session) await deleteSession(db, request.session.token);
    app.clearSessionCookie(reply);
    return reply.code(303).header('location', `${spec.base}/login`).send();
  });
}

function safeEqual(a: string, b: string): boolean {
  return a.length > 0 && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Standard page options for a signed-in person of an area. */
export function shell(
  request: FastifyRequest,
  reply: FastifyReply,
  spec: AreaSpec,
  current: string,
): {
  area: Area;
  nav: NavItem[];
  current: string;
  user: { name: string; role: string };
  csrfToken: string;
  logoutAction: string;
  flash: Flash | undefined;
} {
  const p = principalOfPage(request);
  return {
    area: spec.area,
    nav: spec.nav(p),
    current,
    user: { name: p.name, role: p.role },
    csrfToken: csrfOf(request),
    logoutAction: `${spec.base}/logout`,
    flash: takeFlash(request, reply),
  };
}

export { csrfField };

const caseRefParam = z.object({ ref: z.string().max(40) });

/** A case reference from the path; anything else is simply no such case (never a 500). */
export function caseRefOf(params: unknown): { ref: string } {
  const parsed = caseRefParam.safeParse(params);
  if (!parsed.success) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case');
  return parsed.data;
}
