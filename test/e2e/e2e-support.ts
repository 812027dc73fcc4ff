import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { parseRegistryCsv } from '../../src/registry/registry-file-parser.js';
import { importRegistry } from '../../src/registry/registry-import.js';
import { ALL_COLUMNS } from '../../src/registry/registry-row.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import { openStore, type Store } from '../../src/store/database.js';
import { type LoopbackSinks, startLoopbackSinks } from '../support/loopback-sinks.js';
import { freshSchemaName } from '../support/store-backends.js';

/**
 * What the end-to-end tests share: a real SMTP sink (where notices are delivered), a real webhook receiver
 * checking the HMAC (where suspensions arrive), a desk started with `startServe` on free loopback ports with
 * a moved clock, and `aupdesk audit verify` run through `main()` against the same store afterwards.
 */

export const WEBHOOK_SECRET = 'an-e2e-webhook-secret-of-at-least-32-chars';
const root = path.resolve(import.meta.dirname, '../..');

export type Sinks = LoopbackSinks;

/** The SMTP sink and the webhook receiver (at /provision, signed with WEBHOOK_SECRET) for one desk. */
export function startSinks(now: () => Date): Promise<Sinks> {
  return startLoopbackSinks({ secret: WEBHOOK_SECRET, now, hookPath: '/provision' });
}

/**
 * A policy folder for the tests: INFINCE's published AUP (anonymous complaints accepted, 7-day cure period)
 * with its suspend rung made automatic, so the clock alone carries a case from notice to suspension. Every
 * seed provider leaves suspension to an analyst; the engine's approval path has its own tests.
 */
export async function e2ePolicyDir(dir: string): Promise<string> {
  const source = await readFile(path.join(root, 'policies', 'infince', '2019-08-01.yaml'), 'utf8');
  const automatic = source.replace(/(- id: suspend\n(?:\s+[^\n]*\n)*?\s+approval:) analyst/, '$1 automatic');
  if (automatic === source) throw new Error('e2e policy: the suspend rung of infince was not found');
  const target = path.join(dir, 'policies', 'infince');
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, '2019-08-01.yaml'), automatic);
  return path.join(dir, 'policies');
}

export interface Desk {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly sinks: Sinks;
  readonly handle: ServeHandle;
  /** Env for running the CLI against the same store. */
  readonly cliEnv: Record<string, string | undefined>;
  readonly databaseUrl: string | undefined;
  /** The PostgreSQL store the test opened (serve does not close a store it was given). */
  readonly ownStore: Store | undefined;
}

/** The customer and service that hold 192.0.2.0/24 and 2001:db8:e2e::/48. */
export const CUSTOMER = { ref: 'CUST-E2E', email: 'ops@customer-e2e.example', service: 'VPS-E2E' };

/** A registry file (header and one row per resource) giving CUSTOMER's service each of `resources`. */
export function customerRegistryCsv(resources: readonly string[]): string {
  const row = (resource: string) =>
    ALL_COLUMNS.map(
      (c) =>
        ({
          customer: CUSTOMER.ref,
          email: CUSTOMER.email,
          service: CUSTOMER.service,
          kind: 'vps',
          resource,
          valid_from: '2020-01-01T00:00:00Z',
          customer_name: 'E2E Customer Ltd',
        })[c] ?? '',
    ).join(',');
  return [ALL_COLUMNS.join(','), ...resources.map(row), ''].join('\n');
}

export async function startDesk(options: {
  postgres: boolean;
  start: string;
  smtpMaxMessageBytes?: number;
  formMaxUploadBytes?: number;
  /** More environment for the desk (AUPDESK_INTAKE_SMTP_*, …). */
  env?: Record<string, string>;
}): Promise<Desk> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-e2e-'));
  const clock = new ManualClock(options.start);
  const sinks = await startSinks(() => clock.now());
  const url = options.postgres ? process.env.DATABASE_URL : undefined;
  // PostgreSQL: the desk gets a store in a fresh schema; the CLI reaches the same schema through search_path.
  const schema = url ? freshSchemaName() : undefined;
  const databaseUrl =
    url && schema
      ? `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`
      : undefined;
  const store = url && schema ? await openStore({ databaseUrl: url, schema, poolSize: 6 }) : undefined;
  const env: NodeJS.ProcessEnv = {
    AUPDESK_SMTP_HOST: '127.0.0.1',
    AUPDESK_SMTP_PORT: String(sinks.smtpPort),
    AUPDESK_MAIL_FROM: '"INFINCE abuse desk" <abuse@desk-e2e.example>',
    AUPDESK_PROVISION_WEBHOOK_URL: sinks.webhookUrl,
    AUPDESK_PROVISION_WEBHOOK_SECRET: WEBHOOK_SECRET,
    AUPDESK_SECRET: 'an-e2e-form-secret-of-at-least-32-characters',
    ...options.env,
  };
  const config = loadConfig({ AUPDESK_DATA: dir });
  const handle = await startServe(
    {
      host: '127.0.0.1',
      httpPort: 0,
      smtpPort: 0,
      policyDir: await e2ePolicyDir(dir),
      provider: 'infince',
      smtpMaxMessageBytes: options.smtpMaxMessageBytes,
      formMaxUploadBytes: options.formMaxUploadBytes,
    },
    {
      config,
      clock,
      env,
      ...(store ? { store } : {}),
      logger: pino({ level: 'silent' }),
      intervals: { inboxPollMs: 60_000, workerPollMs: 3_600_000, registryMs: 60_000 },
      http: { rateLimits: false, secureCookies: false },
      beforeListen: async (ctx) => {
        const csv = customerRegistryCsv(['192.0.2.0/24', '2001:db8:e2e::/48']);
        const summary = await importRegistry(ctx.store.db, parseRegistryCsv(csv));
        if (summary.failed > 0) throw new Error(`e2e registry: ${JSON.stringify(summary.errors)}`);
        await ctx.registry.refresh();
      },
    },
  );
  return { dir, clock, sinks, handle, cliEnv: { DATABASE_URL: databaseUrl }, databaseUrl, ownStore: store };
}

export async function stopDesk(desk: Desk | undefined): Promise<void> {
  if (!desk) return;
  await desk.handle.stop();
  await desk.ownStore?.close();
  await desk.sinks.close();
  await rm(desk.dir, { recursive: true, force: true, maxRetries: 5 });
}

/** `aupdesk --data <dir> audit verify` through main(), against the desk's store (after it stopped). */
export async function auditVerify(desk: Desk): Promise<{ code: number; out: string; err: string }> {
  const saved = process.env.DATABASE_URL;
  if (desk.cliEnv.DATABASE_URL === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = desk.cliEnv.DATABASE_URL;
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  try {
    const code = await main(['--data', desk.dir, 'audit', 'verify'], { out, err });
    return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
  } finally {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  }
}

export async function healthy(desk: Desk): Promise<boolean> {
  const res = await fetch(`${desk.handle.http!.url}/healthz`);
  return res.status === 200 && ((await res.json()) as { status: string }).status === 'ok';
}

/**
 * A complaint mail as a reporter writes it: spam from `ip` an hour before `now`, with the Received line that
 * names it. Spam is a clause INFINCE does not mark as endangering, so the case follows the ladder (notice,
 * cure period, suspension) instead of being suspended at once.
 */
export function complaintMail(
  ip: string,
  now: Date,
  id: string,
): { subject: string; text: string; messageId: string } {
  const t = new Date(now.getTime() - 3_600_000);
  return {
    subject: `Spam from ${ip}`,
    messageId: `<${id}@reporter-e2e.example>`,
    text: [
      'Hello abuse team,',
      '',
      `your customer at ${ip} sent us unsolicited bulk email (spam) this morning. Headers of one of the`,
      'spam messages we received:',
      '',
      `Received: from mail.spammer.example ([${ip}]) by mx.reporter-e2e.example; ${t.toUTCString().replace('GMT', '+0000')}`,
      'Subject: Cheap watches',
      '',
      'Please make them stop.',
      'Alice, Reporter Networks NOC',
    ].join('\n'),
  };
}
