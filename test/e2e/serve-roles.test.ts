import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { caseRefOf } from '../../src/cases/case-ref.js';
import { parseRegistryCsv } from '../../src/registry/registry-file-parser.js';
import { importRegistry } from '../../src/registry/registry-import.js';
import { openStore, type Store } from '../../src/store/database.js';
import { freshSchemaName } from '../support/store-backends.js';
import {
  CUSTOMER,
  complaintMail,
  customerRegistryCsv,
  e2ePolicyDir,
  type Sinks,
  startSinks,
} from './e2e-support.js';
import { type ServeProcess, servedAt, serveEnv, serveReady, spawnServe, until } from './serve-process.js';

/**
 * `aupdesk serve --role api|intake|worker` as three separate processes sharing one PostgreSQL schema
 * (AUPDESK_DB_SCHEMA), coordinating only through it: a complaint sent to the intake process's SMTP port
 * becomes a case that the api process lists at /api/v1/cases for an API key, and the worker process delivers
 * the notice to the test's SMTP sink. Each process runs only its part, and all three exit 0 on SIGTERM. The
 * worker polls its outbox hourly here: it hands the notice over within seconds because the intake's commit
 * notifies it (PostgreSQL LISTEN/NOTIFY).
 *
 * The processes run the CLI from source (serve-process.ts). Needs DATABASE_URL (CI sets it).
 */

const url = process.env.DATABASE_URL;

describe.runIf(url)('serve roles split across three processes [postgres]', () => {
  const schema = freshSchemaName();
  let dir: string;
  let store: Store;
  let sinks: Sinks;
  let apiKey: string;
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-roles-'));
    sinks = await startSinks(() => new Date());
  });

  /** The test's own connection to the same schema: the registry the desk attributes against, an API key. */
  async function seed(): Promise<void> {
    store = await openStore({ databaseUrl: url, schema, poolSize: 2 });
    const summary = await importRegistry(store.db, parseRegistryCsv(customerRegistryCsv(['192.0.2.0/24'])));
    expect(summary.failed).toBe(0);
    apiKey = (await createApiKey(store.db, { name: 'roles-e2e', role: 'analyst', now: new Date() })).key;
  }

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await store?.close();
    await sinks?.close();
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  function start(role: 'api' | 'intake' | 'worker', policyDir: string): ServeProcess {
    const env = serveEnv({
      DATABASE_URL: url,
      AUPDESK_DB_SCHEMA: schema,
      AUPDESK_LOG_LEVEL: 'info',
      AUPDESK_SECRET: 'a-roles-e2e-form-secret-of-at-least-32-chars',
      AUPDESK_SMTP_HOST: '127.0.0.1',
      AUPDESK_SMTP_PORT: String(sinks.smtpPort),
      AUPDESK_MAIL_FROM: '"INFINCE abuse desk" <abuse@desk-e2e.example>',
      // An hour: the worker learns of the complaint only by the intake's NOTIFY (LISTEN/NOTIFY wake-up).
      AUPDESK_WORKER_POLL_MS: '3600000',
      AUPDESK_REGISTRY_REFRESH_MS: '300',
    });
    const args = ['--data', path.join(dir, role), 'serve', '--role', role, '--http-port', '0'];
    args.push('--smtp-port', '0', '--policy', policyDir, '--provider', 'infince');
    const proc = spawnServe(role, args, env);
    procs.push(proc);
    return proc;
  }

  it('intake takes the complaint over SMTP, api lists the case, worker sends the notice; all stop cleanly', {
    timeout: 240_000,
  }, async () => {
    const policyDir = await e2ePolicyDir(dir);
    // Started together on a schema that does not exist yet, as an orchestrator would on a first deploy:
    // creating the schema, migrating and publishing the policies must tolerate the race.
    const api = start('api', policyDir);
    const intake = start('intake', policyDir);
    const worker = start('worker', policyDir);
    await Promise.all([serveReady(api), serveReady(intake), serveReady(worker)]);
    await seed();
    // Every process re-checks the registry revision every 300 ms here (AUPDESK_REGISTRY_REFRESH_MS); after
    // that the intake attributes with it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // Each process runs its part and nothing else.
    const apiUrl = servedAt(api).httpUrl;
    const smtpPort = servedAt(intake).smtpPort ?? 0;
    expect(apiUrl).toBeDefined();
    expect(smtpPort).toBeGreaterThan(0);
    expect(api.stdout).toContain('aupdesk serve (api) on the PostgreSQL store');
    expect(api.stdout).not.toContain('SMTP intake');
    expect(intake.stdout).toContain('aupdesk serve (intake) on the PostgreSQL store');
    expect(intake.stdout).not.toContain('JSON API');
    expect(worker.stdout).toContain('aupdesk serve (worker) on the PostgreSQL store');
    expect(worker.stdout).not.toMatch(/JSON API|SMTP intake/);

    const mail = complaintMail('192.0.2.91', new Date(), 'roles-1');
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    const info = await client.sendMail({
      from: '"Alice Reporter" <alice@reporter-e2e.example>',
      to: 'abuse@desk-e2e.example',
      subject: mail.subject,
      text: mail.text,
      messageId: mail.messageId,
    });
    const accepted = performance.now();
    client.close();
    expect(info.response).toMatch(/^250 /);

    // The api process sees the case the intake process opened.
    type CaseList = { items: Array<{ ref: string; status: string; customerRef: string | null }> };
    const listed = await until(
      'the case at /api/v1/cases',
      async () => {
        const res = await fetch(`${apiUrl}/api/v1/cases`, { headers: { authorization: `Bearer ${apiKey}` } });
        expect(res.status).toBe(200);
        const body = (await res.json()) as CaseList;
        return body.items.length > 0 ? body.items : undefined;
      },
      procs,
    );
    expect(listed).toHaveLength(1);
    expect(listed[0]?.customerRef).toBe(CUSTOMER.ref);
    const unauthorised = await fetch(`${apiUrl}/api/v1/cases`);
    expect(unauthorised.status).toBe(401);

    // The worker process delivers the notice.
    const notice = await until(
      'the notice at the SMTP sink',
      async () => sinks.mails.find((m) => JSON.stringify(m.to).includes(CUSTOMER.email)),
      procs,
    );
    process.stdout.write(
      `250 → notice at the relay across processes: ${Math.round(performance.now() - accepted)} ms\n`,
    );
    const cases = await store.db.selectFrom('cases').select(['id', 'status']).execute();
    expect(cases).toHaveLength(1);
    expect(listed[0]?.ref).toBe(caseRefOf(cases[0]!.id));
    expect(notice.subject).toContain(`[${caseRefOf(cases[0]!.id)}]`);
    expect(notice.text).toContain('192.0.2.91');
    const inbox = await store.db.selectFrom('intake_inbox').select(['status', 'channel']).execute();
    expect(inbox).toEqual([{ status: 'done', channel: 'smtp' }]);

    // Graceful shutdown of all three.
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0]);
    for (const p of procs) expect(p.stdout).toContain('aupdesk: shutting down');
    // Nothing left half-done: the notice's outbox row is recorded, no claim is outstanding.
    const outbox = await store.db.selectFrom('outbox_actions').select(['kind', 'status']).execute();
    expect(outbox.length).toBeGreaterThan(0);
    expect(outbox.filter((a) => a.status === 'running')).toEqual([]);
    expect(sinks.mails.filter((m) => JSON.stringify(m.to).includes(CUSTOMER.email))).toHaveLength(1);
  });
});
