import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../accounts/principal.js';
import { createSession, deleteSession } from '../../accounts/session-repository.js';
import { authenticateUser, principalOfUser } from '../../accounts/user-repository.js';
import { AupError } from '../../errors.js';
import { enforceLoginLimit, loginSucceeded } from '../plugins/login-limit.js';
import { type ApiPluginOptions, errorResponses, problemSchema, secured, typed } from './api-support.js';

/**
 * Sessions for people: log in with e-mail and password (JSON or a form post), learn who you are and your
 * CSRF token, log out. Login is rate limited per client address and answers the same for a wrong password
 * and an unknown e-mail.
 */

const principalSchema = z
  .object({
    kind: z.enum(['user', 'apikey']),
    id: z.number().int(),
    name: z.string(),
    role: z.enum(['admin', 'analyst', 'customer', 'reporter']),
    customerId: z.number().int().nullable(),
  })
  .meta({ id: 'Principal' });

const sessionSchema = z
  .object({ principal: principalSchema, csrfToken: z.string().nullable() })
  .meta({ id: 'Session' });

export function presentPrincipal(p: Principal): z.infer<typeof principalSchema> {
  return { kind: p.kind, id: p.id, name: p.name, role: p.role, customerId: p.customerId };
}

export const authRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;

  typed(app).post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with e-mail and password; sets the session cookie',
        body: z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024) }),
        response: { 200: sessionSchema, 400: problemSchema, 401: problemSchema, 429: problemSchema },
      },
    },
    async (request, reply) => {
      await enforceLoginLimit(deps, request, reply, request.body.email);
      const now = deps.clock.now();
      const user = await authenticateUser(db, request.body.email, request.body.password, now);
      if (!user) throw new AupError('AUP_ERR_AUTH_LOGIN_FAILED', 'wrong e-mail or password');
      await loginSucceeded(deps, request.body.email);
      const session = await createSession(db, {
        userId: user.id,
        now,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      app.setSessionCookie(reply, session.token);
      request.log.info({ user: user.email }, 'login');
      return { principal: presentPrincipal(principalOfUser(user)), csrfToken: session.csrfToken };
    },
  );

  typed(app).get(
    '/auth/session',
    {
      onRequest: app.requireAuth(),
      schema: {
        tags: ['auth'],
        summary: 'Who is signed in, and the CSRF token for cookie sessions',
        security: secured,
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (request) => ({
      principal: presentPrincipal(request.principal!),
      csrfToken: request.session?.csrfToken ?? null,
    }),
  );

  typed(app).post(
    '/auth/logout',
    {
      onRequest: app.requireAuth(),
      schema: {
        tags: ['auth'],
        summary: 'End the cookie session (needs x-csrf-token)',
        security: secured,
        response: { 204: z.null().describe('logged out'), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (request.session) await deleteSession(db, request.session.token);
      app.clearSessionCookie(reply);
      return reply.code(204).send(null);
    },
  );
};
