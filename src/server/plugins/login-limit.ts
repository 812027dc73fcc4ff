import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  claimLoginAttempt,
  defaultLoginLimit,
  forgetAccountAttempts,
} from '../../accounts/login-throttle.js';
import { AupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';

/**
 * The one password-guessing check every login route calls (`/api/v1/auth/login`, `/console/login`,
 * `/portal/login`) before it looks at the password: one attempt is counted in the store against the
 * account and against the client address (src/accounts/login-throttle.ts), and over either limit the
 * request is refused with 429 and Retry-After. Off when the app's rate limits are (tests, benchmarks).
 */
export async function enforceLoginLimit(
  deps: ResolvedAppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  email: string,
): Promise<void> {
  if (!deps.http.rateLimits) return;
  const verdict = await claimLoginAttempt(
    deps.store.db,
    { email, client: request.ip, now: deps.clock.now() },
    defaultLoginLimit,
  );
  if (verdict.allowed) return;
  reply.header('retry-after', String(verdict.retryAfterSeconds));
  request.log.warn({ limitedBy: verdict.limitedBy }, 'login attempts over the limit');
  throw new AupError(
    'AUP_ERR_HTTP_RATE_LIMITED',
    `too many login attempts for this ${verdict.limitedBy === 'account' ? 'account' : 'address'}; try again in ${verdict.retryAfterSeconds} s`,
    { details: { retryAfterSeconds: verdict.retryAfterSeconds } },
  );
}

/** Every login route calls this once the password was right: the account's count starts again. */
export async function loginSucceeded(deps: ResolvedAppDeps, email: string): Promise<void> {
  if (!deps.http.rateLimits) return;
  await forgetAccountAttempts(deps.store.db, email);
}
