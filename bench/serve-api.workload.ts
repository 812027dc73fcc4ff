import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { createApiKey } from '../src/accounts/api-key-repository.js';
import { createCase } from '../src/cases/case-repository.js';
import { openCaseState } from '../src/cases/case-state.js';
import { loadConfig } from '../src/config.js';
import { EvidenceStore } from '../src/intake/evidence-store.js';
import { createCustomer, createService } from '../src/registry/registry-repository.js';
import { buildApp } from '../src/server/app.js';
import { openStore } from '../src/store/database.js';

/**
 * API case-list latency: `connections` concurrent HTTP connections (autocannon) on loopback ask
 * `GET /api/v1/cases?limit=50` with an analyst API key for `seconds`, against a store seeded with `cases`
 * cases over 100 customers. Every request authenticates (sha256 of the key, one indexed lookup), reads a
 * keyset page and serialises it through the response schema, so the figure is the whole route chain.
 * A second run does the same as a customer (the list narrowed to its own cases).
 *
 * The store is a PGlite data directory on disk (the embedded default), or PostgreSQL when DATABASE_URL is
 * set. Runnable alone: `node --import tsx bench/serve-api.workload.ts [cases] [connections] [seconds]`.
 */

export interface ApiWorkloadOptions {
  readonly cases?: number;
  readonly connections?: number;
  readonly seconds?: number;
}

export interface ApiRunFigures {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface ApiWorkloadResult {
  readonly bench: 'serve-api';
  readonly backend: 'pglite' | 'postgres';
  readonly cases: number;
  readonly connections: number;
  readonly seconds: number;
  readonly analyst: ApiRunFigures;
  readonly customer: ApiRunFigures;
}

export async function apiWorkload(options: ApiWorkloadOptions = {}): Promise<ApiWorkloadResult> {
  const cases = options.cases ?? 5_000;
  const connections = options.connections ?? 50;
  const seconds = options.seconds ?? 10;
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-bench-api-'));
  const url = process.env.DATABASE_URL;
  const store = await openStore(
    url
      ? { databaseUrl: url, schema: `bench_api_${process.pid}`, poolSize: 10 }
      : { pgliteDir: path.join(dir, 'pglite') },
  );
  try {
    const customerIds = await seed(store.db, cases);
    const now = new Date();
    const analystKey = (await createApiKey(store.db, { name: 'bench', role: 'analyst', now })).key;
    const customerKey = (
      await createApiKey(store.db, {
        name: 'bench customer',
        role: 'customer',
        customerId: customerIds[0]!,
        now,
      })
    ).key;
    const app = await buildApp({
      store,
      config: loadConfig({}, { dataDir: dir }),
      evidenceStore: new EvidenceStore(path.join(dir, 'evidence')),
      logger: false,
      http: { rateLimits: false, secureCookies: false },
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const target = `${address}/api/v1/cases?limit=50`;
      // Warm-up: connections, JIT, the pool and PGlite's caches.
      await run(target, analystKey, connections, 2);
      const analyst = await run(target, analystKey, connections, seconds);
      const customer = await run(target, customerKey, connections, seconds);
      return { bench: 'serve-api', backend: store.kind, cases, connections, seconds, analyst, customer };
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function run(url: string, key: string, connections: number, seconds: number): Promise<ApiRunFigures> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${key}` },
  });
  return {
    requests: result.requests.total,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** `cases` open cases spread over 100 customers with one service each; returns the customer ids. */
async function seed(db: Awaited<ReturnType<typeof openStore>>['db'], cases: number): Promise<number[]> {
  const customers: Array<{ id: number; ref: string; serviceId: number; serviceRef: string }> = [];
  for (let c = 0; c < 100; c += 1) {
    const customer = await createCustomer(db, { ref: `BENCH-C${c}`, name: `Bench customer ${c}` });
    const service = await createService(db, { ref: `BENCH-S${c}`, customerRef: customer.ref, kind: 'vps' });
    customers.push({ id: customer.id, ref: customer.ref, serviceId: service.id, serviceRef: service.ref });
  }
  const batch = 500;
  for (let start = 0; start < cases; start += batch) {
    await db.transaction().execute(async (trx) => {
      for (let i = start; i < Math.min(cases, start + batch); i += 1) {
        const owner = customers[i % customers.length]!;
        const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
        await createCase(trx, {
          providerId: 'bench',
          policyVersion: '1',
          customerId: owner.id,
          customerRef: owner.ref,
          serviceId: owner.serviceId,
          serviceRef: owner.serviceRef,
          clauseId: i % 3 === 0 ? 'spam' : 'scanning',
          severity: 'medium',
          openedAt: at,
          firstEventAt: at,
          windowEndsAt: new Date(at.getTime() + 86_400_000),
          repeatCount: 0,
          state: (caseId) =>
            openCaseState({
              caseId,
              customerId: owner.ref,
              serviceId: owner.serviceRef,
              openedAt: at,
              clauses: [
                { id: i % 3 === 0 ? 'spam' : 'scanning', severity: 'medium', endangersInfrastructure: false },
              ],
            }),
        });
      }
    });
  }
  // Planner statistics, as a running desk has them (PostgreSQL's autovacuum gathers them; PGlite has no
  // autovacuum, so the serve command's housekeeping must ANALYZE now and then). Without them the planner
  // bitmap-scans every case through the partial correlation index and sorts, instead of walking the key.
  await sql`analyze`.execute(db);
  return customers.map((c) => c.id);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [cases, connections, seconds] = process.argv.slice(2).map(Number);
  const result = await apiWorkload({
    ...(cases ? { cases } : {}),
    ...(connections ? { connections } : {}),
    ...(seconds ? { seconds } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
