import { afterAll, beforeAll, expect, it } from 'vitest';
import { receiveChildDataRequest, recordBreach } from '../../src/compliance/privacy-request-repository.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { type Desk, openDesk, PageClient } from '../server/console/console-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * The console's privacy page: staff see the minor's-data requests (the requester's text as text) and the
 * breach records, complete one with the form (the requester's confirmation is queued), and customers never
 * see the page.
 */

describeEachBackend('console privacy page', (ctx) => {
  let desk: Desk;
  let ref: string;
  beforeAll(async () => {
    desk = await openDesk(ctx.store);
    const at = desk.clock.now();
    const record = await ctx.store.db.transaction().execute(async (trx) => {
      await recordBreach(trx, {
        breach: { summary: 'Backup exposed', discoveredAt: at },
        channel: 'api',
        actor: 'user:admin@desk.example.net',
      });
      return receiveChildDataRequest(
        trx,
        { policies: [] },
        {
          request: {
            requester: { name: 'Dana Parker', email: 'dana@home.example' },
            summary: 'My daughter <script>alert(1)</script> is 14; delete her account',
          },
          body: 'x',
          channel: 'api',
          receivedAt: at,
          actor: 'user:analyst@desk.example.net',
        },
      );
    });
    ref = record.ref;
  });
  afterAll(async () => {
    await desk?.close();
  });

  it('lists the requests for staff and completes one with the confirmation queued', async () => {
    const c = new PageClient(desk.app);
    await c.login('console', 'analyst@desk.example.net');
    const res = await c.get('/console/compliance/privacy');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(ref);
    expect(res.body).toContain('Backup exposed');
    expect(res.body).toContain('href="/console/compliance/waivers"');
    expect(res.body).not.toContain('<script>alert(1)');
    expect(res.body).toContain('&lt;script&gt;');
    const done = await c.post(`/console/compliance/privacy/${ref}/complete`, { note: 'account deleted' });
    expect(done.statusCode).toBe(303);
    const letters = await listActions(ctx.store.db, { kind: 'mail.correspondence' });
    expect(letters.map((a) => (a.payload as { to: string }).to)).toEqual(['dana@home.example']);
    const after = await c.get('/console/compliance/privacy');
    expect(after.body).toContain(`${ref} completed`);
  });

  it('keeps customers out', async () => {
    const customer = new PageClient(desk.app);
    await customer.login('portal', 'ops@a.example');
    const res = await customer.get('/console/compliance/privacy');
    expect(res.statusCode).toBe(303);
  });
});
