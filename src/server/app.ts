import { randomUUID } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { systemClock } from '../enforcement/outbox/clock.js';
import type { Store } from '../store/database.js';
import { apiPlugin } from './api/api-plugin.js';
import type { AppDeps, ResolvedAppDeps } from './app-deps.js';
import { assetPlugin } from './assets/asset-plugin.js';
import { consolePlugin } from './console/console-plugin.js';
import { registerAuth } from './plugins/auth-plugin.js';
import { registerInputTextCheck } from './plugins/input-text-check.js';
import { createMetrics, registerMetrics } from './plugins/metrics-plugin.js';
import { problemOf, registerProblemDetails, sendProblem } from './plugins/problem-details.js';
import { registerRateLimit } from './plugins/rate-limit-plugin.js';
import { portalPlugin } from './portal/portal-plugin.js';

/**
 * The HTTP application: shared infrastructure at the root (problem details, auth, rate limiting, metrics,
 * OpenAPI), each feature as its own encapsulated plugin (the JSON API under `/api/v1`, and whatever
 * `features` the caller adds: public pages, console). `buildApp` does not listen; the serve command calls
 * `listen`, tests call `inject`.
 */

export const API_PREFIX = '/api/v1';

declare module 'fastify' {
  interface FastifyInstance {
    readonly registeredRoutes: ReadonlyArray<{ readonly method: string; readonly url: string }>;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const resolved: ResolvedAppDeps = {
    ...deps,
    clock: deps.clock ?? systemClock,
    metrics: deps.metrics ?? createMetrics(),
    http: {
      secureCookies: deps.http?.secureCookies ?? true,
      rateLimits: deps.http?.rateLimits ?? true,
      bodyLimit: deps.http?.bodyLimit ?? 1024 * 1024,
      maxUploadBytes: deps.http?.maxUploadBytes ?? 25 * 1024 * 1024,
      trustProxy: deps.http?.trustProxy ?? false,
      publicUrl: deps.http?.publicUrl,
    },
  };
  const common = {
    bodyLimit: resolved.http.bodyLimit,
    trustProxy: resolved.http.trustProxy,
    // Fastify would take the header as it comes (any length, any characters) and echo it; the id is chosen
    // in genReqId instead, which accepts a client's id only when it looks like one.
    requestIdHeader: false,
    // Ids from outside are accepted only when they look like ids (they end up in logs and headers).
    genReqId: (req: { headers: Record<string, unknown> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: true,
  } as const;
  const app: FastifyInstance =
    deps.logger === false
      ? Fastify({ ...common, logger: false })
      : deps.logger
        ? Fastify({ ...common, loggerInstance: deps.logger })
        : Fastify({ ...common, logger: { level: deps.config.logLevel } });

  // The route table as registered (method, URL pattern): the OpenAPI test checks every API route is documented.
  const routes: Array<{ method: string; url: string }> = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      routes.push({ method, url: route.url });
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemDetails(app);
  registerInputTextCheck(app);
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  await app.register(fastifyFormbody, { bodyLimit: resolved.http.bodyLimit });
  await registerAuth(app, {
    db: deps.store.db,
    clock: resolved.clock,
    secureCookies: resolved.http.secureCookies,
  });
  await registerRateLimit(app, { enabled: resolved.http.rateLimits });
  registerMetrics(app, resolved.metrics);
  registerHealth(app, deps.store);
  await registerOpenApi(app, resolved);

  await app.register(apiPlugin, { prefix: API_PREFIX, deps: resolved });
  await app.register(assetPlugin);
  await app.register(consolePlugin, { prefix: '/console', deps: resolved });
  await app.register(portalPlugin, { prefix: '/portal', deps: resolved });
  for (const feature of deps.features ?? []) {
    await app.register(async (child) => feature.register(child, resolved), {
      ...(feature.prefix ? { prefix: feature.prefix } : {}),
    });
  }
  return app;
}

function registerHealth(app: FastifyInstance, store: Store): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  typed.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await withTimeout(sql`select 1`.execute(store.db), 2000);
      return { status: 'ready', store: store.kind };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check: store unreachable');
      return sendProblem(reply, problemOf(request, 'AUP_ERR_STORE_UNAVAILABLE', 'the store does not answer'));
    }
  });
}

async function registerOpenApi(app: FastifyInstance, deps: ResolvedAppDeps): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'aupdesk API',
        version: '1',
        description:
          'The abuse desk JSON API: submit reports, work cases, keep the registry and publish policies. ' +
          'Errors are RFC 9457 problem details (application/problem+json). See docs/api.md.',
      },
      servers: deps.http.publicUrl ? [{ url: deps.http.publicUrl }] : [],
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (aupk_…) from `aupdesk apikey create`',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'aupdesk_session',
            description: 'Session cookie from POST /api/v1/auth/login; unsafe methods also need x-csrf-token',
          },
        },
      },
    },
    // The document describes the JSON API only: HTML pages and assets of other features stay out of it.
    transform: (args) =>
      args.url.startsWith(API_PREFIX)
        ? jsonSchemaTransform(args)
        : { schema: { ...args.schema, hide: true }, url: args.url },
    // The schemas routes name by `$ref` (`.meta({ id })`) go into `components.schemas`: without this the
    // document references `#/components/schemas/Case` and friends that it never defines.
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true });
  app.get('/api/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
