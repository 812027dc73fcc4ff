import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCustomer } from '../../../src/registry/registry-repository.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

describeEachBackend('API authentication', (ctx) => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
  });
  afterAll(async () => h?.close());

  it('refuses a request without credentials with 401 problem details', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/cases' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      status: 401,
      code: 'AUP_ERR_AUTH_REQUIRED',
      instance: '/api/v1/cases',
    });
  });

  it('refuses an unknown, malformed or revoked API key', async () => {
    for (const value of [`Bearer aupk_${'A'.repeat(43)}`, 'Bearer nonsense', 'Basic Zm9vOmJhcg==']) {
      const res = await h.app.inject({
        method: 'GET',
        url: '/api/v1/cases',
        headers: { authorization: value },
      });
      expect(res.statusCode, value).toBe(401);
    }
  });

  it('never takes an API key from the query string (URLs end up in logs)', async () => {
    const key = await h.key('admin');
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/cases?key=${key}&access_token=${key}` });
    expect(res.statusCode).toBe(401);
  });

  it('accepts a valid API key and stores only its hash', async () => {
    const key = await h.key('analyst');
    expect(key).toMatch(/^aupk_[A-Za-z0-9_-]{43}$/);
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/cases', headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    const rows = await ctx.store.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.some((r) => key.startsWith(r.prefix))).toBe(true);
  });

  it('enforces roles: a reporter may not list cases, a customer may not create customers', async () => {
    const reporter = await h.key('reporter');
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/v1/cases', headers: bearer(reporter) })).json(),
    ).toMatchObject({
      status: 403,
      code: 'AUP_ERR_AUTH_FORBIDDEN',
    });
    const c = await createCustomer(ctx.store.db, { ref: 'C-ROLE', name: 'Role Test' });
    const customer = await h.key('customer', c.id);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(customer),
      payload: { ref: 'C-NEW', name: 'New' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('logs a person in with a secure, HttpOnly, SameSite=Lax session cookie and tells who is signed in', async () => {
    const { cookie, csrf, email } = await h.login('analyst');
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      principal: { kind: 'user', name: email, role: 'analyst' },
      csrfToken: csrf,
    });
    const login = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'correct horse battery staple' },
    });
    const set = String(login.headers['set-cookie']);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Secure/);
    expect(set).toMatch(/SameSite=Lax/);
  });

  it('answers a wrong password and an unknown e-mail alike', async () => {
    const { email } = await h.login('reporter');
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'wrong password!' },
    });
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'nobody@example.net', password: 'wrong password!' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().detail).toBe(unknown.json().detail);
    expect(wrong.cookies).toHaveLength(0);
  });

  it('refuses a cookie-authenticated state change without the CSRF token, accepts it with the token', async () => {
    const { cookie, csrf } = await h.login('admin');
    const payload = { ref: 'C-CSRF', name: 'CSRF Test' };
    const without = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { cookie },
      payload,
    });
    expect(without.statusCode).toBe(403);
    expect(without.json().code).toBe('AUP_ERR_AUTH_CSRF');
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { cookie, 'x-csrf-token': `${csrf.slice(0, -1)}x` },
      payload,
    });
    expect(wrong.statusCode).toBe(403);
    const withToken = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { cookie, 'x-csrf-token': csrf },
      payload,
    });
    expect(withToken.statusCode).toBe(201);
  });

  it('exempts API-key requests from CSRF', async () => {
    const key = await h.key('admin');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(key),
      payload: { ref: 'C-KEY', name: 'Key Test' },
    });
    expect(res.statusCode).toBe(201);
  });

  it('ends the session on logout', async () => {
    const { cookie, csrf } = await h.login('analyst');
    const out = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.statusCode).toBe(204);
    const after = await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('expires an idle session', async () => {
    const { cookie } = await h.login('analyst');
    h.clock.advance(13 * 60 * 60 * 1000);
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
    expect(res.statusCode).toBe(401);
  });
});

describeEachBackend('API login rate limit', (ctx) => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await apiHarness(ctx.store, { rateLimits: true });
  });
  afterAll(async () => h?.close());

  it('answers 429 with Retry-After after ten failed logins from one address', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof h.app.inject>> | undefined;
    for (let i = 0; i < 11; i += 1) {
      last = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'x@example.net', password: `guess number ${i}` },
      });
      statuses.push(last.statusCode);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(last!.headers['retry-after']).toBeDefined();
    expect(last!.json().code).toBe('AUP_ERR_HTTP_RATE_LIMITED');
  });
});
