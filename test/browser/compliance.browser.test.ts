import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSanctionsList } from '../../src/compliance/sanctions/sanctions-repository.js';
import { type BrowserDesk, CHROMIUM, openBrowserDesk, signIn, submit, textOf } from './browser-desk.js';

/**
 * The compliance pages in a real browser against a real `aupdesk serve` on loopback: an analyst records a
 * vulnerability-test consent from the console and withdraws it; the customer whose service it covers sees
 * it in the portal, another customer does not.
 */
describe.skipIf(!existsSync(CHROMIUM))('compliance pages in Chromium', () => {
  let desk: BrowserDesk;

  beforeAll(async () => {
    desk = await openBrowserDesk();
  }, 120_000);
  afterAll(async () => {
    await desk?.close();
  });

  it('an analyst records a consent; a bad target is refused with the reason', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.getByRole('link', { name: 'Compliance' }).click();
    await page.waitForURL(`${desk.url}/console/compliance/consents`);
    expect(await textOf(page.locator('#consents tbody'))).toContain('No consent recorded');

    const form = page.locator('#record-consent');
    await form.getByLabel('Service').fill('vps-b');
    await form.getByLabel('Targets').fill('192.0.2.0/24, 2001:db8:77::/48');
    await form.getByLabel('Valid from').fill('2026-01-01');
    await form.getByLabel('Valid to').fill('2099-12-31');
    await form.getByLabel('Written consent').fill('SP-TICKET-4411 <b>signed</b>');
    await submit(page, form.getByRole('button', { name: 'Record' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('recorded for vps-b');
    const row = page.locator('#consents tbody tr').first();
    expect(await textOf(row)).toContain('192.0.2.0/24');
    expect(await textOf(row)).toContain('2001:db8:77::/48');
    // The reference is shown as text, never as markup.
    expect(await textOf(row)).toContain('SP-TICKET-4411 <b>signed</b>');
    expect(await textOf(row)).toContain('in force');

    await form.getByLabel('Service').fill('vps-b');
    await form.getByLabel('Targets').fill('192.0.2.1/24');
    await form.getByLabel('Valid from').fill('2026-01-01');
    await form.getByLabel('Valid to').fill('2026-01-02');
    await form.getByLabel('Written consent').fill('T2');
    await submit(page, form.getByRole('button', { name: 'Record' }));
    expect(await textOf(page.locator('.flash-error'))).toContain('host bits set');
    await page.close();
  });

  it('the customer sees the consent for its service in the portal; another customer does not', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'portal', 'ops@b.example');
    await page.getByRole('link', { name: 'Vulnerability tests' }).click();
    await page.waitForURL(`${desk.url}/portal/compliance/consents`);
    expect(await textOf(page.locator('#consents tbody'))).toContain('192.0.2.0/24');
    expect(await textOf(page.locator('#consents tbody'))).toContain('SP-TICKET-4411');

    await signIn(desk, page, 'portal', 'ops@a.example');
    await page.goto(`${desk.url}/portal/compliance/consents`);
    expect(await textOf(page.locator('#consents tbody'))).toContain('No consent on record');
    await page.close();
  });

  it('an analyst withdraws the consent with a reason', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/compliance/consents`);
    await page
      .getByLabel(/Reason to withdraw consent/)
      .first()
      .fill('the customer cancelled the test');
    await submit(page, page.getByRole('button', { name: 'Withdraw' }).first());
    expect(await textOf(page.locator('.flash-ok'))).toContain('withdrawn');
    expect(await textOf(page.locator('#consents tbody tr').first())).toContain('withdrawn');
    await page.close();
  });

  it('the waiver page refuses a waiver the policy does not provide for, saying why', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/compliance/consents`);
    await page.getByRole('link', { name: 'Policy waivers' }).click();
    await page.waitForURL(`${desk.url}/console/compliance/waivers`);
    expect(await textOf(page.locator('#waivers tbody'))).toContain('No waiver recorded');
    const form = page.locator('#record-waiver');
    await form.getByLabel('Customer').fill('cust-a');
    await form.getByLabel('Provider').fill('example');
    await form.getByLabel('Version').fill('1.0');
    await form.getByLabel('Reason').fill('severe effect on its business');
    await submit(page, form.getByRole('button', { name: 'Waive' }));
    // The browser desk's only policy version: a waiver would leave the customer bound by nothing.
    expect(await textOf(page.locator('.flash-error'))).toMatch(
      /does not provide for waivers|first example version/,
    );
    expect(await textOf(page.locator('#waivers tbody'))).toContain('No waiver recorded');
    await page.close();
  });

  it('an analyst confirms a possible sanctions match from the review page', async () => {
    // A list in the published layout naming one of the desk's customers (Beta Networks) and its alias.
    await importSanctionsList(
      desk.serve.store.db,
      {
        sdn: '20001,"BETA NETWORKS LLC",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n',
        alt: '20001,701,"aka","BETA NET <script>",-0- \n',
      },
      { at: new Date(), actor: 'system:test' },
    );
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/compliance/consents`);
    await page.getByRole('link', { name: 'Sanctions review' }).click();
    await page.waitForURL(`${desk.url}/console/compliance/sanctions`);
    const row = page.locator('#sanctions-matches tbody tr').first();
    expect(await textOf(row)).toContain('cust-b');
    expect(await textOf(row)).toContain('BETA NETWORKS LLC');
    await row.getByLabel(/Decision on match/).selectOption('confirmed');
    await row.getByLabel(/Note on match/).fill('same company, checked the registration');
    await submit(page, row.getByRole('button', { name: 'Decide' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('(cust-b, ent_num 20001) confirmed');
    expect(await textOf(page.locator('#sanctions-matches tbody'))).toContain('No open match');
    await page.close();
  });
});
