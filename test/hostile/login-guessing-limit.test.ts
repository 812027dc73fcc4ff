import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createUser } from '../../src/accounts/user-repository.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { buildApp } from '../../src/server/app.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * The password-guessing limit is per account (and per client) across the API, console and portal logins,
 * and held in the store: two app instances over one store (two processes) share it. Before, each route
 * allowed 10 per client address in process memory: 30 guesses per account per window, more with more
 * addresses or processes.
 */

describeEachBackend('login guessing limit', (ctx) => {
  let dir: string;
  let apps: FastifyInstance[];
  const clock = new ManualClock('2026-06-01T12:00:00Z');
  const victim = 'victim@desk.example.net';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-login-'));
    apps = [];
    for (const n of [1, 2]) {
      const app = await buildApp({
        store: ctx.store,
        config: loadConfig({}, { dataDir: dir }),
        evidenceStore: new EvidenceStore(path.join(dir, `evidence-${n}`)),
        clock,
        logger: false,
        http: { secureCookies: false, rateLimits: true },
      });
      await app.ready();
      apps.push(app);
    }
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  beforeEach(async () => {
    await ctx.store.db.deleteFrom('login_attempts').execute();
    await ctx.store.db.deleteFrom('sessions').execute();
    await ctx.store.db.deleteFrom('users').execute();
    await createUser(ctx.store.db, {
      email: victim,
      role: 'analyst',
      password: 'the real one',
      now: clock.now(),
    });
  });

  async function apiLogin(app: FastifyInstance, ip: string, email: string, password: string) {
    return app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: ip,
      payload: { email, password },
    });
  }

  async function pageLogin(app: FastifyInstance, area: 'console' | 'portal', ip: string, password: string) {
    const form = await app.inject({ method: 'GET', url: `/${area}/login`, remoteAddress: ip });
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const cookie = (form.cookies as Array<{ name: string; value: string }>)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    return app.inject({
      method: 'POST',
      url: `/${area}/login`,
      remoteAddress: ip,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, email: victim, password }).toString(),
    });
  }

  it('allows 10 guesses per account across API, console and portal, from many addresses and processes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await apiLogin(apps[i % 2]!, `192.0.2.${i + 1}`, victim, `guess ${i}`)).statusCode);
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await pageLogin(apps[i % 2]!, 'console', `192.0.2.${i + 11}`, `guess c${i}`)).statusCode,
      );
    for (let i = 0; i < 3; i++)
      statuses.push((await pageLogin(apps[i % 2]!, 'portal', `192.0.2.${i + 21}`, `guess p${i}`)).statusCode);
    expect(statuses).toEqual(Array(10).fill(401));
    const api = await apiLogin(apps[1]!, '198.51.100.99', victim, 'the real one');
    expect(api.statusCode).toBe(429);
    expect(api.json().code).toBe('AUP_ERR_HTTP_RATE_LIMITED');
    expect(Number(api.headers['retry-after'])).toBeGreaterThan(0);
    const page = await pageLogin(apps[0]!, 'console', '198.51.100.98', 'the real one');
    expect(page.statusCode).toBe(429);
    // Another account is not affected, and the window passes.
    await createUser(ctx.store.db, {
      email: 'other@desk.example.net',
      role: 'analyst',
      password: 'other password ok',
      now: clock.now(),
    });
    expect(
      (await apiLogin(apps[0]!, '198.51.100.97', 'other@desk.example.net', 'other password ok')).statusCode,
    ).toBe(200);
    clock.advance(5 * 60_000 + 1000);
    expect((await apiLogin(apps[0]!, '198.51.100.96', victim, 'the real one')).statusCode).toBe(200);
  });

  it('allows 10 attempts per client address across accounts and routes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await apiLogin(apps[i % 2]!, '203.0.113.5', `nobody${i}@example.net`, 'x')).statusCode);
    expect(statuses).toEqual(Array(10).fill(401));
    expect((await pageLogin(apps[0]!, 'portal', '203.0.113.5', 'the real one')).statusCode).toBe(429);
  });

  it('never locks out an account by its own successful logins; its guesses before a success stop counting', async () => {
    // Twelve scripted logins in a minute, each from a different address: all succeed.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await apiLogin(apps[i % 2]!, `198.18.0.${i + 1}`, victim, 'the real one')).statusCode);
    expect(statuses).toEqual(Array(12).fill(200));
    // Nine wrong, one right (a person mistyping), then nine wrong again: the success reset the account's
    // count, so the real password still gets through after.
    for (let i = 0; i < 9; i++) await apiLogin(apps[0]!, `198.18.1.${i + 1}`, victim, `typo ${i}`);
    expect((await pageLogin(apps[1]!, 'console', '198.18.2.1', 'the real one')).statusCode).toBe(303);
    for (let i = 0; i < 9; i++) await apiLogin(apps[0]!, `198.18.3.${i + 1}`, victim, `typo again ${i}`);
    expect((await apiLogin(apps[1]!, '198.18.4.1', victim, 'the real one')).statusCode).toBe(200);
    // An attacker's tenth wrong guess after that is still the last one allowed.
    expect((await apiLogin(apps[0]!, '198.18.5.1', victim, 'guess')).statusCode).toBe(401);
    for (let i = 0; i < 9; i++) await apiLogin(apps[0]!, `198.18.6.${i + 1}`, victim, `guess ${i}`);
    expect((await apiLogin(apps[1]!, '198.18.7.1', victim, 'the real one')).statusCode).toBe(429);
  });
});
