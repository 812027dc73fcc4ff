import { existsSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserDesk,
  CHROMIUM,
  openBrowserDesk,
  shoot,
  signIn,
  spamComplaint,
  submit,
  textOf,
} from './browser-desk.js';

/**
 * Consent evidence (Secure Packet §4.3) in a real browser against a real `aupdesk serve` on the Secure
 * Packet seed policy: a spam complaint over SMTP opens a case under the bulk-mail clause for each of two
 * customers; each customer fills the portal's per-recipient form (a ragged row is refused with what was
 * typed kept); the analyst accepts one submission on the console's case page (the case is cured) and
 * rejects the other (the ladder goes on). With AUPDESK_SCREENSHOTS=1 the pages are saved under
 * docs/screenshots/.
 */

interface Recipient {
  readonly address: string;
  readonly time: string;
  readonly source: string;
  readonly method: string;
  readonly confirmation: string;
}

const ALICE: Recipient = {
  address: 'alice@recipient.example',
  time: '2026-10-02T10:14:00Z',
  source: 'newsletter form at shop.a.example',
  method: 'double opt-in',
  confirmation: 'confirmation link clicked 2026-10-02T10:20Z from 192.0.2.44',
};
const BOB: Recipient = {
  address: 'bob@recipient.example',
  time: '2026-11-12',
  source: 'checkout page <b>opt-in</b> box',
  method: 'single opt-in, box unticked by default',
  confirmation: 'welcome mail answered 2026-11-13',
};

describe.skipIf(!existsSync(CHROMIUM))('consent evidence in Chromium (Secure Packet §4.3)', () => {
  let desk: BrowserDesk;

  beforeAll(async () => {
    desk = await openBrowserDesk({ seedPolicy: 'securepacket' });
    // Alpha's VPS (AUP-000001), then Beta's (AUP-000002): both under mail.consent.
    for (const [i, ip] of ['198.51.100.7', '203.0.113.9'].entries()) {
      const from = 'spam-desk@reporter.example';
      await desk.sendComplaint(spamComplaint({ ip, from, messageId: `c${i + 1}@reporter.example` }));
    }
  }, 120_000);
  afterAll(async () => {
    await desk?.close();
  });

  /** Types one recipient into the form's fieldset `n` (1-based), as a customer would. */
  async function fillRecipient(page: Page, n: number, r: Partial<Recipient>): Promise<void> {
    const set = recipientGroup(page, n);
    const labels: Record<keyof Recipient, string> = {
      address: 'Address',
      time: 'When consent was given',
      source: 'Where (source)',
      method: 'How it was obtained (method)',
      confirmation: 'How the address was confirmed',
    };
    for (const [key, label] of Object.entries(labels) as Array<[keyof Recipient, string]>) {
      const value = r[key];
      if (value !== undefined) await set.getByLabel(label, { exact: true }).fill(value);
    }
  }

  /** The form's fieldset for recipient `n` (1-based), found by its legend as assistive technology does. */
  function recipientGroup(page: Page, n: number): Locator {
    return page.locator('#consent-evidence').getByRole('group', { name: `Recipient ${n}`, exact: true });
  }

  /** The customer's case page → the consent-evidence form, by the links a customer follows. */
  async function openForm(page: Page, ref: string): Promise<void> {
    await page.getByRole('link', { name: ref }).first().click();
    await page.waitForURL(`${desk.url}/portal/cases/${ref}`);
    await page.locator('#consent-evidence-link').click();
    await page.waitForURL(`${desk.url}/portal/cases/${ref}/consent-evidence`);
  }

  const evidence = () =>
    desk.serve.store.db.selectFrom('consent_evidence').selectAll().orderBy('id').execute();
  const caseStatus = async (ref: string) =>
    (
      await desk.serve.store.db
        .selectFrom('cases')
        .select('status')
        .where('ref', '=', ref)
        .executeTakeFirstOrThrow()
    ).status;

  it('the bulk-mail complaints opened cases with the 72-hour deadline of §4.3', async () => {
    const cases = await desk.serve.store.db
      .selectFrom('cases')
      .select(['ref', 'customer_ref', 'clause_id', 'status', 'opened_at', 'due_at'])
      .orderBy('id')
      .execute();
    expect(cases.map((c) => [c.ref, c.customer_ref, c.clause_id, c.status])).toEqual([
      ['AUP-000001', 'cust-a', 'mail.consent', 'awaiting-cure'],
      ['AUP-000002', 'cust-b', 'mail.consent', 'awaiting-cure'],
    ]);
    for (const c of cases) expect(c.due_at!.getTime() - c.opened_at.getTime()).toBe(72 * 3600_000);
  });

  it('the customer sends evidence per recipient; a ragged row is refused, naming it, with the typing kept', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'portal', 'ops@a.example');
    await openForm(page, 'AUP-000001');
    expect(await textOf(page.locator('h1'))).toBe('Consent evidence for AUP-000001');
    expect(await page.locator('#consent-evidence fieldset').count()).toBe(5);

    await fillRecipient(page, 1, ALICE);
    await fillRecipient(page, 2, { address: BOB.address, source: BOB.source });
    await submit(page, page.getByRole('button', { name: 'Send the evidence' }));
    expect(await textOf(page.locator('.flash-error'))).toBe('consent evidence: recipient 2 time: required');
    expect(await evidence()).toHaveLength(0);
    // What was typed is still there: only the missing fields need filling.
    expect(await recipientGroup(page, 2).getByLabel('Address', { exact: true }).inputValue()).toBe(
      BOB.address,
    );
    expect(await recipientGroup(page, 1).getByLabel('Where (source)').inputValue()).toBe(ALICE.source);

    await fillRecipient(page, 2, BOB);
    await shoot(page, 'portal-consent-evidence.png');
    await submit(page, page.getByRole('button', { name: 'Send the evidence' }));
    await page.waitForURL(`${desk.url}/portal/cases/AUP-000001`);
    expect(await textOf(page.locator('.flash-ok'))).toBe(
      'Thank you: your consent evidence for 2 recipient(s) is with the abuse desk for review.',
    );

    const [stored] = await evidence();
    expect(stored).toMatchObject({ status: 'pending', submitted_by: 'ops@a.example' });
    expect(stored!.recipients).toEqual([ALICE, BOB]);
    expect(await caseStatus('AUP-000001')).toBe('customer-responded');
    await page.close();
  });

  it("another customer cannot open the case's form", async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'portal', 'ops@b.example');
    const response = await page.goto(`${desk.url}/portal/cases/AUP-000001/consent-evidence`);
    expect(response?.status()).toBe(404);
    expect(await page.locator('#consent-evidence').count()).toBe(0);
    await page.close();
  });

  it('the analyst accepts the evidence on the case page: the case is cured', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/cases/AUP-000001`);
    const section = page.locator('section[aria-labelledby=consent-evidence-h]');
    const shown = await textOf(section);
    expect(shown).toContain('from ops@a.example');
    expect(shown).toContain('pending');
    for (const value of Object.values(ALICE)) expect(shown).toContain(value);
    // The customer's text is shown as text.
    expect(shown).toContain('checkout page <b>opt-in</b> box');
    // Every column is on screen, not cut off by a narrow column: the analyst decides on all five.
    const panel = (await section.boundingBox())!;
    const last = (await section.getByRole('cell', { name: ALICE.confirmation }).boundingBox())!;
    expect(last.x + last.width).toBeLessThanOrEqual(panel.x + panel.width);
    await shoot(page, 'console-consent-evidence.png');

    await section.getByLabel(/Note on consent evidence/).fill('double opt-in shown for both');
    await submit(page, section.getByRole('button', { name: 'Accept (mark cured)' }));
    expect(await textOf(page.locator('.flash-ok'))).toBe('consent evidence 1 accepted: the case is cured');
    const decided = await textOf(page.locator('#consent-evidence-1'));
    expect(decided).toContain('accepted');
    expect(decided).toContain('double opt-in shown for both');
    expect(await page.locator('#consent-evidence-1 form').count()).toBe(0);

    expect((await evidence())[0]).toMatchObject({
      status: 'accepted',
      decided_by: 'user:analyst@desk.example.net',
      note: 'double opt-in shown for both',
    });
    expect(await caseStatus('AUP-000001')).toBe('cured');
    await page.close();
  });

  it('evidence the analyst rejects leaves the case on its ladder', async () => {
    const page = await desk.browser.newPage();
    await signIn(desk, page, 'portal', 'ops@b.example');
    await openForm(page, 'AUP-000002');
    await fillRecipient(page, 1, {
      address: 'carol@recipient.example',
      time: '2026-09-01',
      source: 'trade fair',
      method: 'business card',
      confirmation: 'none',
    });
    await submit(page, page.getByRole('button', { name: 'Send the evidence' }));
    expect(await textOf(page.locator('.flash-ok'))).toContain('consent evidence for 1 recipient(s)');

    await signIn(desk, page, 'console', 'analyst@desk.example.net');
    await page.goto(`${desk.url}/console/cases/AUP-000002`);
    const article = page.locator('#consent-evidence-2');
    expect(await textOf(article)).toContain('carol@recipient.example');
    await article
      .getByLabel('Note on consent evidence 2')
      .fill('a business card is not consent to bulk mail');
    await submit(page, article.getByRole('button', { name: 'Reject (the ladder goes on)' }));
    const flash = await textOf(page.locator('.flash-ok'));
    expect(flash).toMatch(/^consent evidence 2 rejected: the case is /);
    expect(flash).not.toContain('cured');
    expect(await textOf(page.locator('#consent-evidence-2'))).toContain('rejected');

    expect((await evidence())[1]).toMatchObject({
      status: 'rejected',
      decided_by: 'user:analyst@desk.example.net',
    });
    expect(await caseStatus('AUP-000002')).toBe('awaiting-cure');
    await page.close();
  });
});
