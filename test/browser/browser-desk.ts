import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { createUser } from '../../src/accounts/user-repository.js';
import { loadConfig } from '../../src/config.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import { consolePolicy, PASSWORD } from '../server/console/console-support.js';
import { seedRegistry } from '../support/case-support.js';
import { backends } from '../support/store-backends.js';

/**
 * A real desk for the browser tests: `startServe` (the `aupdesk serve` entry point) on loopback with HTTP
 * and SMTP on free ports, the embedded store in a temporary data directory, the console test policy (its
 * notice waits for an analyst) as the only policy, two customers, and four people. Complaints arrive over
 * real SMTP. Chromium is Debian's (/usr/bin/chromium), driven by playwright-core with a fresh profile.
 *
 * With DATABASE_URL set the desk runs on that PostgreSQL server instead, in a fresh schema dropped on
 * close (test/support/store-backends.ts), so a browser file is run once per backend by running it with
 * and without DATABASE_URL.
 *
 * `seedPolicy` puts one provider's seed policy (policies/<provider>/) in place of the test policy, for the
 * pages that only a real policy's terms open: the `/privacy` form needs INFINCE's children's-data
 * obligation, the consent-evidence form Secure Packet's §4.3.
 */

export const CHROMIUM = process.env.AUPDESK_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export interface BrowserDesk {
  readonly serve: ServeHandle;
  readonly url: string;
  readonly browser: BrowserContext;
  /** Sends raw mail to abuse@ over SMTP and waits until the desk has processed it. */
  sendComplaint(raw: string | Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserDeskOptions {
  /** A provider under policies/ whose seed policy is the desk's only policy (default: the test policy). */
  readonly seedPolicy?: string;
}

const SEED_POLICIES = new URL('../../policies/', import.meta.url);

export async function openBrowserDesk(options: BrowserDeskOptions = {}): Promise<BrowserDesk> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-browser-'));
  const policyDir = path.join(dir, 'policies');
  const provider = options.seedPolicy ?? 'example';
  if (options.seedPolicy) {
    await cp(new URL(`${options.seedPolicy}/`, SEED_POLICIES), path.join(policyDir, provider), {
      recursive: true,
    });
  } else {
    const policy = {
      ...consolePolicy(),
      published_at: '2026-01-01T00:00:00Z',
      effective_at: '2026-01-01T00:00:00Z',
    };
    await mkdir(path.join(policyDir, provider), { recursive: true });
    await writeFile(path.join(policyDir, provider, '1.0.yaml'), stringify(policy));
  }

  // PostgreSQL when DATABASE_URL is set (a fresh schema, dropped on close); else the desk's embedded store.
  const store = await backends()
    .find((b) => b.name === 'postgres')
    ?.open();
  const serve = await startServe(
    { httpPort: 0, smtpPort: 0, policyDir, provider, host: '127.0.0.1' },
    {
      config: loadConfig({}, { dataDir: path.join(dir, 'data'), logLevel: 'warn' }),
      env: {},
      ...(store ? { store } : {}),
      http: { rateLimits: false, secureCookies: false },
      intervals: { inboxPollMs: 100, workerPollMs: 200, registryMs: 200 },
      beforeListen: async (ctx) => {
        await seedRegistry(ctx.store, {
          customers: [
            { ref: 'cust-a', name: 'Alpha Hosting Ltd', emails: ['ops@a.example'] },
            { ref: 'cust-b', name: 'Beta Networks', emails: ['ops@b.example'] },
          ],
          services: [
            { ref: 'vps-a', customer: 'cust-a' },
            { ref: 'web-a', customer: 'cust-a', kind: 'shared-hosting' },
            { ref: 'vps-b', customer: 'cust-b' },
            { ref: 'dedi-b', customer: 'cust-b', kind: 'dedicated' },
          ],
          assignments: [
            { service: 'vps-a', resource: '198.51.100.0/25', from: '2025-01-01T00:00:00Z' },
            { service: 'web-a', resource: '198.51.100.128/25', from: '2025-01-01T00:00:00Z' },
            { service: 'vps-b', resource: '203.0.113.0/25', from: '2025-01-01T00:00:00Z' },
            { service: 'dedi-b', resource: '203.0.113.128/25', from: '2025-01-01T00:00:00Z' },
          ],
        });
        const ids = await ctx.store.db.selectFrom('customers').select(['id', 'ref']).execute();
        const idOf = (ref: string) => ids.find((c) => c.ref === ref)!.id;
        const now = new Date();
        await createUser(ctx.store.db, {
          email: 'admin@desk.example.net',
          role: 'admin',
          password: PASSWORD,
          now,
        });
        await createUser(ctx.store.db, {
          email: 'analyst@desk.example.net',
          role: 'analyst',
          password: PASSWORD,
          now,
        });
        await createUser(ctx.store.db, {
          email: 'ops@a.example',
          role: 'customer',
          customerId: idOf('cust-a'),
          password: PASSWORD,
          now,
        });
        await createUser(ctx.store.db, {
          email: 'ops@b.example',
          role: 'customer',
          customerId: idOf('cust-b'),
          password: PASSWORD,
          now,
        });
        await ctx.registry.refresh();
      },
    },
  ).catch(async (error: unknown) => {
    await store?.close();
    throw error;
  });
  const url = serve.http!.url;
  const transport = nodemailer.createTransport({
    host: serve.smtp!.host,
    port: serve.smtp!.port,
    secure: false,
    ignoreTLS: true,
  });
  const browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    serve,
    url,
    browser,
    sendComplaint: async (raw) => {
      await transport.sendMail({
        envelope: { from: 'reporter@reporter.example', to: ['abuse@desk.example.net'] },
        raw: typeof raw === 'string' ? raw : Buffer.from(raw),
      });
      await serve.runOnce();
    },
    close: async () => {
      transport.close();
      await browser.close().catch(() => undefined);
      await serve.stop();
      await store?.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** Submits a form by clicking `button`, and waits for the page the post leads to. */
export async function submit(page: Page, button: Locator): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

/** The text of the first match, once it is in the page. */
export async function textOf(locator: Locator): Promise<string> {
  await locator.first().waitFor({ state: 'attached', timeout: 10_000 });
  return (await locator.first().textContent()) ?? '';
}

/** Signs `email` in to the console or the portal with the test password, from an empty cookie jar. */
export async function signIn(
  desk: BrowserDesk,
  page: Page,
  area: 'console' | 'portal',
  email: string,
): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${desk.url}/${area}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
  await page.waitForURL(`${desk.url}/${area}`);
}

const SHOTS_DIR = new URL('../../docs/screenshots/', import.meta.url);

/** With AUPDESK_SCREENSHOTS=1 (`npm run screenshots`), the whole page is saved as docs/screenshots/`name`. */
export async function shoot(page: Page, name: string): Promise<void> {
  if (process.env.AUPDESK_SCREENSHOTS !== '1') return;
  await mkdir(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: new URL(name, SHOTS_DIR).pathname, fullPage: true });
}

/** A DDoS complaint (free text) naming `ip`, dated an hour ago. */
export function ddosComplaint(o: { ip: string; from: string; messageId: string }): string {
  const when = new Date(Date.now() - 3600_000);
  return [
    `From: NOC <${o.from}>`,
    'To: abuse@desk.example.net',
    `Subject: DDoS attack from ${o.ip}`,
    `Date: ${when.toUTCString()}`,
    `Message-ID: <${o.messageId}>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Our web server is under a DDoS attack (SYN flood, ~4 Gbps) from ${o.ip} since ${when.toISOString()}.`,
    'Please investigate.',
    '',
  ].join('\r\n');
}

/** A plain spam complaint mail about `ip`, dated an hour ago. */
export function spamComplaint(o: { ip: string; from: string; messageId: string }): string {
  const when = new Date(Date.now() - 3600_000);
  return [
    `From: Spam Desk <${o.from}>`,
    'To: abuse@desk.example.net',
    `Subject: Spam from ${o.ip}`,
    `Date: ${when.toUTCString()}`,
    `Message-ID: <${o.messageId}>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `We received unsolicited bulk email (spam) from ${o.ip} on ${when.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    'Please stop the spam.',
    '',
  ].join('\r\n');
}
