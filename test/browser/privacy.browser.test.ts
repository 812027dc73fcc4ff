import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserDesk,
  CHROMIUM,
  openBrowserDesk,
  shoot,
  signIn,
  submit,
  textOf,
} from './browser-desk.js';

/**
 * The children's-data workflow (INFINCE) in a real browser against a real `aupdesk serve` on the INFINCE
 * seed policy: a parent asks on the public `/privacy` form that a child's data be deleted and is given the
 * request's reference; an analyst finds it on the console's privacy page and completes it (the requester's
 * confirmation is queued); an analyst records a data breach there and completes it once the regulator was
 * told. With AUPDESK_SCREENSHOTS=1 the pages are saved under docs/screenshots/.
 */
const DETAILS =
  'My son Sam (14) opened the account sam-games <script>window.__pwned=1</script>; delete his data.';

describe.skipIf(!existsSync(CHROMIUM))('privacy pages in Chromium (INFINCE)', () => {
  let desk: BrowserDesk;

  beforeAll(async () => {
    desk = await openBrowserDesk({ seedPolicy: 'infince' });
  }, 120_000);
  afterAll(async () => {
    await desk?.close();
  });

  const requests = () =>
    desk.serve.store.db.selectFrom('privacy_requests').selectAll().orderBy('id').execute();

  it("a parent asks on /privacy to delete a child's data and is given the request's reference", async () => {
    // The backend under test: PostgreSQL when DATABASE_URL is set (browser-desk.ts).
    expect(desk.serve.store.kind).toBe(process.env.DATABASE_URL ? 'postgres' : 'pglite');
    const page = await desk.browser.newPage();
    await page.goto(`${desk.url}/privacy`);
    expect(await textOf(page.locator('h1'))).toBe("Children's personal information");
    expect(await textOf(page.locator('blockquote'))).toContain('such information is deleted');

    // Sent empty: every missing field is named, nothing is recorded.
    await submit(page, page.getByRole('button', { name: 'Send the deletion request' }));
    const refused = await textOf(page.locator('[role=alert]'));
    expect(refused).toContain('give your name');
    expect(refused).toContain('give an e-mail address we can answer');
    expect(refused).toContain('say whose information it is');
    await shoot(page, 'public-privacy-form.png');

    await page.getByLabel(/Your name/).fill('Pat Parent');
    await page.getByLabel(/Your email/).fill('pat@parent.example');
    await page.getByLabel(/Whose information/).fill(DETAILS);
    await submit(page, page.getByRole('button', { name: 'Send the deletion request' }));
    expect(page.url()).toMatch(/\/report\/status\/\d+-/);
    // Pending or already recorded (the desk's worker polls): a request either way, never a complaint.
    expect(await textOf(page.locator('main'))).toMatch(/Your request (was received and stored|to delete)/);
    await desk.serve.runOnce();
    await page.reload();
    const confirmed = await textOf(page.locator('main'));
    expect(await textOf(page.locator('.request-ref'))).toBe('PRIV-000001');
    expect(confirmed).toContain("Your request to delete a child's personal information");
    expect(confirmed).toContain('confirm it to you by e-mail');
    expect(confirmed).not.toContain('No case was opened');
    await shoot(page, 'public-privacy-recorded.png');

    const [row] = await requests();
    expect(row).toMatchObject({
      kind: 'child-data-deletion',
      status: 'open',
      channel: 'form',
      requester_name: 'Pat Parent',
      requester_email: 'pat@parent.example',
    });
    // INFINCE's "immediately", read as one day.
    expect(row!.due_at!.getTime() - row!.received_at.getTime()).toBe(86_400_000);
    await page.close();
  });

  it('the analyst completes the request on the console page; the confirmation to the parent is queued', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.getByRole('link', { name: 'Compliance' }).click();
    await page.waitForURL(`${desk.url}/console/compliance/consents`);
    await page.getByRole('link', { name: 'Privacy requests' }).click();
    await page.waitForURL(`${desk.url}/console/compliance/privacy`);
    const row = page.locator('tr#PRIV-000001');
    const listed = await textOf(row);
    expect(listed).toContain('child-data-deletion');
    expect(listed).toContain('open');
    expect(listed).toContain('Pat Parent <pat@parent.example>');
    // The requester's text is shown as text: the script tag is visible, never run.
    expect(listed).toContain('<script>window.__pwned=1</script>');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();

    await row.getByLabel('What was deleted').fill('account sam-games and its backups');
    await submit(page, row.getByRole('button', { name: 'Complete' }));
    expect(await textOf(page.locator('.flash-ok'))).toBe(
      'PRIV-000001 completed; the requester is mailed a confirmation.',
    );
    expect(await textOf(page.locator('tr#PRIV-000001'))).toContain('completed');
    expect(await page.locator('tr#PRIV-000001').getByRole('button', { name: 'Complete' }).count()).toBe(0);
    await shoot(page, 'console-privacy.png');

    const [done] = await requests();
    expect(done).toMatchObject({
      status: 'completed',
      completion_note: 'account sam-games and its backups',
      completed_by: expect.stringContaining('analyst@desk.example.net'),
    });
    const mail = await desk.serve.store.db
      .selectFrom('outbox_actions')
      .select(['kind', 'payload'])
      .where('kind', '=', 'mail.correspondence')
      .execute();
    expect(mail).toHaveLength(1);
    expect(mail[0]!.payload).toMatchObject({
      to: 'pat@parent.example',
      letter: 'privacy.deletion-confirmed',
      subject: expect.stringContaining('[PRIV-000001]'),
    });
    await page.close();
  });

  it('an analyst records a breach, and completes it only once the regulator was told', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/compliance/privacy`);
    const form = page.locator('#record-breach');
    await form.getByLabel('What happened').fill('a backup bucket was readable by anyone for two days');
    await form.getByLabel('Discovered (UTC)').fill('2026-12-05T08:30');
    await form.getByLabel('Affected told (UTC)').fill('2026-12-06T09:00');
    await submit(page, form.getByRole('button', { name: 'Record the breach' }));
    expect(await textOf(page.locator('.flash-ok'))).toBe('PRIV-000002 recorded.');
    const row = page.locator('tr#PRIV-000002');
    expect(await textOf(row)).toContain('breach');
    expect(await textOf(row)).toContain('2026-12-06 09:00 UTC / —');

    // Completing without the regulator's date is refused, saying what is missing.
    await submit(page, row.getByRole('button', { name: 'Complete' }));
    expect(await textOf(page.locator('.flash-error'))).toContain(
      'a breach is complete when the affected parties and the regulator were told',
    );
    await page.locator('tr#PRIV-000002').getByLabel('Regulator told (UTC)').fill('2026-12-06T15:45');
    await submit(page, page.locator('tr#PRIV-000002').getByRole('button', { name: 'Complete' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('PRIV-000002 completed');
    expect(await textOf(page.locator('tr#PRIV-000002'))).toContain(
      '2026-12-06 09:00 UTC / 2026-12-06 15:45 UTC',
    );

    const breach = (await requests())[1]!;
    expect(breach).toMatchObject({ kind: 'breach', status: 'completed', channel: 'console' });
    // The times typed are UTC whatever the server's zone.
    expect(breach.received_at.toISOString()).toBe('2026-12-05T08:30:00.000Z');
    expect(breach.affected_notified_at?.toISOString()).toBe('2026-12-06T09:00:00.000Z');
    expect(breach.regulator_notified_at?.toISOString()).toBe('2026-12-06T15:45:00.000Z');
    await page.close();
  });
});
