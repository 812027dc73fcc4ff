import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createApiKey } from '../../../src/accounts/api-key-repository.js';
import type { Role } from '../../../src/accounts/principal.js';
import { createUser } from '../../../src/accounts/user-repository.js';
import { loadConfig } from '../../../src/config.js';
import { ManualClock } from '../../../src/enforcement/outbox/clock.js';
import { EvidenceStore } from '../../../src/intake/evidence-store.js';
import { buildApp } from '../../../src/server/app.js';
import type { Store } from '../../../src/store/database.js';

/**
 * An API app over a test store: temporary evidence directory, a manual clock, rate limits as in
 * production unless turned off, no logging. `key(role)` makes an API key, `login(role)` a user session.
 */
export interface ApiHarness {
  readonly app: FastifyInstance;
  readonly clock: ManualClock;
  readonly evidence: EvidenceStore;
  key(role: Role, customerId?: number): Promise<string>;
  login(role: Role, customerId?: number): Promise<{ cookie: string; csrf: string; email: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function apiHarness(store: Store, options: { rateLimits?: boolean } = {}): Promise<ApiHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-api-'));
  const clock = new ManualClock('2026-06-01T12:00:00Z');
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const app = await buildApp({
    store,
    config: loadConfig({}, { dataDir: dir }),
    evidenceStore: evidence,
    clock,
    logger: false,
    http: { secureCookies: true, rateLimits: options.rateLimits ?? false },
  });
  await app.ready();
  return {
    app,
    clock,
    evidence,
    key: async (role, customerId) =>
      (
        await createApiKey(store.db, {
          name: `test ${role}`,
          role,
          customerId: customerId ?? null,
          now: clock.now(),
        })
      ).key,
    login: async (role, customerId) => {
      counter += 1;
      const email = `${role}${counter}-${Date.now()}@example.net`;
      const password = 'correct horse battery staple';
      await createUser(store.db, { email, role, customerId: customerId ?? null, password, now: clock.now() });
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
      });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      return { cookie: sessionCookie(res), csrf: res.json<{ csrfToken: string }>().csrfToken, email };
    },
    close: async () => {
      await app.close();
      // Retries: an evidence store may still be copying blobs out of its journal into this directory.
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

export function sessionCookie(res: LightMyRequestResponse): string {
  const cookie = res.cookies.find((c) => c.name === 'aupdesk_session');
  if (!cookie) throw new Error('no session cookie set');
  return `aupdesk_session=${cookie.value}`;
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
