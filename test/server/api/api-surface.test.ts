import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, unknown>; schemas?: Record<string, unknown> };
}

describeEachBackend('API surface: health, metrics, problem details, OpenAPI', (ctx) => {
  let h: ApiHarness;
  let admin: string;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    admin = await h.key('admin');
  });
  afterAll(async () => h?.close());

  it('answers /healthz and /readyz (store reachable)', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', store: ctx.store.kind });
  });

  it('exposes Prometheus metrics with the request histogram by route pattern', async () => {
    await h.app.inject({ method: 'GET', url: '/api/v1/cases', headers: bearer(admin) });
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(/aupdesk_process_cpu_user_seconds_total/);
    expect(res.body).toMatch(/aupdesk_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/cases"/);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      type: 'urn:aupdesk:problem:AUP_ERR_HTTP_ROUTE_NOT_FOUND',
      title: 'No such route',
      status: 404,
      instance: '/api/v1/nothing-here',
      code: 'AUP_ERR_HTTP_ROUTE_NOT_FOUND',
    });
    expect(res.json().requestId).toBe(res.headers['x-request-id']);
  });

  it('answers malformed JSON with 400 and the parser reason, never a stack trace', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      payload: '{"ref": "C-1", "name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('AUP_ERR_HTTP_BAD_JSON');
    expect(res.body).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('answers a validation failure naming the field and why', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(admin),
      payload: { ref: 'C-V', name: 'Valid', emails: ['not-an-email'] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'AUP_ERR_INPUT_INVALID' });
    expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/emails/0' });
    expect(res.json().detail).toMatch(/emails\.0/);
  });

  it('answers a wrong content type with 415', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { ...bearer(admin), 'content-type': 'application/xml' },
      payload: '<customer/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE');
  });

  it('maps domain errors to their catalogue status (conflict → 409)', async () => {
    const payload = { ref: 'C-DUP', name: 'Dup' };
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/v1/customers', headers: bearer(admin), payload }))
        .statusCode,
    ).toBe(201);
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(admin),
      payload,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'AUP_ERR_STORE_CONFLICT', title: 'Conflicting record' });
  });

  it('imports a registry CSV idempotently and creates services and assignments', async () => {
    const csv = await readFile(path.resolve('test/fixtures/registry/small-registry.csv'), 'utf8');
    const first = await h.app.inject({
      method: 'POST',
      url: '/api/v1/registry/import',
      headers: { ...bearer(admin), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(first.statusCode).toBe(200);
    expect(first.json().imported).toBeGreaterThan(0);
    const second = await h.app.inject({
      method: 'POST',
      url: '/api/v1/registry/import',
      headers: { ...bearer(admin), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(second.json().changed).toBe(false);
    const svc = await h.app.inject({
      method: 'POST',
      url: '/api/v1/services',
      headers: bearer(admin),
      payload: { ref: 'S-DUP-1', customerRef: 'C-DUP', kind: 'vps' },
    });
    expect(svc.statusCode).toBe(201);
    const asg = await h.app.inject({
      method: 'POST',
      url: '/api/v1/assignments',
      headers: bearer(admin),
      payload: { serviceRef: 'S-DUP-1', resource: '100.64.7.0/28', validFrom: '2026-01-01T00:00:00Z' },
    });
    expect(asg.statusCode).toBe(201);
    expect(asg.json()).toMatchObject({
      serviceRef: 'S-DUP-1',
      customerRef: 'C-DUP',
      resource: '100.64.7.0/28',
      validTo: null,
    });
  });

  it('publishes a policy version from YAML (admins only), lists and reads it', async () => {
    const yaml = await readFile(path.resolve('policies/securepacket/2026-11-22.yaml'), 'utf8');
    const analyst = await h.key('analyst');
    const refused = await h.app.inject({
      method: 'POST',
      url: '/api/v1/policies',
      headers: { ...bearer(analyst), 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(refused.statusCode).toBe(403);
    const published = await h.app.inject({
      method: 'POST',
      url: '/api/v1/policies',
      headers: { ...bearer(admin), 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(published.statusCode).toBe(201);
    const { provider, version } = published.json<{ provider: string; version: string }>();
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/policies',
      headers: { ...bearer(admin), 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(again.json().status).toBe('unchanged');
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/policies', headers: bearer(analyst) });
    expect(list.json().items.map((p: { id: string }) => p.id)).toContain(provider);
    const one = await h.app.inject({
      method: 'GET',
      url: `/api/v1/policies/${provider}/${version}`,
      headers: bearer(analyst),
    });
    expect(one.statusCode).toBe(200);
    expect(one.json().source).toBe(yaml);
    const broken = await h.app.inject({
      method: 'POST',
      url: '/api/v1/policies',
      headers: { ...bearer(admin), 'content-type': 'application/yaml' },
      payload: 'schema: aupdesk/policy@1\nprovider: [unclosed\n',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().code).toBe('AUP_ERR_POLICY_YAML_SYNTAX');
  });

  it('serves a valid OpenAPI 3 document listing every API route, and its UI without a CDN', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<OpenApiDoc>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'session']);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    const registered = apiRoutes(h);
    expect(registered.length).toBeGreaterThan(20);
    for (const route of registered) {
      expect(documented, route).toContain(route);
    }
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).length, `${m} ${p}`).toBeGreaterThan(0);
        if (p !== '/api/v1/auth/login') expect(op.security, `${m} ${p}`).toBeDefined();
      }
    }
    const ui = await h.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs|jsdelivr)/);
    const asset = await h.app.inject({ method: 'GET', url: '/api/docs/static/swagger-ui-bundle.js' });
    expect(asset.statusCode).toBe(200);
  });
});

/** Every `/api/v1` route as `METHOD /path/{param}` (the OpenAPI spelling), from the app's own route table. */
function apiRoutes(h: ApiHarness): string[] {
  return h.app.registeredRoutes
    .filter((r) => r.url.startsWith('/api/v1') && r.method !== 'HEAD')
    .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
}
