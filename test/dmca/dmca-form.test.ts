import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { listDmcaRecords } from '../../src/dmca/dmca-repository.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { processInbox } from '../../src/intake/inbox/inbox-worker.js';
import { loadPolicyFile } from '../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../src/policy/policy-repository.js';
import { buildApp } from '../../src/server/app.js';
import { routedInboxProcessor } from '../../src/server/inbox-router.js';
import { FORM_COOKIE } from '../../src/server/public/form-token.js';
import { publicPagesFeature } from '../../src/server/public/public-pages-plugin.js';
import { seedRegistry } from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';
import { dmcaRegistry, iitgenHistory, resetDmcaDesk } from './dmca-support.js';

describeEachBackend('the /dmca form', (ctx) => {
  let app: FastifyInstance;
  let dir: string;
  let evidence: EvidenceStore;
  const clock = new ManualClock('2026-11-02T14:00:00Z');
  let run: () => Promise<void>;

  beforeAll(async () => {
    await resetDmcaDesk(ctx.store);
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-dmca-form-'));
    evidence = new EvidenceStore(path.join(dir, 'evidence'));
    await publishPolicyVersion(ctx.store.db, await loadPolicyFile('policies/iitgen/2018-02-24.yaml'));
    const snapshot = await seedRegistry(ctx.store, dmcaRegistry);
    app = await buildApp({
      store: ctx.store,
      config: loadConfig({}, { dataDir: dir }),
      evidenceStore: evidence,
      clock,
      logger: false,
      http: { secureCookies: false, rateLimits: false },
      features: [publicPagesFeature({ providerId: 'iitgen', secret: randomBytes(32) })],
    });
    await app.ready();
    const processor = routedInboxProcessor({
      policies: iitgenHistory,
      clock,
      messageIdDomain: 'desk.example.net',
      snapshot: () => snapshot,
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
    const res = await app.inject({ method: 'GET', url: '/dmca' });
    expect(res.statusCode).toBe(200);
    const token = /name="_token" value="([^"]+)"/.exec(res.body)?.[1];
    const nonce = new RegExp(`${FORM_COOKIE}=([^;]+)`).exec(String(res.headers['set-cookie']))?.[1];
    return { token: token!, cookie: `${FORM_COOKIE}=${nonce}`, body: res.body };
  }

  const post = (cookie: string, fields: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/dmca',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });

  it('shows the designated agent, the statute and a real form', async () => {
    const { body } = await open();
    expect(body).toContain('Takeshi Eto');
    expect(body).toContain('<form method="post" action="/dmca"');
    expect(body).toContain('name="accuracy_authority"');
  });

  it('a complete notice from the form opens a takedown; one without (vi) is answered and never reaches the customer', async () => {
    const base = {
      kind: 'notice',
      work: 'My photograph "Northern Lights over Tromsø"',
      material: 'https://files.shop-a.example/prints/northern-lights.jpg',
      name: 'Ingrid Solberg',
      address: '55 Harbor Street, Portland, ME 04101',
      phone: '+1 207 555 0199',
      email: 'ingrid@aurora-photo.example',
      good_faith: 'on',
      signature: 'Ingrid Solberg',
    };
    const a = await open();
    const incomplete = await post(a.cookie, { ...base, _token: a.token });
    expect(incomplete.statusCode).toBe(303);
    expect(incomplete.headers['x-dmca-missing']).toBe('accuracy-authority');
    expect(incomplete.headers.location).toMatch(/^\/report\/status\/\d+-/);
    const b = await open();
    const complete = await post(b.cookie, { ...base, accuracy_authority: 'on', _token: b.token });
    expect(complete.statusCode).toBe(303);
    await run();
    const records = await listDmcaRecords(ctx.store.db, { kind: 'notice' });
    expect(records.map((r) => [r.channel, r.status])).toEqual([
      ['form', 'takedown'],
      ['form', 'awaiting-completion'],
    ]);
    const toCustomer = (await listActions(ctx.store.db, { kind: 'mail.correspondence' })).filter(
      (a) => (a.payload as { to: string }).to === 'owner@shop-a.example',
    );
    expect(toCustomer).toHaveLength(1);
  });

  it('refuses a post without the form token, and an empty notice', async () => {
    const noToken = await post('', { kind: 'notice', work: 'x' });
    expect(noToken.statusCode).toBe(403);
    const c = await open();
    const empty = await post(c.cookie, { kind: 'notice', _token: c.token });
    expect(empty.statusCode).toBe(422);
    expect(empty.body).toContain('name the work and the material');
    const hostile = await open();
    const res = await post(hostile.cookie, {
      kind: 'notice',
      _token: hostile.token,
      work: '<script>alert(1)</script>',
      material: '',
    });
    expect(res.statusCode).toBe(303);
  });
});
