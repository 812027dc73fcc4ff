import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import { principalForApiKey } from '../../accounts/api-key-repository.js';
import type { Principal, Role } from '../../accounts/principal.js';
import { findSession, SESSION_IDLE_MS } from '../../accounts/session-repository.js';
import type { Clock } from '../../enforcement/outbox/clock.js';
import { AupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';

/**
 * Authentication for every plugin: `Authorization: Bearer aupk_…` (API keys, for machines) or the
 * `aupdesk_session` cookie (people, after `POST /api/v1/auth/login`). Routes opt in with
 * `onRequest: app.requireAuth([...roles])`; the hook runs before the body is read, so an anonymous client
 * cannot make the server parse a large body.
 *
 * CSRF: a state-changing request (anything but GET/HEAD/OPTIONS) authenticated by the cookie must carry
 * the session's token in `x-csrf-token` (synchroniser token; the token comes with the login answer and from
 * `GET /api/v1/auth/session`). API-key requests are exempt: a browser never attaches a bearer header on its
 * own. The cookie is HttpOnly, SameSite=Lax and Secure (unless `secureCookies: false` for plain-http
 * development).
 *
 * Role checks here are coarse (may this role call this route at all?); whether a customer may see one
 * particular case is decided in the route after loading it (`assertOwnCustomer`).
 */

export const SESSION_COOKIE = 'aupdesk_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthOptions {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly secureCookies: boolean;
  /** How long a verified API key is trusted without a lookup (default 10 s; 0 disables the cache). */
  readonly apiKeyCacheMs?: number;
}

export interface RequestSession {
  readonly token: string;
  readonly csrfToken: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAuth` (or `optionalAuth`); null for anonymous requests. */
    principal: Principal | null;
    /** The cookie session behind `principal`, when it came from one. */
    session: RequestSession | null;
  }
  interface FastifyInstance {
    /** onRequest hook: authenticate, check CSRF for cookie sessions, and (when given) the role. */
    requireAuth(roles?: readonly Role[]): onRequestAsyncHookHandler;
    /** onRequest hook: authenticate when credentials are present, never refuse (public pages). */
    optionalAuth(): onRequestAsyncHookHandler;
    /** Session cookie helpers for the login/logout routes. */
    setSessionCookie(reply: FastifyReply, token: string): void;
    clearSessionCookie(reply: FastifyReply): void;
  }
}

export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);

  /**
   * Recently verified API keys, so a busy client costs one key lookup per `apiKeyCacheMs` rather than one per
   * request (on the embedded store every query waits for the one connection). The price: a key revoked in
   * another process keeps working here for at most that long. Only successes are cached.
   */
  const keyCache = new Map<string, { principal: Principal; until: number }>();
  const keyCacheMs = options.apiKeyCacheMs ?? 10_000;
  const lookupKey = async (presented: string): Promise<Principal | undefined> => {
    const hit = keyCache.get(presented);
    if (hit && hit.until > Date.now()) return hit.principal;
    const principal = await principalForApiKey(options.db, presented, options.clock.now());
    if (principal && keyCacheMs > 0) {
      if (keyCache.size >= 10_000) keyCache.clear();
      keyCache.set(presented, { principal, until: Date.now() + keyCacheMs });
    } else keyCache.delete(presented);
    return principal;
  };

  const identify = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const principal = match ? await lookupKey(match[1]!) : undefined;
      // A wrong key is refused even when a valid cookie is present: the client meant the key.
      if (!principal)
        throw new AupError('AUP_ERR_AUTH_REQUIRED', 'the API key is unknown, revoked or malformed');
      request.principal = principal;
      return;
    }
    const token = request.cookies[SESSION_COOKIE];
    if (token === undefined) return;
    const session = await findSession(options.db, token, options.clock.now());
    if (!session) return;
    request.principal = session.principal;
    request.session = { token, csrfToken: session.csrfToken };
  };

  app.decorate('requireAuth', (roles?: readonly Role[]): onRequestAsyncHookHandler => {
    return async (request) => {
      await identify(request);
      const principal = request.principal;
      if (!principal) {
        throw new AupError(
          'AUP_ERR_AUTH_REQUIRED',
          'sign in (POST /api/v1/auth/login) or send Authorization: Bearer <api key>',
        );
      }
      if (principal.via === 'session' && !SAFE_METHODS.has(request.method)) {
        checkCsrf(request, headerValue(request.headers[CSRF_HEADER]));
      }
      if (roles && !roles.includes(principal.role)) {
        throw new AupError('AUP_ERR_AUTH_FORBIDDEN', `the ${principal.role} role may not do this`, {
          details: { role: principal.role, allowed: roles },
        });
      }
    };
  });

  app.decorate('optionalAuth', (): onRequestAsyncHookHandler => {
    return async (request) => {
      try {
        await identify(request);
      } catch {
        request.principal = null;
      }
    };
  });

  app.decorate('setSessionCookie', (reply: FastifyReply, token: string) => {
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      maxAge: Math.floor(SESSION_IDLE_MS / 1000),
    });
  });
  app.decorate('clearSessionCookie', (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
    });
  });
}

/**
 * Throws AUP_ERR_AUTH_CSRF unless `presented` is the request's session CSRF token. Exported for HTML forms
 * (the token travels in a hidden `_csrf` field there, read after the body is parsed).
 */
export function checkCsrf(request: FastifyRequest, presented: string | undefined): void {
  const expected = request.session?.csrfToken;
  if (expected === undefined) return;
  const ok =
    presented !== undefined &&
    presented.length === expected.length &&
    timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
  if (!ok) {
    throw new AupError(
      'AUP_ERR_AUTH_CSRF',
      `a request signed in by cookie must send the session's CSRF token in the ${CSRF_HEADER} header`,
    );
  }
}

/** The authenticated principal of a route behind `requireAuth`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AupError('AUP_ERR_AUTH_REQUIRED', 'authentication required');
  return request.principal;
}

/**
 * A customer principal may only see its own customer's records. Anything else answers 404, as if the record
 * did not exist, so ids of other customers cannot be probed.
 */
export function assertOwnCustomer(principal: Principal, customerId: number, what: string): void {
  if (principal.role === 'customer' && principal.customerId !== customerId) {
    throw new AupError('AUP_ERR_NOT_FOUND', `${what} does not exist`);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
