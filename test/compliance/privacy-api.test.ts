import { afterAll, beforeAll, expect, it } from 'vitest';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { acceptReport } from '../../src/intake/inbox/inbox-accept.js';
import { processInbox } from '../../src/intake/inbox/inbox-worker.js';
import { loadPolicyDirectory } from '../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../src/policy/policy-repository.js';
import { routedInboxProcessor } from '../../src/server/inbox-router.js';
import { type ApiHarness, apiHarness, bearer } from '../server/api/api-harness.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * Privacy requests end to end: a parent's mail to privacy@ goes through the inbox and the router into the
 * privacy workflow (before this, it got "we could not read your report"); the API lists it with the
 * INFINCE deadline, completes it (a confirmation letter is queued), and records a breach notification.
 */

interface Item {
  ref: string;
  kind: string;
  status: string;
  overdue: boolean;
  dueAt: string | null;
  channel: string;
  requester: { email: string | null };
  regulatorNotifiedAt: string | null;
}

const mail = [
  'From: "Sam Okafor" <sam.okafor@family.example>',
  'To: privacy@desk.example.net',
  "Subject: Please delete my son's information",
  'Message-ID: <p1@family.example>',
  'Date: Mon, 07 Dec 2026 08:55:00 +0000',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hi, my son (he is 12) opened an account with you using his own name and e-mail address.',
  'He is under 18. Could you please erase his personal data?',
  '',
].join('\r\n');

describeEachBackend('API: /privacy-requests and the privacy route', (ctx) => {
  let h: ApiHarness;
  let analyst: string;
  let run: () => Promise<void>;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    h.clock.set('2026-12-07T09:00:00Z');
    analyst = await h.key('analyst');
    const infince = await loadPolicyDirectory('policies/infince');
    for (const v of infince.versions) await publishPolicyVersion(ctx.store.db, v);
    const processor = routedInboxProcessor({
      policies: infince,
      clock: h.clock,
      messageIdDomain: 'desk.example.net',
      snapshot: () => ({ customers: [], services: [], assignments: [] }) as never,
      evidence: h.evidence,
    });
    run = async () => {
      await processInbox(
        { db: ctx.store.db, evidence: h.evidence, processReport: processor },
        { limit: 10, clock: h.clock },
      );
    };
  });
  afterAll(async () => h?.close());

  it('a mail to privacy@ becomes a tracked request, completed with a confirmation letter', async () => {
    await acceptReport(
      { db: ctx.store.db, evidence: h.evidence },
      {
        bytes: new TextEncoder().encode(mail),
        channel: 'smtp',
        receivedAt: h.clock.now(),
        route: 'privacy',
      },
    );
    await run();
    const list = await h.app.inject({
      method: 'GET',
      url: '/api/v1/privacy-requests',
      headers: bearer(analyst),
    });
    expect(list.statusCode).toBe(200);
    const items = list.json<{ items: Item[] }>().items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'child-data-deletion',
      status: 'open',
      overdue: false,
      channel: 'smtp',
      dueAt: '2026-12-08T09:00:00.000Z',
      requester: { email: 'sam.okafor@family.example' },
    });
    const inbox = await ctx.store.db.selectFrom('intake_inbox').select(['status']).execute();
    expect(inbox.map((r) => r.status)).toEqual(['done']);

    h.clock.set('2026-12-08T10:00:00Z');
    const overdue = await h.app.inject({
      method: 'GET',
      url: '/api/v1/privacy-requests?status=open',
      headers: bearer(analyst),
    });
    expect(overdue.json<{ items: Item[] }>().items[0]!.overdue).toBe(true);

    const done = await h.app.inject({
      method: 'POST',
      url: `/api/v1/privacy-requests/${items[0]!.ref}/complete`,
      headers: bearer(analyst),
      payload: { note: 'Account and contact details deleted.' },
    });
    expect(done.statusCode).toBe(200);
    expect(done.json<Item>().status).toBe('completed');
    const letters = await listActions(ctx.store.db, { kind: 'mail.correspondence' });
    expect(letters.map((a) => (a.payload as { to: string }).to)).toEqual(['sam.okafor@family.example']);

    const twice = await h.app.inject({
      method: 'POST',
      url: `/api/v1/privacy-requests/${items[0]!.ref}/complete`,
      headers: bearer(analyst),
      payload: {},
    });
    expect(twice.statusCode).toBe(400);
  });

  it('records a breach with the notification dates, and refuses a ragged body', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/privacy-requests',
      headers: bearer(analyst),
      payload: {
        kind: 'breach',
        summary: 'Customer database backup left readable',
        discoveredAt: '2026-12-01T08:00:00Z',
        affectedNotifiedAt: '2026-12-02T09:00:00Z',
        regulatorNotifiedAt: '2026-12-03T09:00:00Z',
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json<Item>()).toMatchObject({
      kind: 'breach',
      status: 'completed',
      regulatorNotifiedAt: '2026-12-03T09:00:00.000Z',
    });
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/privacy-requests',
      headers: bearer(analyst),
      payload: {
        kind: 'child-data-deletion',
        requester: { name: 'x', email: 'not an address' },
        summary: '',
      },
    });
    expect(bad.statusCode).toBe(400);
    const anon = await h.app.inject({ method: 'GET', url: '/api/v1/privacy-requests' });
    expect(anon.statusCode).toBe(401);
  });

  it('is in the OpenAPI document with named schemas', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    const doc = res.json<{
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    }>();
    expect(Object.keys(doc.paths['/api/v1/privacy-requests'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(doc.paths['/api/v1/privacy-requests/{ref}/complete']?.post).toBeDefined();
    expect(doc.components.schemas.PrivacyRequest).toBeDefined();
  });
});
