import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_EML } from '../server/console/console-support.js';
import {
  type BrowserDesk,
  CHROMIUM,
  ddosComplaint,
  openBrowserDesk,
  signIn,
  spamComplaint,
  submit,
  textOf,
} from './browser-desk.js';

/**
 * The people's side in a real browser against a real `aupdesk serve` on loopback: complaints arrive over
 * SMTP; an analyst finds the case, sends the notice and suspends the service; the customer sees the
 * notice, replies and marks it cured; the hostile complaint runs no script anywhere; another customer's
 * case is refused. With AUPDESK_SCREENSHOTS=1 (`npm run screenshots`) the pages are saved under
 * docs/screenshots/.
 */

/** Page-side expressions (strings: the test code is compiled without the DOM library). */
const OPEN_DETAILS = "document.querySelectorAll('details').forEach((d) => { d.open = true; })";
/** Set by every payload of the hostile fixture if it ever runs. */
const PWNED = 'window.__pwned';

const SCREENSHOTS = process.env.AUPDESK_SCREENSHOTS === '1';
const SHOTS_DIR = new URL('../../docs/screenshots/', import.meta.url);

describe.skipIf(!existsSync(CHROMIUM))('console and portal in Chromium', () => {
  let desk: BrowserDesk;
  const dialogs: string[] = [];

  beforeAll(async () => {
    desk = await openBrowserDesk();
    await desk.sendComplaint(
      spamComplaint({
        ip: '198.51.100.7',
        from: 'spam-desk@reporter.example',
        messageId: 'c1@reporter.example',
      }),
    );
    await desk.sendComplaint(
      spamComplaint({
        ip: '203.0.113.9',
        from: 'spam-desk@reporter.example',
        messageId: 'c2@reporter.example',
      }),
    );
    // The fixture is dated 1 March 2026; re-dated to an hour ago so the policy's age limit keeps it.
    const hourAgo = new Date(Date.now() - 3600_000);
    await desk.sendComplaint(
      HOSTILE_EML.toString('utf8')
        .replace('Sun, 01 Mar 2026 11:00:00 +0000', hourAgo.toUTCString())
        .replace('2026-03-01 10:00 UTC', `${hourAgo.toISOString().slice(0, 16).replace('T', ' ')} UTC`),
    );
    if (SCREENSHOTS) {
      await mkdir(SHOTS_DIR, { recursive: true });
      // A fuller desk for the pictures: more services, another clause, other reporters.
      await desk.sendComplaint(
        spamComplaint({
          ip: '198.51.100.200',
          from: 'postmaster@mail.example',
          messageId: 's1@mail.example',
        }),
      );
      await desk.sendComplaint(
        ddosComplaint({ ip: '203.0.113.140', from: 'noc@isp.example', messageId: 's2@isp.example' }),
      );
      await desk.sendComplaint(
        spamComplaint({
          ip: '203.0.113.140',
          from: 'abuse@blocklist.example',
          messageId: 's3@blocklist.example',
        }),
      );
    }
  }, 90_000);

  afterAll(async () => {
    await desk?.close();
  });

  async function newPage(): Promise<Page> {
    const page = await desk.browser.newPage();
    // Confirmation dialogs of our own forms are accepted; any other dialog would be injected script.
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void (dialog.type() === 'confirm' ? dialog.accept() : dialog.dismiss());
    });
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: new URL(name, SHOTS_DIR).pathname, fullPage: false });
  }

  let caseRef = '';

  it("an analyst finds the SMTP complaint's case, sends the notice and suspends the service", async () => {
    const page = await newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    // Two complaints name vps-a under the same clause and join one case; one names vps-b.
    const queued = await page.locator('table.queue tbody tr').count();
    if (SCREENSHOTS) expect(queued).toBeGreaterThan(2);
    else expect(queued).toBe(2);
    await shot(page, 'console-queue.png');
    // Search by the offending address, then open the case with the keyboard.
    await page.keyboard.press('/');
    await page.keyboard.type('198.51.100.7');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=198\.51\.100\.7/);
    const rows = page.locator('table.queue tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(1);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('j');
    await page.keyboard.press('o');
    await page.waitForURL(/\/console\/cases\/AUP-\d+$/);
    caseRef = decodeURIComponent(page.url().split('/').pop()!);
    expect(await textOf(page.getByRole('heading', { level: 1 }))).toContain(caseRef);
    await page.getByText('waiting for approval').first().waitFor({ state: 'visible', timeout: 10_000 });

    await submit(page, page.getByRole('button', { name: /^Approve "notice"/ }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('step approved');
    expect(await textOf(page.locator('h1 .badge').first())).toContain('awaiting cure');
    await shot(page, 'console-case.png');

    await page.getByLabel(/I confirm: suspend service vps-a/).check();
    await submit(page, page.getByRole('button', { name: 'Suspend service' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('suspension requested');
    expect(await textOf(page.locator('h1 .badge').first())).toContain('suspended');
    expect(dialogs.some((d) => d.startsWith('confirm: suspend service vps-a'))).toBe(true);
    await page.close();
  });

  it('the customer sees its notice, replies and marks the case cured', async () => {
    const page = await newPage();
    await signIn(desk, page, 'portal', 'ops@a.example');
    await page
      .getByRole('heading', { name: 'Notices sent to you' })
      .first()
      .waitFor({ state: 'visible', timeout: 10_000 });
    expect(await textOf(page.locator('#notices-h + ul li').first())).toContain(caseRef);
    await shot(page, 'portal-home.png');
    await page.getByRole('link', { name: caseRef }).first().click();
    await page.waitForURL(new RegExp(`/portal/cases/${caseRef}$`));
    await page.getByText('From the abuse desk').first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.getByLabel('Your reply').fill('We found a compromised mailbox and are cleaning up.');
    await submit(page, page.getByRole('button', { name: 'Send reply' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('Your reply was sent');
    await page.getByLabel('What did you fix?').fill('Mailbox closed, password reset, queue purged.');
    await submit(page, page.getByRole('button', { name: 'Mark as cured (for review)' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('will review your fix');
    expect(await textOf(page.locator('h1 .badge'))).toContain('customer responded');
    await shot(page, 'portal-case.png');
    await page.close();
  });

  it('renders the hostile complaint inert in the queue, the case page, the dashboard and the portal', async () => {
    const page = await newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console?q=cust-a`);
    const links = await page.locator('table.queue a[data-open]').allTextContents();
    for (const ref of links) {
      await page.goto(`${desk.url}/console/cases/${ref}`);
      await page.evaluate(OPEN_DETAILS);
    }
    const hostile = page.locator('.evidence-item', { hasText: 'window.__pwned="subject"' });
    await page.goto(`${desk.url}/console?q=198.51.100.7`);
    for (const ref of await page.locator('table.queue a[data-open]').allTextContents()) {
      await page.goto(`${desk.url}/console/cases/${ref}`);
      if ((await hostile.count()) > 0) break;
    }
    await hostile.first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.evaluate(OPEN_DETAILS);
    expect(await textOf(hostile.first().locator('pre.headers'))).toContain('<svg onload=');
    expect(await textOf(hostile.first().locator('.attachments'))).toContain(
      '"><img src=x onerror=alert(1)>.html',
    );
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(PWNED)).toBeUndefined();

    await page.goto(`${desk.url}/console/dashboard`);
    await page.locator('canvas').first().waitFor({ state: 'visible', timeout: 10_000 });
    // The chart library loaded from /assets and drew every chart.
    await page.waitForFunction(
      "typeof window.Chart !== 'undefined' && Object.keys(window.Chart.instances).length === 4",
    );
    await shot(page, 'console-dashboard.png');
    expect(await page.evaluate(PWNED)).toBeUndefined();

    await signIn(desk, page, 'portal', 'ops@a.example');
    await page.goto(`${desk.url}/portal`);
    for (const ref of await page.locator('#cases-h ~ table a').allTextContents()) {
      await page.goto(`${desk.url}/portal/cases/${ref}`);
      expect(await page.evaluate(PWNED)).toBeUndefined();
    }
    expect(dialogs.filter((d) => !d.startsWith('confirm:'))).toEqual([]);
    await page.close();
  });

  it("refuses another customer's case", async () => {
    const page = await newPage();
    await signIn(desk, page, 'portal', 'ops@b.example');
    const res = await page.goto(`${desk.url}/portal/cases/${caseRef}`);
    expect(res?.status()).toBe(404);
    expect((await textOf(page.getByRole('heading', { level: 1 }))).trim()).toBe('Not found');
    expect(await textOf(page.locator('body'))).not.toContain('198.51.100.7');
    // At phone width the portal still works: the home page lists cust-b's own case only.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${desk.url}/portal`);
    expect(await textOf(page.locator('body'))).not.toContain(caseRef);
    await shot(page, 'portal-phone.png');
    await page.close();
  });
});
