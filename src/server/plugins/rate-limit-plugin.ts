import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { AupError } from '../../errors.js';

/**
 * Rate limits, opt-in per route (`config: { rateLimit: publicRateLimit }`): authenticated API traffic is
 * bounded by authentication, while the public endpoints (report form, AUP pages, report submission by
 * anonymous reporters) are bounded per client address. These counters are in process memory: with several
 * processes each allows this much; put a shared limiter (the proxy) in front when that matters. Password
 * login is limited in the store instead, per account and per client across every login route and process
 * (login-limit.ts).
 */

export interface RateLimitSettings {
  readonly max: number;
  readonly timeWindow: number;
}

/** Public pages and anonymous submissions: 60 per client address per minute. */
export const publicRateLimit: RateLimitSettings = { max: 60, timeWindow: 60_000 };

export async function registerRateLimit(app: FastifyInstance, options: { enabled: boolean }): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: false,
    // Tests and benchmarks turn limits off by giving an effectively infinite allowance.
    ...(options.enabled ? {} : { max: Number.MAX_SAFE_INTEGER, allowList: () => true }),
    errorResponseBuilder: (_request, context) =>
      new AupError(
        'AUP_ERR_HTTP_RATE_LIMITED',
        `too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`,
        {
          details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      ),
  });
}
