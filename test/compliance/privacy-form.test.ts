import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listPrivacyRequests } from '../../src/compliance/privacy-request-repository.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { processInbox } from '../../src/intake/inbox/inbox-worker.js';
import { loadPolicyDirectory } from '../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../src/policy/policy-repository.js';
import { buildApp } from '../../src/server/app.js';
import { routedInboxProcessor } from '../../src/server/inbox-router.js';
import { FORM_COOKIE } from '../../src/server/public/form-token.js';
import { publicPagesFeature } from '../../src/server/public/public-pages-plugin.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * The public `/privacy` form (INFINCE): a parent's request goes through the inbox on the `privacy` route
 * into a tracked request with the requester's address; a header-injection attempt in the name is
 * neutralised; missing fields are answered on the page.
 */

describeEachBackend('the /privacy form', (ctx) => {
  let app: FastifyInstance;
  let dir: string;
  const clock = new ManualClock('2026-12-07T09:00:00Z');
  let run: () => Promise<void>;

  beforeAll(async () => {
    await ctx.store.db.deleteFrom('privacy_requests').execute();
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-privacy-form-'));
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const infince = await loadPolicyDirectory('policies/infince');
    for (const v of infince.versions) await publishPolicyVersion(ctx.store.db, v);
    app = await buildApp({
      store: ctx.store,
      config: loadConfig({}, { dataDir: dir }),
      evidenceStore: evidence,
      clock,
      logger: false,
      http: { secureCookies: false, rateLimits: false },
      features: [publicPagesFeature({ providerId: 'infince', secret: randomBytes(32) })],
    });
    await app.ready();
    const processor = routedInboxProcessor({
      policies: infince,
      clock,
      messageIdDomain: 'desk.example.net',
      snapshot: () => ({ customers: [], services: [], assignments: [] }) as never,
      evidence,
    });
    run = async () => {
      await processInbox({ db: ctx.store.db, evidence, processReport: processor }, { limit: 10, clock });
    };
  });
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function open(): Promise<{ token: string; cookie: string; body: string }> {
    const res = await app.inject({ method: 'GET', url: '/privacy' });
    expect(res.statusCode).toBe(200);
    const token = /name="_token" value="([^"]+)"/.exec(res.body)?.[1];
    const nonce = new RegExp(`${FORM_COOKIE}=([^;]+)`).exec(String(res.headers['set-cookie']))?.[1];
    return { token: token!, cookie: `${FORM_COOKIE}=${nonce}`, body: res.body };
  }

  const post = (cookie: string, fields: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/privacy',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });

  it('shows the policy promise and a form; a request becomes a tracked deletion with the deadline', async () => {
    const { token, cookie, body } = await open();
    expect(body).toContain('we shall immediately take the necessary steps');
    expect(body).toContain('<form method="post" action="/privacy"');
    const res = await post(cookie, {
      _token: token,
      name: 'Dana Parker\r\nBcc: victim@example.org',
      email: 'dana@home.example',
      details: 'My son Leo (13) registered the account leo-games with his school address.',
    });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers.location)).toMatch(/^\/report\/status\//);
    await run();
    const rows = await listPrivacyRequests(ctx.store.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'child-data-deletion',
      status: 'open',
      channel: 'form',
      requester: { email: 'dana@home.example' },
      dueAt: new Date('2026-12-08T09:00:00Z'),
    });
    expect(rows[0]!.requester.name).not.toContain('\n');
    expect(rows[0]!.summary).toContain('leo-games');
  });

  it('answers a request without an address on the page and records nothing', async () => {
    const { token, cookie } = await open();
    const res = await post(cookie, { _token: token, name: 'X', email: 'nope', details: 'delete it' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('give an e-mail address');
    await run();
    expect(await listPrivacyRequests(ctx.store.db)).toHaveLength(1);
  });
});
