import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { type Desk, openDesk, PageClient } from '../server/console/console-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * HTTP input carrying characters PostgreSQL text refuses (NUL, unpaired surrogates) is refused with a 400
 * naming the field, on every route (one check at the Fastify root), instead of failing in the store with a
 * 500. A client's x-request-id is echoed only when it looks like an id.
 */

describeEachBackend('hostile HTTP input', (ctx) => {
  let desk: Desk;
  let key: string;
  beforeAll(async () => {
    desk = await openDesk(ctx.store);
    key = (
      await createApiKey(ctx.store.db, {
        name: 'hostile',
        role: 'admin',
        customerId: null,
        now: desk.clock.now(),
      })
    ).key;
  });
  afterAll(async () => desk?.close());
  const bearer = () => ({ authorization: `Bearer ${key}` });

  it('answers an API note with NUL with a 400 naming the field', async () => {
    const res = await desk.app.inject({
      method: 'POST',
      url: `/api/v1/cases/${desk.otherCase}/notes`,
      headers: bearer(),
      payload: { text: 'a note \u0000 with NUL' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
      errors: [{ in: 'body', pointer: '/text' }],
    });
    expect(res.json().detail).toMatch(/body field text/);
  });

  it('answers a customer field with NUL or a lone surrogate with a 400 naming the field', async () => {
    const res = await desk.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { ...bearer(), 'content-type': 'application/json' },
      payload: '{"ref":"C-NUL","name":"Evil \\u0000 Corp","emails":["ops@evil.example"]}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/name' });
    const surrogate = await desk.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { ...bearer(), 'content-type': 'application/json' },
      payload: '{"ref":"C-SUR","name":"ok","emails":["ops@evil.example"],"notes":["fine","bad \\ud800"]}',
    });
    expect(surrogate.statusCode).toBe(400);
    expect(surrogate.json().errors[0]).toMatchObject({ pointer: '/notes/1' });
  });

  it('answers console search q=%00 with a 400 naming q', async () => {
    const client = new PageClient(desk.app);
    await client.login('console', 'analyst@desk.example.net');
    const res = await client.get('/console/?q=%00');
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/querystring field q/);
  });

  it('echoes a well-formed x-request-id and replaces an oversized or odd one', async () => {
    const good = await desk.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'abc-123.x_y' },
    });
    expect(good.headers['x-request-id']).toBe('abc-123.x_y');
    const long = 'a'.repeat(5000);
    const res = await desk.app.inject({
      method: 'GET',
      url: '/api/v1/nothing',
      headers: { 'x-request-id': long },
    });
    const echoed = String(res.headers['x-request-id']);
    expect(echoed.length).toBeLessThanOrEqual(100);
    expect(echoed).not.toBe(long);
    expect(res.json().requestId).toBe(echoed);
    expect(res.body).not.toContain(long);
    const odd = await desk.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'a b<script>' },
    });
    expect(String(odd.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
  });
});
