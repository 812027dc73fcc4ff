import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { createUser } from '../../../src/accounts/user-repository.js';
import { loadConfig } from '../../../src/config.js';
import { ManualClock } from '../../../src/enforcement/outbox/clock.js';
import { processReport } from '../../../src/enforcement/pipeline/process-report.js';
import { EvidenceStore } from '../../../src/intake/evidence-store.js';
import { parseReport } from '../../../src/intake/parse-report.js';
import { parsePolicySource } from '../../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../../src/policy/policy-repository.js';
import type { PolicyDocument } from '../../../src/policy/policy-schema.js';
import { buildApp } from '../../../src/server/app.js';
import type { Store } from '../../../src/store/database.js';
import { makePolicy } from '../../factories.js';
import { historyOf, pipelineDeps, resetDesk, seedRegistry } from '../../support/case-support.js';

/**
 * A small desk for the console and portal tests: the example policy (its notice step waits for an analyst,
 * reporter identity redacted for customers) published in the store, two customers with a VPS each, four
 * users, and real complaints parsed from mail (one hostile) run through the report pipeline.
 */

export const PASSWORD = 'correct horse battery staple';
export const HOSTILE_EML = readFileSync(
  new URL('../../fixtures/hostile/hostile-complaint.eml', import.meta.url),
);

export function consolePolicy(): PolicyDocument {
  const base = makePolicy();
  return makePolicy({
    terms: {
      ...base.terms,
      enforcement: {
        ...base.terms.enforcement,
        remedies: ['notify', 'suspend', 'block-traffic', 'terminate'],
        ladder: [
          { id: 'notice', action: 'notify', wait: 'cure_period', approval: 'analyst' },
          { id: 'suspend', action: 'suspend', wait: 'P7D' },
          { id: 'terminate', action: 'terminate', approval: 'analyst' },
        ],
      },
    },
  } as Parameters<typeof makePolicy>[0]);
}

export interface Desk {
  readonly app: FastifyInstance;
  readonly clock: ManualClock;
  readonly evidence: EvidenceStore;
  /** Refs of the cases opened: the hostile complaint's (cust-a) and a plain one against cust-b. */
  readonly hostileCase: string;
  readonly otherCase: string;
  close(): Promise<void>;
}

export function mailOf(o: { from: string; subject: string; ip: string; messageId: string }): Uint8Array {
  return new TextEncoder().encode(
    [
      `From: Reporter <${o.from}>`,
      'To: abuse@desk.example.net',
      `Subject: ${o.subject}`,
      'Date: Sun, 01 Mar 2026 11:00:00 +0000',
      `Message-ID: <${o.messageId}>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `We received unsolicited bulk email (spam) from ${o.ip} on 2026-03-01 10:00 UTC. Please stop the spam.`,
      '',
    ].join('\r\n'),
  );
}

export async function openDesk(store: Store): Promise<Desk> {
  await resetDesk(store);
  await store.db.deleteFrom('sessions').execute();
  await store.db.deleteFrom('users').execute();
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-console-'));
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const policy = consolePolicy();
  await publishPolicyVersion(store.db, parsePolicySource(stringify(policy), 'console-test.yaml'));
  const snapshot = await seedRegistry(store, {
    customers: [
      { ref: 'cust-a', name: 'Alpha Hosting Ltd', emails: ['ops@a.example'] },
      { ref: 'cust-b', name: 'Beta Networks', emails: ['ops@b.example'] },
    ],
    services: [
      { ref: 'vps-a', customer: 'cust-a' },
      { ref: 'vps-b', customer: 'cust-b' },
    ],
    assignments: [
      { service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' },
      { service: 'vps-b', resource: '203.0.113.0/24', from: '2025-01-01T00:00:00Z' },
    ],
  });
  const ids = await store.db.selectFrom('customers').select(['id', 'ref']).execute();
  const idOf = (ref: string) => ids.find((c) => c.ref === ref)!.id;
  const now = clock.now();
  await createUser(store.db, { email: 'admin@desk.example.net', role: 'admin', password: PASSWORD, now });
  await createUser(store.db, { email: 'analyst@desk.example.net', role: 'analyst', password: PASSWORD, now });
  await createUser(store.db, {
    email: 'ops@a.example',
    role: 'customer',
    customerId: idOf('cust-a'),
    password: PASSWORD,
    now,
  });
  await createUser(store.db, {
    email: 'ops@b.example',
    role: 'customer',
    customerId: idOf('cust-b'),
    password: PASSWORD,
    now,
  });

  const pipeline = pipelineDeps(store, snapshot, historyOf(policy), clock);
  const ingest = async (bytes: Uint8Array) => {
    const stored = await evidence.put(bytes);
    const parsed = await parseReport({
      bytes,
      channel: 'smtp',
      receivedAt: clock.now(),
      evidenceSha256: stored.sha256,
    });
    return processReport(pipeline, parsed);
  };
  const hostile = await ingest(HOSTILE_EML);
  const other = await ingest(
    mailOf({
      from: 'bob@reporter.example',
      subject: 'spam from 203.0.113.9',
      ip: '203.0.113.9',
      messageId: 'plain-1@reporter.example',
    }),
  );

  const app = await buildApp({
    store,
    config: loadConfig({}, { dataDir: dir }),
    evidenceStore: evidence,
    clock,
    logger: false,
    messageIdDomain: 'desk.example.net',
    http: { secureCookies: false, rateLimits: false },
  });
  await app.ready();
  return {
    app,
    clock,
    evidence,
    hostileCase: hostile.cases[0]!.ref,
    otherCase: other.cases[0]!.ref,
    close: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** A browser-like client over app.inject(): keeps cookies, reads the page's CSRF token, posts forms. */
export class PageClient {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(private readonly app: FastifyInstance) {}

  private cookieHeader(): string {
    return [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(setCookie: string | string[] | undefined): void {
    for (const c of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(url: string) {
    const res = await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader() } });
    this.keep(res.headers['set-cookie']);
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) this.csrf = token;
    return res;
  }

  async post(url: string, form: Record<string, string | string[]>, options: { csrf?: string | null } = {}) {
    const params = new URLSearchParams();
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf !== null) params.append('_csrf', csrf);
    for (const [k, v] of Object.entries(form))
      for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    const res = await this.app.inject({
      method: 'POST',
      url,
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: params.toString(),
    });
    this.keep(res.headers['set-cookie']);
    return res;
  }

  async login(area: 'console' | 'portal', email: string, password = PASSWORD) {
    await this.get(`/${area}/login`);
    return this.post(`/${area}/login`, { email, password });
  }

  /** Follows a 303 and returns the page (with the flash message). */
  async follow(res: { statusCode: number; headers: Record<string, unknown> }) {
    if (res.statusCode !== 303) throw new Error(`expected a redirect, got ${res.statusCode}`);
    return this.get(String(res.headers.location));
  }
}
