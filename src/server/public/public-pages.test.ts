import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/store-backends.js';
import { ManualClock } from '../../enforcement/outbox/clock.js';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import { processInbox } from '../../intake/inbox/inbox-worker.js';
import { parseReport } from '../../intake/parse-report.js';
import { loadPolicyDirectory } from '../../policy/policy-loader.js';
import { publishPolicyVersion } from '../../policy/policy-repository.js';
import type { Store } from '../../store/database.js';
import { registerRateLimit } from '../plugins/rate-limit-plugin.js';
import { FORM_COOKIE } from './form-token.js';
import { publicPagesPlugin } from './public-pages-plugin.js';

const root = path.resolve(import.meta.dirname, '../../..');
const MAX_UPLOAD = 64 * 1024;

interface Harness {
  app: FastifyInstance;
  evidence: EvidenceStore;
  clock: ManualClock;
  accepted: number;
}

async function harness(store: Store, providerId: string, dir: string, formLimit = 50): Promise<Harness> {
  const evidence = new EvidenceStore(path.join(dir, `evidence-${providerId}`));
  const clock = new ManualClock(new Date('2026-12-01T12:00:00Z'));
  const app = Fastify({ logger: false });
  await registerRateLimit(app, { enabled: true });
  const h: Harness = { app, evidence, clock, accepted: 0 };
  await app.register(publicPagesPlugin, {
    db: store.db,
    providerId,
    secret: randomBytes(32),
    clock,
    origin: 'https://abuse.example.net',
    acceptReport: (input) => acceptReport({ db: store.db, evidence }, input),
    onAccepted: () => {
      h.accepted += 1;
    },
    maxUploadBytes: MAX_UPLOAD,
    formRateLimit: { max: formLimit, timeWindow: 60_000 },
  });
  await app.ready();
  return h;
}

/** GET /report: the token field and the cookie that goes with it. */
async function openForm(app: FastifyInstance): Promise<{ token: string; cookie: string; body: string }> {
  const res = await app.inject({ method: 'GET', url: '/report' });
  expect(res.statusCode).toBe(200);
  const token = /name="_token" value="([^"]+)"/.exec(res.body)?.[1];
  const setCookie = String(res.headers['set-cookie']);
  const nonce = new RegExp(`${FORM_COOKIE}=([^;]+)`).exec(setCookie)?.[1];
  expect(token).toBeDefined();
  expect(setCookie).toMatch(/HttpOnly; SameSite=Strict/);
  return { token: token!, cookie: `${FORM_COOKIE}=${nonce}`, body: res.body };
}

async function multipart(
  fields: Record<string, string>,
  file?: { name: string; type: string; bytes: Uint8Array },
): Promise<{ payload: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append('evidence', new Blob([file.bytes], { type: file.type }), file.name);
  const res = new Response(form);
  return { payload: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type')! };
}

async function post(app: FastifyInstance, cookie: string, body: { payload: Buffer; contentType: string }) {
  return app.inject({
    method: 'POST',
    url: '/report',
    headers: { 'content-type': body.contentType, cookie },
    payload: body.payload,
  });
}

describeEachBackend('public pages', (ctx) => {
  let dir: string;
  let sp: Harness;
  let iitgen: Harness;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-public-'));
    for (const provider of ['securepacket', 'iitgen']) {
      const history = await loadPolicyDirectory(path.join(root, 'policies', provider));
      for (const version of history.versions) await publishPolicyVersion(ctx.store.db, version);
    }
    sp = await harness(ctx.store, 'securepacket', dir);
    iitgen = await harness(ctx.store, 'iitgen', dir);
  }, 60_000);

  afterAll(async () => {
    await sp?.app.close();
    await iitgen?.app.close();
    // Retries: an evidence store may still be copying blobs out of its journal into this directory.
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('/aup shows the version in force, announces the next one and lists every version', async () => {
    const res = await sp.app.inject({ method: 'GET', url: '/aup' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toContain('<link rel="stylesheet" href="/public/aupdesk.css">');
    expect(res.body).not.toMatch(/<script|https?:\/\/cdn/i);
    expect(res.body).toContain('Version 2026-11-22, effective 22 November 2026');
    expect(res.body).toMatch(
      /A new version, <a href="\/aup\/2027-03-01">2027-03-01<\/a>, takes effect on 1 March 2027/,
    );
    expect(res.body).toContain('href="/aup/diff?from=2026-11-22&amp;to=2027-03-01"');
    // The announced clause 1.13 is not on the page in force.
    expect(res.body).not.toContain('Open relays, proxies and resolvers');
    const css = await sp.app.inject({ method: 'GET', url: '/public/aupdesk.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const again = await sp.app.inject({
      method: 'GET',
      url: '/public/aupdesk.css',
      headers: { 'if-none-match': String(css.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('/aup/<version> shows an earlier or announced version; an unknown one is a 404 page', async () => {
    const next = await sp.app.inject({ method: 'GET', url: '/aup/2027-03-01' });
    expect(next.statusCode).toBe(200);
    expect(next.body).toContain('This version takes effect on 1 March 2027');
    expect(next.body).toMatch(/1\.13/);
    const missing = await sp.app.inject({ method: 'GET', url: '/aup/%3Cscript%3E' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('There is no published version &quot;&lt;script&gt;&quot;.');
    expect(missing.body).not.toContain('<script>');
  });

  it('/aup/diff shows the changes readably with the material verdict', async () => {
    const res = await sp.app.inject({ method: 'GET', url: '/aup/diff?from=2026-11-22&to=2027-03-01' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<strong>Material change.</strong>');
    expect(res.body).toContain(
      '<h3>Added</h3><ul><li><code>abuse.open-services</code> Open relays, proxies and resolvers</li></ul>',
    );
    const same = await sp.app.inject({ method: 'GET', url: '/aup/diff?from=2026-11-22&to=2026-11-22' });
    expect(same.body).toContain('<strong>Not a material change.</strong>');
    const bad = await sp.app.inject({ method: 'GET', url: '/aup/diff?from=1.0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Published: 2026-11-22, 2027-03-01.');
  });

  it('/dmca shows the designated agent from the policy; a policy without one gives a 404 page', async () => {
    const res = await iitgen.app.inject({ method: 'GET', url: '/dmca' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<dt>Designated agent</dt><dd>Takeshi Eto</dd>');
    expect(res.body).toContain('417 East Huntington Drive');
    expect(res.body).toContain('512(c)(3)(A)');
    const none = await sp.app.inject({ method: 'GET', url: '/dmca' });
    expect(none.statusCode).toBe(404);
  });

  it('/.well-known/security.txt follows RFC 9116', async () => {
    const res = await iitgen.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const lines = res.body.split('\n');
    expect(lines).toContain('Contact: mailto:abuse@iitgen.com');
    expect(lines).toContain('Contact: https://abuse.example.net/report');
    expect(lines).toContain('Preferred-Languages: en');
    expect(lines).toContain('Canonical: https://abuse.example.net/.well-known/security.txt');
    expect(lines).toContain('Policy: https://abuse.example.net/aup');
    const expires = Date.parse(lines.find((l) => l.startsWith('Expires: '))!.slice(9));
    const now = iitgen.clock.now().getTime();
    expect(expires).toBeGreaterThan(now);
    expect(expires - now).toBeLessThan(365 * 86_400_000);
    const legacy = await iitgen.app.inject({ method: 'GET', url: '/security.txt' });
    expect(legacy.statusCode).toBe(301);
    expect(legacy.headers.location).toBe('/.well-known/security.txt');
  });

  it('a complaint through the form is stored first, then the reporter gets a reference and its status', async () => {
    const { token, cookie } = await openForm(iitgen.app);
    const evidenceFile = new TextEncoder().encode(
      'Nov 30 10:01:02 web1 sshd[811]: Failed password for root from 192.0.2.77 port 50122 ssh2\n',
    );
    const body = await multipart(
      {
        _token: token,
        name: 'Jane Reporter',
        organisation: 'Example CERT',
        email: 'jane@cert.example',
        kind: 'scanning',
        target: '192.0.2.77',
        when: '2026-11-30T10:01',
        description: 'Brute-force SSH logins against our server <b>all night</b>.',
      },
      { name: '../../etc/auth.log', type: 'text/plain', bytes: evidenceFile },
    );
    const before = iitgen.accepted;
    const res = await post(iitgen.app, cookie, body);
    expect(res.statusCode).toBe(303);
    expect(iitgen.accepted).toBe(before + 1);
    const location = String(res.headers.location);
    const match = /^\/report\/status\/(\d+)-[A-Za-z0-9_-]{22}$/.exec(location);
    expect(match).not.toBeNull();

    const row = await ctx.store.db
      .selectFrom('intake_inbox')
      .selectAll()
      .where('id', '=', match![1]!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ channel: 'form', route: 'abuse', status: 'pending' });
    const bytes = await iitgen.evidence.get(row.evidence_sha256);
    const parsed = await parseReport({
      bytes,
      channel: 'form',
      receivedAt: new Date(),
      evidenceSha256: row.evidence_sha256,
    });
    expect(parsed.reporter).toMatchObject({
      name: 'Jane Reporter',
      email: 'jane@cert.example',
      anonymous: false,
    });
    expect(parsed.events.some((e) => e['source.ip'] === '192.0.2.77')).toBe(true);
    const text = Buffer.from(bytes).toString('utf8');
    expect(text).toContain('Organization: Example CERT');
    expect(text).toContain('filename=auth.log');

    const pending = await iitgen.app.inject({ method: 'GET', url: location });
    expect(pending.statusCode).toBe(200);
    expect(pending.body).toContain(`Your report reference is <strong>R-${match![1]}</strong>`);
    expect(pending.body).toContain('http-equiv="refresh"');

    await processInbox({ db: ctx.store.db, evidence: iitgen.evidence }, { limit: 10, clock: iitgen.clock });
    const done = await iitgen.app.inject({ method: 'GET', url: location });
    expect(done.body).toContain('No case was opened');
    expect(done.body).not.toContain('http-equiv="refresh"');

    const forged = await iitgen.app.inject({
      method: 'GET',
      url: `/report/status/${match![1]}-AAAAAAAAAAAAAAAAAAAAAA`,
    });
    expect(forged.statusCode).toBe(404);
  });

  it('the form refuses a missing or foreign CSRF token and a missing cookie', async () => {
    const { token, cookie } = await openForm(iitgen.app);
    const fields = { name: 'A', email: 'a@example.org', target: '192.0.2.1', description: 'spam' };
    const noToken = await post(iitgen.app, cookie, await multipart(fields));
    expect(noToken.statusCode).toBe(403);
    expect(noToken.body).toContain('the form token is missing');
    const noCookie = await post(iitgen.app, '', await multipart({ ...fields, _token: token }));
    expect(noCookie.statusCode).toBe(403);
    expect(noCookie.body).toContain('the form cookie is missing or does not match');
    const forged = await post(
      iitgen.app,
      cookie,
      await multipart({ ...fields, _token: `${token.slice(0, -2)}xx` }),
    );
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('the form token is not valid');
  });

  it('identity is required where the policy rejects anonymous complaints; input comes back escaped', async () => {
    const { token, cookie } = await openForm(iitgen.app);
    const res = await post(
      iitgen.app,
      cookie,
      await multipart({
        _token: token,
        target: '"><script>alert(1)</script>',
        description: '</textarea><script>x</script>',
      }),
    );
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Your name is required: this provider does not act on anonymous complaints');
    expect(res.body).toContain('Email is required');
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;');
  });

  it('an anonymous complaint is taken where the policy accepts it, and stored without a sender', async () => {
    const { token, cookie, body } = await openForm(sp.app);
    expect(body).toContain('You may complain anonymously');
    const res = await post(
      sp.app,
      cookie,
      await multipart({
        _token: token,
        target: 'http://phish.example.com/login',
        kind: 'phishing',
        description: 'A phishing page.',
      }),
    );
    expect(res.statusCode).toBe(303);
    const id = /status\/(\d+)-/.exec(String(res.headers.location))![1]!;
    const row = await ctx.store.db
      .selectFrom('intake_inbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const parsed = await parseReport({
      bytes: await sp.evidence.get(row.evidence_sha256),
      channel: 'form',
      receivedAt: new Date(),
    });
    expect(parsed.reporter.anonymous).toBe(true);
  });

  it('an oversized upload gets a 413 page, a non-multipart post a 415 page, and the server answers after', async () => {
    const { token, cookie } = await openForm(sp.app);
    const big = await post(
      sp.app,
      cookie,
      await multipart(
        { _token: token, target: '192.0.2.9', description: 'big' },
        { name: 'big.bin', type: 'application/octet-stream', bytes: new Uint8Array(MAX_UPLOAD + 1) },
      ),
    );
    expect(big.statusCode).toBe(413);
    expect(big.body).toContain('at most 64 KiB');
    const huge = await sp.app.inject({
      method: 'POST',
      url: '/report',
      headers: {
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(50 * 1024 * 1024),
        cookie,
      },
      payload: '--x--',
    });
    expect(huge.statusCode).toBe(413);
    const json = await sp.app.inject({
      method: 'POST',
      url: '/report',
      headers: { 'content-type': 'application/json', cookie },
      payload: '{"target":',
    });
    expect(json.statusCode).toBe(415);
    expect(json.body).toContain('multipart/form-data');
    const page = await sp.app.inject({ method: 'GET', url: '/aup' });
    expect(page.statusCode).toBe(200);
  });

  it('complaint posts are rate limited per client address with a 429 page', async () => {
    const limited = await harness(ctx.store, 'securepacket', dir, 2);
    try {
      const { token, cookie } = await openForm(limited.app);
      const fields = { _token: token, target: '192.0.2.10', description: 'scan' };
      const codes: number[] = [];
      for (let i = 0; i < 3; i++)
        codes.push((await post(limited.app, cookie, await multipart(fields))).statusCode);
      expect(codes).toEqual([303, 303, 429]);
      const last = await post(limited.app, cookie, await multipart(fields));
      expect(last.body).toContain('Too many requests');
      expect(last.headers['retry-after']).toBeDefined();
    } finally {
      await limited.app.close();
    }
  });
});

describe('public pages without a published policy', () => {
  it('say so with a 404 page and ask for identity on the form', async () => {
    const { openStore } = await import('../../store/database.js');
    const store = await openStore({ pgliteDir: 'memory://' });
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-public-empty-'));
    try {
      const h = await harness(store, 'nobody', dir);
      const aup = await h.app.inject({ method: 'GET', url: '/aup' });
      expect(aup.statusCode).toBe(404);
      expect(aup.body).toContain('No acceptable use policy is published yet.');
      const form = await openForm(h.app);
      expect(form.body).toContain('does not act on anonymous complaints');
      const sec = await h.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
      expect(sec.body).toContain('Contact: https://abuse.example.net/report');
      await h.app.close();
    } finally {
      await store.close();
      // Retries: an evidence store may still be copying blobs out of its journal into this directory.
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  }, 60_000);
});
