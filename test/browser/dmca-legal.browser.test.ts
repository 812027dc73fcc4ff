import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/accounts/user-repository.js';
import { loadConfig } from '../../src/config.js';
import { listDmcaRecords } from '../../src/dmca/dmca-repository.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { listLegalRequests } from '../../src/legal/legal-repository.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import { dmcaRegistry } from '../dmca/dmca-support.js';
import { noticeText } from '../dmca/statute-texts.js';
import { PASSWORD } from '../server/console/console-support.js';
import { seedRegistry } from '../support/case-support.js';
import { CHROMIUM, CHROMIUM_ARGS } from './browser-desk.js';

/**
 * End to end by mail, and the console pages in Chromium: a real `aupdesk serve` on loopback with iITGEN's
 * policy; DMCA notices mailed to dmca@ and a subpoena mailed to legal@ over SMTP; the letters the worker
 * sends land as .eml files; an analyst works both procedures in the console.
 */

let serve: ServeHandle;
let dir: string;
let transport: ReturnType<typeof nodemailer.createTransport>;

function mail(to: string, from: string, subject: string, body: string, id: string): string {
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${id}>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ].join('\r\n');
}

async function send(to: string, raw: string): Promise<void> {
  await transport.sendMail({ envelope: { from: 'sender@outside.example', to: [to] }, raw });
  await serve.runOnce();
}

/** The letters written so far, once the outbox has no action left pending or running (the worker loop sends them). */
async function sentMail(): Promise<string[]> {
  const giveUp = Date.now() + 20_000;
  for (;;) {
    const open = (await listActions(serve.store.db, {})).filter(
      (a) => a.status === 'pending' || a.status === 'running',
    );
    if (open.length === 0 || Date.now() > giveUp) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return writtenMail();
}

async function writtenMail(): Promise<string[]> {
  const out = path.join(dir, 'data', 'outgoing-mail');
  const files = existsSync(out) ? await readdir(out) : [];
  return Promise.all(files.map((f) => readFile(path.join(out, f), 'utf8')));
}

const SUBPOENA = `UNITED STATES DISTRICT COURT
for the Central District of California

Aurora Photo LLC v. Doe, Case No. 2:26-cv-04411, filed on 2026-09-14. The matter is pending.

SUBPOENA TO PRODUCE DOCUMENTS, issued pursuant to Fed. R. Civ. P. 45.

You are commanded to produce, no later than 2026-12-31:
- the name and billing address of the customer holding files.shop-a.example on 2026-11-01
- connection logs for files.shop-a.example, 1-2 November 2026

Dana Whitfield, Whitfield & Rowe LLP`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-dmca-e2e-'));
  const policyDir = path.join(dir, 'policies');
  await mkdir(path.join(policyDir, 'iitgen'), { recursive: true });
  await copyFile('policies/iitgen/2018-02-24.yaml', path.join(policyDir, 'iitgen', '2018-02-24.yaml'));
  serve = await startServe(
    { httpPort: 0, smtpPort: 0, policyDir, provider: 'iitgen', host: '127.0.0.1' },
    {
      config: loadConfig({}, { dataDir: path.join(dir, 'data'), logLevel: 'warn' }),
      env: {},
      http: { rateLimits: false, secureCookies: false },
      intervals: { inboxPollMs: 100, workerPollMs: 200, registryMs: 200 },
      beforeListen: async (ctx) => {
        await seedRegistry(ctx.store, dmcaRegistry);
        await createUser(ctx.store.db, {
          email: 'analyst@desk.example.net',
          role: 'analyst',
          password: PASSWORD,
          now: new Date(),
        });
        await ctx.registry.refresh();
      },
    },
  );
  transport = nodemailer.createTransport({
    host: serve.smtp!.host,
    port: serve.smtp!.port,
    secure: false,
    ignoreTLS: true,
  });
}, 120_000);

afterAll(async () => {
  transport?.close();
  await serve?.stop();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('DMCA and legal requests by mail', () => {
  it('a complete notice to dmca@ opens the takedown and mails the customer and the claimant', async () => {
    await send(
      'dmca@desk.example.net',
      mail(
        'dmca@desk.example.net',
        'Ingrid Solberg <ingrid@aurora-photo.example>',
        'DMCA notice',
        noticeText(),
        'n1@aurora-photo.example',
      ),
    );
    const [notice] = await listDmcaRecords(serve.store.db, { kind: 'notice' });
    expect(notice).toMatchObject({ status: 'takedown', customerRef: 'C-100', channel: 'smtp' });
    const sent = await sentMail();
    expect(
      sent.some(
        (m) =>
          /To: .*owner@shop-a\.example/.test(m) && m.includes('X-Aupdesk-Template: dmca.takedown-customer'),
      ),
    ).toBe(true);
    expect(
      sent.some((m) => /To: .*ingrid@aurora-photo\.example/.test(m) && m.includes('dmca.takedown-claimant')),
    ).toBe(true);
  });

  it('the same notice without the perjury statement asks the sender for it and mails the customer nothing', async () => {
    const before = (await sentMail()).filter((m) => m.includes('owner@shop-a.example')).length;
    await send(
      'dmca@desk.example.net',
      mail(
        'dmca@desk.example.net',
        'Ingrid Solberg <ingrid@aurora-photo.example>',
        'DMCA notice (2)',
        noticeText(['accuracy-authority']).replace('northern-lights.jpg', 'aurora-2.jpg'),
        'n2@aurora-photo.example',
      ),
    );
    const [latest] = await listDmcaRecords(serve.store.db, { kind: 'notice' });
    expect(latest).toMatchObject({ status: 'awaiting-completion', missing: ['accuracy-authority'] });
    const sent = await sentMail();
    expect(sent.filter((m) => m.includes('owner@shop-a.example')).length).toBe(before);
    expect(sent.some((m) => m.includes('dmca.missing-elements'))).toBe(true);
  });

  it('a subpoena mailed to legal@ is recorded and decided by the policy', async () => {
    await send(
      'legal@desk.example.net',
      mail(
        'legal@desk.example.net',
        'Dana Whitfield <dwhitfield@wr-law.example>',
        'Subpoena',
        SUBPOENA,
        's1@wr-law.example',
      ),
    );
    const [request] = await listLegalRequests(serve.store.db);
    expect(request).toMatchObject({ kind: 'subpoena', status: 'accepted', authority: 'Fed. R. Civ. P. 45' });
    expect(request!.matter).toMatchObject({ case_number: '2:26-cv-04411', pending: true });
    expect(request!.assessment?.fee).toMatchObject({ hourly_rate: 275 });
    const sent = await sentMail();
    expect(sent.some((m) => /To: .*dwhitfield@wr-law\.example/.test(m) && m.includes('legal.decision'))).toBe(
      true,
    );
  });
});

describe.skipIf(!existsSync(CHROMIUM))('DMCA and legal console pages in Chromium', () => {
  let browser: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = await browser.newPage();
    await page.goto(`${serve.http!.url}/console/login`);
    await page.getByLabel('E-mail').fill('analyst@desk.example.net');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: /sign in/i }).click(),
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  it('lists notices, shows each element with its text, and records the removal', async () => {
    await page.goto(`${serve.http!.url}/console/dmca`);
    await expect(page.locator('#dmca-list tbody tr').count()).resolves.toBeGreaterThanOrEqual(2);
    await page.getByRole('link', { name: 'DMCA-000001' }).click();
    await page.waitForLoadState('load');
    const goodFaith = page.locator('#elements tr[data-element="good-faith"]');
    await expect(goodFaith.textContent()).resolves.toContain('I have a good faith belief');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'The customer removed the material' }).click(),
    ]);
    await expect(page.locator('body').textContent()).resolves.toContain('removal recorded');
    await expect(page.locator('h1').textContent()).resolves.toContain('removed');
  });

  it('records a request in the console, shows the refusal, and logs a disclosure under the accepted subpoena', async () => {
    await page.goto(`${serve.http!.url}/console/legal`);
    await page.getByLabel('Kind').selectOption('private-request');
    await page.getByLabel('Requester', { exact: true }).fill('A curious neighbour');
    await page.getByLabel('What is asked (one item per line)').fill('who runs shop-a.example');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Record and assess' }).click(),
    ]);
    await expect(page.locator('#decision').textContent()).resolves.toContain('refused');
    await expect(page.locator('#reasons').textContent()).resolves.toContain('filed and pending matter');

    await page.goto(`${serve.http!.url}/console/legal/LEGAL-000001`);
    await expect(page.locator('#fee').textContent()).resolves.toContain('275');
    await page.getByLabel('Disclosed').fill('name and billing address of C-100');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Log the disclosure' }).click(),
    ]);
    await expect(page.locator('#disclosures').textContent()).resolves.toContain(
      'name and billing address of C-100',
    );
  });
});
