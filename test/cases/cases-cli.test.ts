import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { systemClock } from '../../src/enforcement/outbox/clock.js';
import { deskDeps } from '../../src/enforcement/pipeline/desk-deps.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { openStore, pgliteDirFor, type Store } from '../../src/store/database.js';
import { freshSchemaName } from '../support/store-backends.js';
import { reportOf, seedRegistry } from './case-support.js';

/**
 * `aupdesk cases` and `aupdesk worker --once` through main(), against a durable store the test and the CLI
 * open in turn (a PGlite data directory, or a PostgreSQL schema named through DATABASE_URL's search_path).
 */
interface CliBackend {
  name: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  open(): Promise<Store>;
}

async function cliBackends(): Promise<CliBackend[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-cases-cli-'));
  const list: CliBackend[] = [
    {
      name: 'pglite',
      env: { DATABASE_URL: undefined },
      dataDir,
      open: () => openStore({ pgliteDir: pgliteDirFor(dataDir) }),
    },
  ];
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = freshSchemaName();
    const scoped = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
    list.push({
      name: 'postgres',
      env: { DATABASE_URL: scoped },
      dataDir,
      open: () => openStore({ databaseUrl: url, schema, poolSize: 2 }),
    });
  }
  return list;
}

async function run(env: Record<string, string | undefined>, dataDir: string, args: string[]) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  try {
    const code = await main(['--data', dataDir, ...args], { out, err });
    return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const backends = await cliBackends();

for (const backend of backends) {
  describe(`aupdesk cases / worker [${backend.name}]`, () => {
    const mails: ParsedMail[] = [];
    let smtp: SMTPServer;
    let env: Record<string, string | undefined>;

    beforeAll(async () => {
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onData(stream, _session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', async () => {
            mails.push(await simpleParser(Buffer.concat(chunks)));
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
      env = {
        ...backend.env,
        AUPDESK_SMTP_HOST: '127.0.0.1',
        AUPDESK_SMTP_PORT: String((smtp.server.address() as AddressInfo).port),
        AUPDESK_MAIL_FROM: 'abuse@desk.example.net',
        AUPDESK_PROVIDER: undefined,
        AUPDESK_PROVISION_WEBHOOK_URL: undefined,
        AUPDESK_PROVISION_COMMAND: undefined,
      };
      // Opening migrates (and, on PostgreSQL, creates the schema the CLI's search_path names).
      await (await backend.open()).close();
      const published = await run(env, backend.dataDir, [
        'policy',
        'publish',
        'policies/iitgen/2018-02-24.yaml',
      ]);
      expect(published.code, published.err).toBe(0);
      const store = await backend.open();
      try {
        const snapshot = await seedRegistry(store, {
          customers: [{ ref: 'cust-a', name: 'Alpha', emails: ['ops@a.example'] }],
          services: [{ ref: 'vps-a', customer: 'cust-a' }],
          assignments: [{ service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' }],
        });
        const base = await deskDeps(store.db, systemClock, { AUPDESK_MAIL_FROM: 'abuse@desk.example.net' });
        const now = new Date().toISOString();
        await processReport(
          { ...base, snapshot: () => snapshot },
          reportOf({ receivedAt: now, events: [{ 'source.ip': '198.51.100.7', 'time.source': now }] }),
        );
      } finally {
        await store.close();
      }
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      if (backend === backends[backends.length - 1])
        await rm(backend.dataDir, { recursive: true, force: true });
    });

    it('lists cases as text and JSON lines, filtered by state', async () => {
      const text = await run(env, backend.dataDir, ['cases', 'list']);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(/^AUP-000001 {2}awaiting-cure +email\.can-spam/);
      const json = await run(env, backend.dataDir, ['cases', 'list', '--state', 'awaiting-cure', '--json']);
      expect(JSON.parse(json.out.trim())).toMatchObject({
        ref: 'AUP-000001',
        state: 'awaiting-cure',
        customer: 'cust-a',
        service: 'vps-a',
      });
      const none = await run(env, backend.dataDir, ['cases', 'list', '--state', 'suspended']);
      expect(none.out).toBe('no cases\n');
      const bad = await run(env, backend.dataDir, ['cases', 'list', '--state', 'sleeping']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--state must be one of');
    });

    it('shows a case with its events, thread and actions', async () => {
      const json = await run(env, backend.dataDir, ['cases', 'show', 'AUP-000001', '--json']);
      expect(json.code, json.err).toBe(0);
      const view = JSON.parse(json.out);
      expect(view).toMatchObject({ ref: 'AUP-000001', policyVersion: '2018-02-24', earlierCases: [] });
      expect(view.events).toHaveLength(1);
      expect(view.actions.map((a: { kind: string }) => a.kind)).toEqual(['mail.notice', 'mail.ack']);
      const text = await run(env, backend.dataDir, ['cases', 'show', 'AUP-000001']);
      expect(text.out).toContain('customer cust-a, service vps-a; clause email.can-spam');
      expect(text.out).toContain('198.51.100.7');
      const missing = await run(env, backend.dataDir, ['cases', 'show', 'AUP-000099']);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('case AUP-000099 does not exist');
    });

    it('acts on a case: a dismissal needs a reason; hold and dismiss are recorded', async () => {
      const noReason = await run(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'dismiss',
        '--analyst',
        'alice',
      ]);
      expect(noReason.code).toBe(2);
      expect(noReason.err).toContain('a dismissal needs a reason');
      const hold = await run(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'hold',
        '--analyst',
        'alice',
      ]);
      expect(hold.out).toContain('AUP-000001 on-hold: held by alice');
      const unknown = await run(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'explode',
        '--analyst',
        'alice',
      ]);
      expect(unknown.code).toBe(2);
      const dismissed = await run(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'dismiss',
        '--analyst',
        'alice',
        '--reason',
        'residential NAT, reported to the wrong provider',
      ]);
      expect(dismissed.code, dismissed.err).toBe(0);
      expect(dismissed.out).toContain('AUP-000001 dismissed');
      expect(dismissed.out).toContain('queued: 000001/analyst-');
      const audit = await run(env, backend.dataDir, [
        'audit',
        'list',
        '--subject',
        'case:1',
        '--kind',
        'case.intervention',
      ]);
      expect(
        audit.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).actor),
      ).toEqual(['user:alice', 'user:alice']);
    });

    it('worker --once delivers the queued notices through the SMTP relay', async () => {
      const before = mails.length;
      const result = await run(env, backend.dataDir, ['worker', '--once']);
      expect(result.code, result.err).toBe(0);
      const summary = JSON.parse(result.out.trim());
      expect(summary.actions).toMatchObject({ done: 3, dead: 0 });
      const subjects = mails.slice(before).map((m) => m.subject);
      expect(subjects).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\[AUP-000001\] Notice of acceptable use policy violation/),
          expect.stringMatching(/^\[AUP-000001\] Case closed: no further action/),
          expect.stringMatching(/^\[AUP-000001\] Re: /),
        ]),
      );
      const verify = await run(env, backend.dataDir, ['audit', 'verify']);
      expect(verify.out).toMatch(/^audit ok: /);
    });
  });
}
