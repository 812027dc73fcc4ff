import { rm } from 'node:fs/promises';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/enforcement/outbox/clock.js';
import { deskDeps } from '../../src/enforcement/pipeline/desk-deps.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { reportOf, seedRegistry } from '../support/case-support.js';
import { cliBackends, runCli } from '../support/cli-backends.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';

/**
 * `aupdesk cases` and `aupdesk worker --once` through main(), against a durable store the test and the CLI
 * open in turn (a PGlite data directory, or a PostgreSQL schema named through DATABASE_URL's search_path).
 */

const backends = await cliBackends('aupdesk-cases-cli-', { holdOpen: true });

for (const backend of backends) {
  describe(`aupdesk cases / worker [${backend.name}]`, () => {
    const mails: ParsedMail[] = [];
    let smtp: SmtpSink;
    let env: Record<string, string | undefined>;

    beforeAll(async () => {
      smtp = await startSmtpSink({ onMail: (mail) => mails.push(mail.parsed) });
      env = {
        ...backend.env,
        AUPDESK_SMTP_HOST: '127.0.0.1',
        AUPDESK_SMTP_PORT: String(smtp.port),
        AUPDESK_MAIL_FROM: 'abuse@desk.example.net',
        AUPDESK_PROVIDER: undefined,
        AUPDESK_PROVISION_WEBHOOK_URL: undefined,
        AUPDESK_PROVISION_COMMAND: undefined,
      };
      // Opening migrates (and, on PostgreSQL, creates the schema the CLI's search_path names).
      await (await backend.open()).close();
      const published = await runCli(env, backend.dataDir, [
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
      await smtp.close();
      if (backend === backends[backends.length - 1])
        await rm(backend.dataDir, { recursive: true, force: true, maxRetries: 5 });
    });

    it('lists cases as text and JSON lines, filtered by state', async () => {
      const text = await runCli(env, backend.dataDir, ['cases', 'list']);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(/^AUP-000001 {2}awaiting-cure +email\.can-spam/);
      const json = await runCli(env, backend.dataDir, [
        'cases',
        'list',
        '--state',
        'awaiting-cure',
        '--json',
      ]);
      expect(JSON.parse(json.out.trim())).toMatchObject({
        ref: 'AUP-000001',
        state: 'awaiting-cure',
        customer: 'cust-a',
        service: 'vps-a',
      });
      const none = await runCli(env, backend.dataDir, ['cases', 'list', '--state', 'suspended']);
      expect(none.out).toBe('no cases\n');
      const bad = await runCli(env, backend.dataDir, ['cases', 'list', '--state', 'sleeping']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--state must be one of');
    });

    it('shows a case with its events, thread and actions', async () => {
      const json = await runCli(env, backend.dataDir, ['cases', 'show', 'AUP-000001', '--json']);
      expect(json.code, json.err).toBe(0);
      const view = JSON.parse(json.out);
      expect(view).toMatchObject({ ref: 'AUP-000001', policyVersion: '2018-02-24', earlierCases: [] });
      expect(view.events).toHaveLength(1);
      expect(view.actions.map((a: { kind: string }) => a.kind)).toEqual(['mail.notice', 'mail.ack']);
      const text = await runCli(env, backend.dataDir, ['cases', 'show', 'AUP-000001']);
      expect(text.out).toContain('customer cust-a, service vps-a; clause email.can-spam');
      expect(text.out).toContain('198.51.100.7');
      const missing = await runCli(env, backend.dataDir, ['cases', 'show', 'AUP-000099']);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('case AUP-000099 does not exist');
    });

    it('acts on a case: a dismissal needs a reason; hold and dismiss are recorded', async () => {
      const noReason = await runCli(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'dismiss',
        '--analyst',
        'alice',
      ]);
      expect(noReason.code).toBe(2);
      expect(noReason.err).toContain('a dismissal needs a reason');
      const hold = await runCli(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'hold',
        '--analyst',
        'alice',
      ]);
      expect(hold.out).toContain('AUP-000001 on-hold: held by alice');
      const unknown = await runCli(env, backend.dataDir, [
        'cases',
        'act',
        'AUP-000001',
        'explode',
        '--analyst',
        'alice',
      ]);
      expect(unknown.code).toBe(2);
      const dismissed = await runCli(env, backend.dataDir, [
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
      const audit = await runCli(env, backend.dataDir, [
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
      const result = await runCli(env, backend.dataDir, ['worker', '--once']);
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
      const verify = await runCli(env, backend.dataDir, ['audit', 'verify']);
      expect(verify.out).toMatch(/^audit ok: /);
    });

    it('cases open: a case by hand under a clause no event reaches; an unknown clause is refused', async () => {
      const opened = await runCli(env, backend.dataDir, [
        'cases',
        'open',
        '--service',
        'vps-a',
        '--clause',
        'network.assigned-ip-only',
        '--reason',
        'announces 203.0.113.0/24, not assigned to it',
        '--analyst',
        'alice',
      ]);
      expect(opened.code, opened.err).toBe(0);
      expect(opened.out).toMatch(
        /^AUP-000002 awaiting-cure: opened under network\.assigned-ip-only \(iitgen 2018-02-24\)/,
      );
      expect(opened.out).toContain('queued: 000002/notice/');
      const wrong = await runCli(env, backend.dataDir, [
        'cases',
        'open',
        '--service',
        'vps-a',
        '--clause',
        'no-such',
        '--reason',
        'x',
      ]);
      expect(wrong.code).toBe(2);
      expect(wrong.err).toContain('network.assigned-ip-only');
    });
  });
}
