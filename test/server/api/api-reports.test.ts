import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { processInbox } from '../../../src/intake/inbox/inbox-worker.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

const fixture = (p: string) => readFile(path.resolve('test/fixtures/intake', p));

describeEachBackend('API report submission and evidence', (ctx) => {
  let h: ApiHarness;
  let reporter: string;
  let otherReporter: string;
  let analyst: string;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    reporter = await h.key('reporter');
    otherReporter = await h.key('reporter');
    analyst = await h.key('analyst');
  });
  afterAll(async () => h?.close());

  it('stores a raw e-mail durably, queues it in the intake inbox and answers 202 with the report id', async () => {
    const bytes = await fixture('arf/rfc5965-example.eml');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'message/rfc822' },
      payload: bytes,
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ id: string; evidenceSha256: string; duplicate: boolean }>();
    expect(body.id).toMatch(/^\d+$/);
    expect(res.headers.location).toBe(`/api/v1/reports/${body.id}`);
    expect(Buffer.from(await h.evidence.get(body.evidenceSha256)).equals(bytes)).toBe(true);
    const inbox = await ctx.store.db
      .selectFrom('intake_inbox')
      .selectAll()
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    expect(inbox).toMatchObject({ channel: 'api', status: 'pending', evidence_sha256: body.evidenceSha256 });
  });

  it('accepts XARF v4 and IntelMQ JSON byte for byte, and shows the reporter its report once processed', async () => {
    const xarf = await fixture('xarf/v4-phishing.json');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports?filename=report.json',
      headers: { ...bearer(reporter), 'content-type': 'application/json; charset=utf-8' },
      payload: xarf,
    });
    expect(res.statusCode).toBe(202);
    const { id, evidenceSha256 } = res.json<{ id: string; evidenceSha256: string }>();
    expect(Buffer.from(await h.evidence.get(evidenceSha256)).equals(xarf)).toBe(true);
    const jsonl = await fixture('intelmq/cert-feed.jsonl');
    const lines = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'application/x-ndjson' },
      payload: jsonl,
    });
    expect(lines.statusCode).toBe(202);

    await processInbox({ db: ctx.store.db, evidence: h.evidence }, { limit: 50, clock: h.clock });
    const one = await h.app.inject({
      method: 'GET',
      url: `/api/v1/reports/${id}`,
      headers: bearer(reporter),
    });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id, status: 'done', evidenceSha256 });
    expect(one.json().reportStatus).toMatch(/parsed|partial|unparsed/);
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/reports', headers: bearer(reporter) });
    expect(list.json().items.length).toBeGreaterThanOrEqual(3);
  });

  it("keeps reporters apart: another reporter's report and evidence answer 404", async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'message/rfc822' },
      payload: 'From: a@example.org\r\nSubject: private\r\n\r\nspam from 192.0.2.7\r\n',
    });
    const { id, evidenceSha256 } = res.json<{ id: string; evidenceSha256: string }>();
    const other = await h.app.inject({
      method: 'GET',
      url: `/api/v1/reports/${id}`,
      headers: bearer(otherReporter),
    });
    expect(other.statusCode).toBe(404);
    const ev = await h.app.inject({
      method: 'GET',
      url: `/api/v1/evidence/${evidenceSha256}`,
      headers: bearer(otherReporter),
    });
    expect(ev.statusCode).toBe(404);
    const otherList = await h.app.inject({
      method: 'GET',
      url: '/api/v1/reports',
      headers: bearer(otherReporter),
    });
    expect(otherList.json().items).toEqual([]);
    const own = await h.app.inject({
      method: 'GET',
      url: `/api/v1/evidence/${evidenceSha256}`,
      headers: bearer(reporter),
    });
    expect(own.statusCode).toBe(200);
    expect(own.headers['content-type']).toBe('application/octet-stream');
    expect(own.headers['content-disposition']).toMatch(/^attachment;/);
    expect(own.body).toContain('spam from 192.0.2.7');
  });

  it('refuses invalid JSON with 400 naming the problem, and stores nothing', async () => {
    const before = await ctx.store.db
      .selectFrom('intake_inbox')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'application/json' },
      payload: '{"Reporter": {',
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'AUP_ERR_HTTP_BAD_JSON', status: 400 });
    expect(res.json().detail).toMatch(/not valid JSON/);
    const lines = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'application/x-ndjson' },
      payload: '{"source.ip": "192.0.2.1"}\n{broken\n',
    });
    expect(lines.statusCode).toBe(400);
    expect(lines.json().detail).toMatch(/line 2/);
    const after = await ctx.store.db
      .selectFrom('intake_inbox')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('refuses a wrong content type with 415 and an empty body with 400', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'image/png' },
      payload: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE');
    const empty = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'message/rfc822' },
      payload: '',
    });
    expect(empty.statusCode).toBe(400);
  });

  it('refuses a body over the upload limit with 413', async () => {
    const big = Buffer.alloc(26 * 1024 * 1024, 0x61);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(reporter), 'content-type': 'message/rfc822' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('AUP_ERR_HTTP_BODY_TOO_LARGE');
  });

  it('refuses a JSON API body over 1 MiB with 413', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: { ...bearer(analyst), 'content-type': 'application/json' },
      payload: JSON.stringify({ ref: 'X', name: 'x'.repeat(1_100_000) }),
    });
    expect(res.statusCode).toBe(413);
  });

  it('makes path traversal through evidence ids impossible: anything but 64 hex digits is 400', async () => {
    for (const id of [
      '..%2F..%2Fetc%2Fpasswd',
      '..%2E',
      `ABCDEF${'0'.repeat(58)}`,
      '0'.repeat(63),
      `${'a'.repeat(64)}%00`,
    ]) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/api/v1/evidence/${id}`,
        headers: bearer(analyst),
      });
      expect(res.statusCode, id).toBe(400);
      // A NUL anywhere in HTTP input is refused before any route sees it, naming the field.
      expect(res.json().code).toBe(
        id.endsWith('%00') ? 'AUP_ERR_INPUT_INVALID' : 'AUP_ERR_EVIDENCE_BAD_HASH',
      );
    }
    const missing = await h.app.inject({
      method: 'GET',
      url: `/api/v1/evidence/${'0'.repeat(64)}`,
      headers: bearer(analyst),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('AUP_ERR_EVIDENCE_NOT_FOUND');
  });

  it('does not let customers submit reports or download evidence', async () => {
    const { customerId } = await ctx.store.db
      .insertInto('customers')
      .values({ ref: 'C-REP', name: 'Customer' })
      .returning('id as customerId')
      .executeTakeFirstOrThrow();
    const key = await h.key('customer', customerId);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { ...bearer(key), 'content-type': 'message/rfc822' },
      payload: 'Subject: x\r\n\r\nx',
    });
    expect(res.statusCode).toBe(403);
  });
});
