import { afterAll, beforeAll, expect, it } from 'vitest';
import { acceptReport } from '../../../src/intake/inbox/inbox-accept.js';
import { createMetrics } from '../../../src/server/plugins/metrics-plugin.js';
import { registerDeskMetrics } from '../../../src/server/serve-metrics.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type Desk, openDesk, PageClient } from './console-support.js';

/**
 * The console's triage, reports and "open a case" pages through app.inject(), for each role: staff work
 * them (a failed intake item retried from the queue, a case opened by hand), customers and visitors never
 * see them.
 */

describeEachBackend('console triage and reports pages by role', (ctx) => {
  let desk: Desk;
  let inboxId: string;
  beforeAll(async () => {
    desk = await openDesk(ctx.store);
    const accepted = await acceptReport(
      { db: ctx.store.db, evidence: desk.evidence },
      {
        bytes: new TextEncoder().encode('Subject: x\r\n\r\nbroken'),
        channel: 'smtp',
        receivedAt: desk.clock.now(),
      },
    );
    inboxId = accepted.inboxId;
    // Stands for an item whose processing failed five times.
    await ctx.store.db
      .updateTable('intake_inbox')
      .set({
        status: 'failed',
        attempts: 5,
        last_error: 'parser crashed on part 2',
        processed_at: desk.clock.now(),
      })
      .where('id', '=', inboxId)
      .execute();
  });
  afterAll(async () => {
    await desk?.close();
  });

  it('keeps anonymous visitors and customers out of the triage, reports and new-case pages', async () => {
    for (const url of ['/console/triage', '/console/reports', '/console/cases/new']) {
      const anonymous = await new PageClient(desk.app).get(url);
      expect(anonymous.statusCode, url).toBe(303);
      expect(anonymous.headers.location).toBe('/console/login');
      const customer = new PageClient(desk.app);
      await customer.login('portal', 'ops@a.example');
      const res = await customer.get(url);
      expect(res.statusCode, url).toBe(303);
      expect(String(res.headers.location)).not.toContain('/console/triage');
    }
  });

  for (const email of ['analyst@desk.example.net', 'admin@desk.example.net']) {
    it(`shows ${email.split('@')[0]} the queue, oldest first, with the failed intake item`, async () => {
      const c = new PageClient(desk.app);
      await c.login('console', email);
      const page = await c.get('/console/triage');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('data-reason="failed"');
      expect(page.body).toContain('parser crashed on part 2');
      const reports = await c.get('/console/reports?outcome=failed');
      expect(reports.statusCode).toBe(200);
      expect(reports.body).toContain(`/console/reports/${inboxId}`);
      expect((await c.get('/console/cases/new')).statusCode).toBe(200);
    });
  }

  it('counts the queue and its age in /metrics, and states the providers served on the admin page', async () => {
    const metrics = createMetrics();
    registerDeskMetrics(metrics, ctx.store.db);
    const text = await metrics.registry.metrics();
    expect(text).toContain('aupdesk_triage_items{reason="failed"} 1');
    expect(text).toMatch(/aupdesk_triage_oldest_age_seconds \d+/);
    const admin = new PageClient(desk.app);
    await admin.login('console', 'admin@desk.example.net');
    const policies = await admin.get('/console/admin/policies');
    expect(policies.body).toContain('serves every published provider');
  });

  it('an analyst retries the failed item from its page (CSRF-checked) and opens a case by hand', async () => {
    const c = new PageClient(desk.app);
    await c.login('console', 'analyst@desk.example.net');
    const list = await c.get('/console/triage');
    const id = /href="\/console\/triage\/(\d+)"/.exec(list.body)?.[1];
    expect(id).toBeDefined();
    const item = await c.get(`/console/triage/${id}`);
    expect(item.body).toContain('Process again');
    expect((await c.post(`/console/triage/${id}/retry`, {}, { csrf: null })).statusCode).toBe(403);
    const retried = await c.post(`/console/triage/${id}/retry`, {});
    expect(retried.statusCode).toBe(303);
    expect(retried.headers.location).toBe('/console/triage');
    const row = await ctx.store.db
      .selectFrom('intake_inbox')
      .select('status')
      .where('id', '=', inboxId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
    const again = await c.post(`/console/triage/${id}/retry`, {});
    expect(again.headers.location).toBe(`/console/triage/${id}`);

    await c.get('/console/cases/new');
    const opened = await c.post('/console/cases/new', {
      service: 'vps-b',
      clause: 'ddos',
      reason: 'flood seen on our own NetFlow',
    });
    expect(opened.statusCode).toBe(303);
    expect(String(opened.headers.location)).toMatch(/^\/console\/cases\/AUP-\d+$/);
    const wrong = await c.post('/console/cases/new', { service: 'vps-b', clause: 'nope', reason: 'x' });
    expect(wrong.headers.location).toBe('/console/cases/new');
    const shown = await c.get('/console/cases/new');
    expect(shown.body).toContain('clause nope is not in');
  });
});
