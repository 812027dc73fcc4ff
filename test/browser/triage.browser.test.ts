import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserDesk, CHROMIUM, openBrowserDesk, signIn, submit } from './browser-desk.js';

/**
 * End to end in Chromium: a complaint the machine cannot decide arrives over real SMTP, lands in the triage
 * queue (nothing is dropped), and an analyst opens a case from it in the console under a clause they
 * choose. The queue is for staff only; the reports page shows what the complaint came to.
 */

function undecidableComplaint(): string {
  const when = new Date(Date.now() - 3600_000);
  return [
    'From: Jane Doe <jane@reporter.example>',
    'To: abuse@desk.example.net',
    'Subject: please make them stop',
    `Date: ${when.toUTCString()}`,
    'Message-ID: <triage-1@reporter.example>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello,',
    '',
    'someone who hosts with you keeps writing to our staff. It has gone on for a week and it is upsetting.',
    'Please make them stop.',
    '',
    'Jane',
    '',
  ].join('\r\n');
}

describe.skipIf(!existsSync(CHROMIUM))('triage in Chromium', () => {
  let desk: BrowserDesk;

  beforeAll(async () => {
    desk = await openBrowserDesk();
    await desk.sendComplaint(undecidableComplaint());
  }, 90_000);

  afterAll(async () => {
    await desk?.close();
  });

  it('an SMTP complaint no machine can decide waits in triage; the analyst opens a case from it', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/dashboard`);
    expect(await page.locator('#triage-open').textContent()).toBe('1');

    await page.goto(`${desk.url}/console/triage`);
    const rows = page.locator('table.triage tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-reason')).toBe('unparsed');
    await submit(page, rows.first().getByRole('link'));
    expect(await page.getByTestId('triage-reason').textContent()).toBe('unparsed');

    const form = page.locator('form#open-case');
    await form.getByLabel('Service').fill('vps-a');
    await form.getByLabel('Clause').fill('spam');
    await form
      .getByLabel('Reason')
      .fill('the reporter describes harassing mail from our customer; headers requested');
    await submit(page, form.getByRole('button', { name: 'Open case' }));
    expect(page.url()).toMatch(/\/console\/cases\/AUP-\d+$/);
    const caseRef = decodeURIComponent(page.url().split('/').pop()!);
    expect(await page.getByRole('heading', { level: 1 }).first().textContent()).toContain(caseRef);
    expect(await page.locator('body').textContent()).toContain(`opened under spam`);

    // Decided: the queue is empty, the decision is on record, the report shows where it went.
    await page.goto(`${desk.url}/console/triage`);
    expect(await page.locator('table.triage tbody tr').count()).toBe(0);
    await page.goto(`${desk.url}/console/triage?status=resolved`);
    expect(await page.locator('table.triage tbody tr').first().textContent()).toContain(
      'case-opened by analyst@desk.example.net',
    );
    await page.goto(`${desk.url}/console/reports?outcome=triage`);
    expect(await page.locator('table.reports tbody tr').count()).toBe(1);
    expect(await page.locator('table.reports tbody tr').first().textContent()).toContain('unparsed, triage');
    await page.close();
  });

  it('keeps the queue from customers', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'portal', 'ops@a.example');
    const res = await page.goto(`${desk.url}/console/triage`);
    expect(page.url()).not.toContain('/console/triage');
    expect(res?.status()).not.toBe(500);
    await page.close();
  });
});
