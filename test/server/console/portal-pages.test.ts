import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../../src/accounts/api-key-repository.js';
import { getCase } from '../../../src/cases/case-repository.js';
import { listCaseMessages } from '../../../src/cases/message-repository.js';
import { sendNotice } from '../../../src/enforcement/commands/send-notice.js';
import { loadPolicyHistoryFromStore } from '../../../src/policy/policy-repository.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type Desk, openDesk, PageClient } from './console-support.js';

/**
 * The customer portal through app.inject(): a customer sees and answers only its own cases; every attempt
 * at another customer's case (reading, replying, marking cured, downloading evidence) answers 404 and
 * changes nothing.
 */

describeEachBackend('customer portal', (ctx) => {
  let desk: Desk;
  beforeAll(async () => {
    desk = await openDesk(ctx.store);
    // The desk sends the notice on the hostile case (cust-a), as an analyst would.
    const enforcement = {
      db: ctx.store.db,
      policies: [await loadPolicyHistoryFromStore(ctx.store.db, 'example')],
      clock: desk.clock,
      messageIdDomain: 'desk.example.net',
    };
    await sendNotice(enforcement, { caseRef: desk.hostileCase, analyst: 'analyst@desk.example.net' });
  });
  afterAll(async () => {
    await desk?.close();
  });

  async function customer(email: string) {
    const c = new PageClient(desk.app);
    const res = await c.login('portal', email);
    expect(res.statusCode).toBe(303);
    await c.get('/portal');
    return c;
  }

  it('shows a customer its own cases and notices only', async () => {
    const a = await customer('ops@a.example');
    const home = await a.get('/portal');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain(desk.hostileCase);
    expect(home.body).not.toContain(desk.otherCase);
    expect(home.body).toContain('Notices sent to you');
    expect(home.body).toMatch(/\[AUP-\d+\]/);
  });

  it('shows the clause, the deadline and the complaint with the reporter redacted, inert', async () => {
    const a = await customer('ops@a.example');
    const page = await a.get(`/portal/cases/${desk.hostileCase}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('No unsolicited bulk email.');
    expect(page.body).toMatch(/id="deadline"><span class="due/);
    expect(page.body).not.toContain('attacker@evil.example');
    expect(page.body).toContain('[redacted]');
    expect(page.body).not.toMatch(/<script>window\.__pwned|<img src=x onerror/);
    expect(page.body).toContain('&lt;script&gt;window.__pwned=&quot;body&quot;&lt;/script&gt;');
    // Raw headers and downloads are for the desk, not the customer.
    expect(page.body).not.toContain('X-Evil');
    expect(page.body).not.toContain('/raw"');
  });

  it("refuses another customer's case: reading, replying, marking cured", async () => {
    const b = await customer('ops@b.example');
    const read = await b.get(`/portal/cases/${desk.hostileCase}`);
    expect(read.statusCode).toBe(404);
    expect(read.body).not.toContain('spam from 198.51.100.7');
    const missing = await b.get('/portal/cases/AUP-999999');
    expect(missing.statusCode).toBe(404);
    expect(read.body.replace(/AUP-\d+/g, '')).toBe(missing.body.replace(/AUP-\d+/g, ''));
    const record = (await getCase(ctx.store.db, desk.hostileCase))!;
    const before = (await listCaseMessages(ctx.store.db, record.id)).length;
    expect((await b.post(`/portal/cases/${desk.hostileCase}/reply`, { text: 'not mine' })).statusCode).toBe(
      404,
    );
    expect((await b.post(`/portal/cases/${desk.hostileCase}/cured`, { text: 'fixed' })).statusCode).toBe(404);
    expect((await listCaseMessages(ctx.store.db, record.id)).length).toBe(before);
    expect((await getCase(ctx.store.db, desk.hostileCase))!.status).toBe(record.status);
    // The console is not for customers, and evidence URLs of the console refuse them too.
    const console = await b.get('/console');
    expect(console.statusCode).toBe(303);
    expect(console.headers.location).toBe('/portal');
    const consoleCase = await b.get(`/console/cases/${desk.hostileCase}`);
    expect(consoleCase.statusCode).toBe(303);
    expect(consoleCase.headers.location).toBe('/portal');
    expect(consoleCase.body).not.toContain('spam');
    const consolePost = await b.post(`/console/cases/${desk.hostileCase}/actions`, {
      action: 'add-note',
      text: 'x',
    });
    expect(consolePost.statusCode).toBe(403);
  });

  it('records a reply and a cure claim for review, with the session CSRF token only', async () => {
    const a = await customer('ops@a.example');
    await a.get(`/portal/cases/${desk.hostileCase}`);
    const forged = await a.post(
      `/portal/cases/${desk.hostileCase}/reply`,
      { text: 'forged' },
      { csrf: null },
    );
    expect(forged.statusCode).toBe(403);
    const reply = await a.follow(
      await a.post(`/portal/cases/${desk.hostileCase}/reply`, { text: 'We are looking into it <b>now</b>.' }),
    );
    expect(reply.body).toContain('Your reply was sent');
    expect(reply.body).toContain('We are looking into it &lt;b&gt;now&lt;/b&gt;.');
    expect((await getCase(ctx.store.db, desk.hostileCase))!.status).toBe('customer-responded');
    const cured = await a.follow(
      await a.post(`/portal/cases/${desk.hostileCase}/cured`, { text: 'Closed the compromised mailbox.' }),
    );
    expect(cured.body).toContain('will review your fix');
    const record = (await getCase(ctx.store.db, desk.hostileCase))!;
    const replies = (await listCaseMessages(ctx.store.db, record.id)).filter((m) => m.direction === 'in');
    expect(replies.map((m) => m.subject)).toEqual([
      `[${record.ref}] Reply from the customer portal`,
      `[${record.ref}] Fixed: please review`,
    ]);
    expect(replies.every((m) => m.sender === 'ops@a.example')).toBe(true);
  });

  it('lets a customer accept the published policy version', async () => {
    const a = await customer('ops@a.example');
    const page = await a.get('/portal/policy');
    expect(page.body).toContain('Accept version 1.0');
    const done = await a.follow(
      await a.post('/portal/policy/accept', { provider: 'example', version: '1.0', confirm: 'yes' }),
    );
    expect(done.body).toContain('You accepted version 1.0');
    const row = await ctx.store.db
      .selectFrom('customers')
      .select(['accepted_policy_version'])
      .where('ref', '=', 'cust-a')
      .executeTakeFirst();
    expect(row?.accepted_policy_version).toBe('1.0');
    expect(
      (await a.post('/portal/policy/accept', { provider: 'example', version: '9.9', confirm: 'yes' }))
        .statusCode,
    ).toBe(404);
  });

  it("does not open pages for an API key, even a customer's", async () => {
    const customerId = (
      await ctx.store.db
        .selectFrom('customers')
        .select('id')
        .where('ref', '=', 'cust-a')
        .executeTakeFirstOrThrow()
    ).id;
    const { key } = await createApiKey(ctx.store.db, {
      name: 'bot',
      role: 'customer',
      customerId,
      now: desk.clock.now(),
    });
    const res = await desk.app.inject({ url: '/portal', headers: { authorization: `Bearer ${key}` } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/portal/login');
  });
});
