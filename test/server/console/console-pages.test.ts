import { afterAll, beforeAll, expect, it } from 'vitest';
import { getCase } from '../../../src/cases/case-repository.js';
import { listCaseMessages, listCaseNotes } from '../../../src/cases/message-repository.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type Desk, openDesk, PageClient } from './console-support.js';

/** The analyst console through app.inject(): sign-in, queue, case page, actions, CSRF, admin, assets. */

const HOSTILE_MARKUP = [
  /<script>window\.__pwned/,
  /<img src=x onerror/,
  /<svg onload/,
  /<iframe src="javascript/,
  /<\/pre><\/textarea><script>/,
];

describeEachBackend('analyst console', (ctx) => {
  let desk: Desk;
  beforeAll(async () => {
    desk = await openDesk(ctx.store);
  });
  afterAll(async () => {
    await desk?.close();
  });

  async function analyst() {
    const c = new PageClient(desk.app);
    const res = await c.login('console', 'analyst@desk.example.net');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console');
    return c;
  }

  it('sends anonymous visitors to the sign-in page and refuses a wrong password', async () => {
    const c = new PageClient(desk.app);
    const res = await c.get('/console');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/login');
    const bad = await c.login('console', 'analyst@desk.example.net', 'wrong password!!');
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('Wrong e-mail or password');
  });

  it('refuses a sign-in form post without the form token (login CSRF)', async () => {
    const c = new PageClient(desk.app);
    const res = await c.post(
      '/console/login',
      { email: 'analyst@desk.example.net', password: 'x' },
      { csrf: 'forged' },
    );
    expect(res.statusCode).toBe(403);
  });

  it('lists the cases in the queue with filters, search by source IP and sorting', async () => {
    const c = await analyst();
    const all = await c.get('/console');
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-security-policy']).toContain("script-src 'self'");
    expect(all.body).toContain(desk.hostileCase);
    expect(all.body).toContain(desk.otherCase);
    const byIp = await c.get('/console?q=203.0.113.9');
    expect(byIp.body).toContain(desk.otherCase);
    expect(byIp.body).not.toContain(`>${desk.hostileCase}<`);
    const byCustomer = await c.get('/console?customer=cust-a');
    expect(byCustomer.body).toContain(desk.hostileCase);
    expect(byCustomer.body).not.toContain(`>${desk.otherCase}<`);
    const responded = await c.get('/console?responded=1');
    expect(responded.body).toContain('No case matches these filters.');
    const sorted = await c.get('/console?sort=due&dir=asc');
    expect(sorted.statusCode).toBe(200);
    const bad = await c.get('/console?sort=nonsense');
    expect(bad.statusCode).toBe(400);
    // Malformed ids and references are "no such page", never a server error.
    expect((await c.get(`/console/cases/${'A'.repeat(60)}`)).statusCode).toBe(404);
    expect((await c.get('/console/cases/AUP-1/evidence/x/raw')).statusCode).toBe(404);
    expect((await c.get('/console/customers/-1')).statusCode).toBe(404);
  });

  it('shows hostile complaint content as inert text on the case page', async () => {
    const c = await analyst();
    const res = await c.get(`/console/cases/${desk.hostileCase}`);
    expect(res.statusCode).toBe(200);
    for (const pattern of HOSTILE_MARKUP) expect(res.body).not.toMatch(pattern);
    // The content is there, escaped: subject, headers, body, HTML part source, attachment name.
    expect(res.body).toContain('&lt;script&gt;window.__pwned=&quot;subject&quot;&lt;/script&gt;');
    expect(res.body).toContain('&lt;svg onload=');
    expect(res.body).toContain('&lt;/pre&gt;&lt;/textarea&gt;&lt;script&gt;alert(');
    expect(res.body).toContain('window.__pwned=&quot;html&quot;');
    expect(res.body).toMatch(/&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;\.html/);
    // The only scripts on the page are ours.
    const scripts = [...res.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts).toEqual(['<script src="/assets/app.js" defer>']);
  });

  it('shows the clause, the binding policy version and the ladder with the step waiting for approval', async () => {
    const c = await analyst();
    const res = await c.get(`/console/cases/${desk.hostileCase}`);
    expect(res.body).toContain('AUP version <strong>1.0</strong>');
    expect(res.body).toContain('<strong>spam</strong> — Spam');
    expect(res.body).toMatch(/notice: notify.*waiting for approval/);
    expect(res.body).toContain('Approve "notice" (notify)');
    // The event that opened the case, in the timeline.
    expect(res.body).toMatch(
      /Event <strong>#\d+<\/strong> of report #\d+: violation \(spam\) opened the case/,
    );
  });

  it('downloads evidence and attachments as opaque files, only for the case they belong to', async () => {
    const c = await analyst();
    const page = await c.get(`/console/cases/${desk.hostileCase}`);
    const raw = /href="(\/console\/cases\/[^"]+\/evidence\/\d+\/raw)"/.exec(page.body)?.[1];
    expect(raw).toBeDefined();
    const file = await c.get(raw!);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(String(file.headers['content-disposition'])).toMatch(/^attachment; filename="report-\d+\.eml"/);
    expect(file.body).toContain('Message-ID: <hostile-1@evil.example>');
    const attachment = await c.get(raw!.replace(/\/raw$/, '/attachments/0'));
    expect(attachment.statusCode).toBe(200);
    expect(attachment.headers['content-type']).toBe('application/octet-stream');
    expect(String(attachment.headers['content-disposition'])).not.toMatch(/[<>]/);
    expect(attachment.body).toContain('window.__pwned="attachment"');
    // The same report through another case is refused.
    const elsewhere = await c.get(raw!.replace(desk.hostileCase, desk.otherCase));
    expect(elsewhere.statusCode).toBe(404);
  });

  it('sends the notice, refuses a suspension without confirmation, then suspends with it', async () => {
    const c = await analyst();
    await c.get(`/console/cases/${desk.hostileCase}`);
    const notice = await c.follow(
      await c.post(`/console/cases/${desk.hostileCase}/actions`, { action: 'send-notice' }),
    );
    expect(notice.body).toContain('notice requested');
    let record = await getCase(ctx.store.db, desk.hostileCase);
    expect(record?.state.noticeGivenAt).toBeDefined();
    expect((await listCaseMessages(ctx.store.db, record!.id)).some((m) => m.kind === 'notice')).toBe(true);

    const refused = await c.follow(
      await c.post(`/console/cases/${desk.hostileCase}/actions`, { action: 'suspend' }),
    );
    expect(refused.body).toContain('tick the confirmation box');
    expect((await getCase(ctx.store.db, desk.hostileCase))?.status).not.toBe('suspended');

    const done = await c.follow(
      await c.post(`/console/cases/${desk.hostileCase}/actions`, { action: 'suspend', confirm: 'yes' }),
    );
    expect(done.body).toContain('suspension requested');
    record = await getCase(ctx.store.db, desk.hostileCase);
    expect(record?.status).toBe('suspended');
    expect(done.body).toContain('Reinstate service');
  });

  it('refuses every form post without the session CSRF token', async () => {
    const c = await analyst();
    await c.get(`/console/cases/${desk.otherCase}`);
    const before = await listCaseNotes(ctx.store.db, (await getCase(ctx.store.db, desk.otherCase))!.id);
    const res = await c.post(
      `/console/cases/${desk.otherCase}/actions`,
      { action: 'add-note', text: 'forged' },
      { csrf: null },
    );
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toContain('text/html');
    const wrong = await c.post(
      `/console/cases/${desk.otherCase}/actions`,
      { action: 'add-note', text: 'forged' },
      { csrf: 'x'.repeat(43) },
    );
    expect(wrong.statusCode).toBe(403);
    const after = await listCaseNotes(ctx.store.db, (await getCase(ctx.store.db, desk.otherCase))!.id);
    expect(after.length).toBe(before.length);
    const ok = await c.post(`/console/cases/${desk.otherCase}/actions`, {
      action: 'add-note',
      text: 'called the customer <b>today</b>',
    });
    expect(ok.statusCode).toBe(303);
    const page = await c.get(`/console/cases/${desk.otherCase}`);
    expect(page.body).toContain('called the customer &lt;b&gt;today&lt;/b&gt;');
  });

  it('assigns and holds cases in bulk', async () => {
    const c = await analyst();
    await c.get('/console');
    const res = await c.follow(
      await c.post('/console/cases/bulk', {
        action: 'assign',
        assignee: 'analyst@desk.example.net',
        case: [desk.otherCase],
      }),
    );
    expect(res.body).toContain('assign: 1 done');
    expect((await getCase(ctx.store.db, desk.otherCase))?.assignedTo).toBe('analyst@desk.example.net');
    const held = await c.follow(
      await c.post('/console/cases/bulk', { action: 'hold', case: [desk.otherCase, 'AUP-999999'] }),
    );
    expect(held.body).toContain('hold: 1 done; 1 failed');
    expect((await getCase(ctx.store.db, desk.otherCase))?.status).toBe('on-hold');
  });

  it('shows customer, service and reporter pages and the dashboard', async () => {
    const c = await analyst();
    const record = await getCase(ctx.store.db, desk.otherCase);
    const customer = await c.get(`/console/customers/${record!.customerId}`);
    expect(customer.body).toContain('Beta Networks');
    expect(customer.body).toContain('203.0.113.0/24');
    expect(customer.body).toContain(desk.otherCase);
    const service = await c.get(`/console/services/${record!.serviceId}`);
    expect(service.body).toContain('vps-b');
    const reporters = await c.get('/console/reporters');
    expect(reporters.body).toContain('bob@reporter.example');
    const reporter = await c.get('/console/reporters/view?email=bob%40reporter.example');
    expect(reporter.body).toContain(desk.otherCase);
    const dash = await c.get('/console/dashboard');
    expect(dash.statusCode).toBe(200);
    expect(dash.body).toContain('Events per day by classification');
    expect(dash.body).toContain('abusive-content/spam');
    expect(dash.body).toContain('<script src="/assets/chart.umd.min.js" defer>');
    expect(dash.body).toMatch(/<script type="application\/json" id="events-data">\{/);
  });

  it('serves the stylesheet, scripts and the bundled chart library itself', async () => {
    const css = await desk.app.inject({ url: '/assets/app.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
    const chart = await desk.app.inject({ url: '/assets/chart.umd.min.js' });
    expect(chart.statusCode).toBe(200);
    expect(chart.body.length).toBeGreaterThan(100_000);
    const again = await desk.app.inject({
      url: '/assets/app.js',
      headers: { 'if-none-match': String(chart.headers.etag) },
    });
    expect(again.statusCode).toBe(200);
    expect((await desk.app.inject({ url: '/assets/..%2Fpackage.json' })).statusCode).toBe(404);
  });

  it('keeps admin pages to admins and shows the policy diff before publishing', async () => {
    const a = await analyst();
    expect((await a.get('/console/admin/users')).statusCode).toBe(403);
    const admin = new PageClient(desk.app);
    await admin.login('console', 'admin@desk.example.net');
    const users = await admin.get('/console/admin/users');
    expect(users.body).toContain('ops@a.example');
    const keys = await admin.get('/console/admin/apikeys');
    expect(keys.statusCode).toBe(200);
    const created = await admin.post('/console/admin/apikeys', {
      name: 'billing bot',
      role: 'analyst',
      customer: '',
    });
    expect(created.body).toMatch(/id="new-key">aupk_[A-Za-z0-9_-]{43}</);
    const policies = await admin.get('/console/admin/policies');
    expect(policies.body).toContain('example');
    const { stringify } = await import('yaml');
    const { consolePolicy } = await import('./console-support.js');
    const next = {
      ...consolePolicy(),
      version: '1.1',
      published_at: '2026-03-01T00:00:00Z',
      effective_at: '2026-03-02T00:00:00Z',
    };
    next.terms = { ...next.terms, enforcement: { ...next.terms.enforcement, cure_period: 'P1D' } };
    const preview = await admin.post('/console/admin/policies/preview', { source: stringify(next) });
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toContain('Changes from 1.0 to 1.1');
    expect(preview.body).toContain('terms.enforcement.cure_period');
    const unconfirmed = await admin.post('/console/admin/policies/publish', { source: stringify(next) });
    expect(unconfirmed.statusCode).toBe(400);
    const published = await admin.follow(
      await admin.post('/console/admin/policies/publish', { source: stringify(next), confirm: 'yes' }),
    );
    expect(published.body).toContain('example 1.1: published');
    const prov = await admin.get('/console/admin/provisioning');
    expect(prov.body).toContain('provision.suspend');
  });
});
