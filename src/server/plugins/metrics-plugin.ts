import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics at `/metrics`: the process defaults (`aupdesk_` prefixed), a request-duration
 * histogram labelled by route pattern (never the raw URL: ids would explode the label set), and domain
 * counters other modules register through `app.metrics` (SMTP messages accepted, inbox depth, …).
 *
 * Each app has its own registry so tests can build several apps in one process.
 */

export interface AppMetrics {
  readonly registry: Registry;
  /** Get or create a counter (same name twice returns the same counter). */
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: readonly number[],
  ): Histogram<L>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

export function createMetrics(registry = new Registry()): AppMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'aupdesk_' });
  const existing = (name: string) => registry.getSingleMetric(name);
  return {
    registry,
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      (existing(name) as Counter<L> | undefined) ??
      new Counter<L>({ name, help, labelNames: [...labelNames], registers: [registry] }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      (existing(name) as Gauge<L> | undefined) ??
      new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [registry] }),
    histogram: <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      buckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ) =>
      (existing(name) as Histogram<L> | undefined) ??
      new Histogram<L>({
        name,
        help,
        labelNames: [...labelNames],
        buckets: [...buckets],
        registers: [registry],
      }),
  };
}

export function registerMetrics(app: FastifyInstance, metrics: AppMetrics): void {
  app.decorate('metrics', metrics);
  const duration = metrics.histogram(
    'aupdesk_http_request_duration_seconds',
    'HTTP request duration by method, route pattern and status',
    ['method', 'route', 'status'],
  );
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
