import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBackends, runCli } from '../support/cli-backends.js';
import { CUSTOMER, customerRegistryCsv, e2ePolicyDir, type Sinks, startSinks } from './e2e-support.js';
import { type ServeProcess, servedAt, serveEnv, serveReady, spawnServe, until } from './serve-process.js';

/**
 * `kill -9` of a real `aupdesk serve` (every role in one process, the real pipeline, notices through an SMTP
 * relay) in the middle of a burst of 120 complaints from 12 concurrent SMTP clients, killed once 36 have their
 * `250` (`npm run soak` repeats such kills under hours of traffic). The clients then do what an MTA does with a
 * message that got no `250`: send it again, to the restarted desk. In the end:
 *
 * - every message that got a `250`, before or after the kill, is stored once (one inbox row, its evidence
 *   readable) and processed exactly once (one report, one event);
 * - nobody is notified twice: each case's notice and each reporter's acknowledgement reached the relay
 *   under one Message-ID (a re-delivery after the kill may repeat it, never mint a second one), the
 *   customer got one notice per case, and no reporter got more acknowledgements than the hourly limit;
 * - the audit chain verifies.
 *
 * The restarted desk takes up the dead one's claims at once instead of waiting out their leases: on the
 * embedded store because it holds that store alone, on PostgreSQL (DATABASE_URL) because the claims name a
 * process of this host that no longer exists (releaseDeadClaims).
 */

const TOTAL = 120;
const CLIENTS = 12;
const KILL_AFTER = 36;
const REPORTERS = 15;

/**
 * Complaint `i`, the same bytes every time it is sent, as an MTA's retry from its queue is: one whose first
 * copy was stored before the kill (but whose 250 never arrived) is then a duplicate, not a new message.
 */
const SENT_AT = new Date(Date.now() - 3_600_000);
function messageOf(i: number) {
  const ip = `192.0.2.${(i % 200) + 1}`;
  return {
    from: `"NOC ${i % REPORTERS}" <noc${i % REPORTERS}@reporter-crash.example>`,
    to: 'abuse@desk-e2e.example',
    subject: `Spam from ${ip} (${i})`,
    messageId: `<crash-${i}@reporter-crash.example>`,
    date: SENT_AT,
    text: [
      'Hello abuse team,',
      '',
      `your customer at ${ip} sent us unsolicited bulk email (spam). Headers of spam message ${i}:`,
      '',
      `Received: from mail.spammer.example ([${ip}]) by mx.reporter-crash.example; ${SENT_AT.toUTCString().replace('GMT', '+0000')}`,
      'Subject: Cheap watches',
      '',
      'Please make them stop.',
    ].join('\n'),
  };
}

/** One Prometheus sample value from a /metrics text, undefined when absent. */
function sample(metrics: string, line: string): number | undefined {
  const match = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : undefined;
}

for (const backend of await cliBackends('aupdesk-serve-crash-')) {
  describe(`aupdesk serve killed with SIGKILL mid-burst [${backend.name}]`, () => {
    const procs: ServeProcess[] = [];
    let sinks: Sinks | undefined;
    let base: string | undefined;
    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await sinks?.close();
      if (base) await rm(base, { recursive: true, force: true, maxRetries: 5 });
      await rm(backend.dataDir, { recursive: true, force: true, maxRetries: 5 });
    });

    it('every 250 is stored and processed once, nobody is notified twice, the audit chain holds', {
      timeout: 300_000,
    }, async () => {
      base = await mkdtemp(path.join(tmpdir(), 'aupdesk-serve-crash-'));
      // The CLI, both desks and the test's own look at the store afterwards share this data directory.
      const dataDir = backend.dataDir;
      sinks = await startSinks(() => new Date());
      const policyDir = await e2ePolicyDir(base);
      // Migrated (and on PostgreSQL its schema created) before the CLI and the desks use it.
      await (await backend.open()).close();
      const registryFile = path.join(base, 'registry.csv');
      await writeFile(registryFile, customerRegistryCsv(['192.0.2.0/24']));
      const imported = await runCli(backend.env, dataDir, ['registry', 'import', registryFile]);
      expect(imported.err).toBe('');
      expect(imported.code).toBe(0);

      const env = serveEnv({
        ...backend.env,
        AUPDESK_LOG_LEVEL: 'warn',
        AUPDESK_SECRET: 'a-crash-e2e-form-secret-of-at-least-32-chars',
        AUPDESK_SMTP_HOST: '127.0.0.1',
        AUPDESK_SMTP_PORT: String(sinks.smtpPort),
        AUPDESK_MAIL_FROM: '"INFINCE abuse desk" <abuse@desk-e2e.example>',
        AUPDESK_WORKER_POLL_MS: '200',
        // All clients come from 127.0.0.1: the per-address limits would refuse most of the burst.
        AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: String(CLIENTS * 2),
        AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: '1000000',
      });
      const args = ['--data', dataDir, 'serve', '--http-port', '0', '--smtp-port', '0'];
      args.push('--policy', policyDir, '--provider', 'infince');
      const start = async (name: string): Promise<ServeProcess> => {
        const proc = spawnServe(name, args, env);
        procs.push(proc);
        await serveReady(proc);
        return proc;
      };

      // The burst, and kill -9 once KILL_AFTER messages got their 250.
      const first = await start('first');
      const firstPort = servedAt(first).smtpPort!;
      const acked = new Set<number>();
      let killed = false;
      const burst = async (client: number): Promise<number[]> => {
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: firstPort,
          secure: false,
          ignoreTLS: true,
          pool: true,
          maxConnections: 1,
          connectionTimeout: 5_000,
          socketTimeout: 10_000,
        });
        const unacked: number[] = [];
        for (let i = client; i < TOTAL; i += CLIENTS) {
          try {
            const info = await transport.sendMail(messageOf(i));
            if (/^250/.test(info.response)) acked.add(i);
            else unacked.push(i);
          } catch {
            unacked.push(i);
          }
          if (!killed && acked.size >= KILL_AFTER) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        }
        transport.close();
        return unacked;
      };
      const unacked = (await Promise.all(Array.from({ length: CLIENTS }, (_, c) => burst(c)))).flat();
      expect(killed).toBe(true);
      expect(await first.exited).toBeNull();
      expect(first.child.signalCode).toBe('SIGKILL');
      const ackedBeforeKill = acked.size;
      expect(unacked.length).toBeGreaterThan(0);
      const deliveredBeforeKill = sinks.mails.length;

      // Restarted on the same store; the clients retry what got no 250 (some of it was stored before the
      // kill: those are answered as duplicates, still with a 250).
      const second = await start('second');
      expect(second.stderr).not.toMatch(/"level":(50|60)/);
      const { smtpPort, httpUrl } = servedAt(second);
      const retry = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtpPort!,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 5,
      });
      await Promise.all(
        unacked.map(async (i) => {
          const info = await retry.sendMail(messageOf(i));
          if (/^250/.test(info.response)) acked.add(i);
        }),
      );
      retry.close();
      expect(acked.size).toBe(TOTAL);

      // The desk works everything off: nothing pending in the inbox, nothing pending or running in the
      // outbox, as its /metrics says.
      await until(
        'the inbox and outbox to be worked off',
        async () => {
          const text = await (await fetch(`${httpUrl}/metrics`)).text();
          const open = [
            sample(text, 'aupdesk_inbox_items{status="pending"}'),
            sample(text, 'aupdesk_outbox_actions{status="pending"}'),
            sample(text, 'aupdesk_outbox_actions{status="running"}'),
          ];
          return open.every((n) => n === 0) ? true : undefined;
        },
        procs,
        90_000,
      );
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      const store = await backend.open();
      try {
        // Stored once each: one inbox row per acknowledged message, all done, none failed.
        const inbox = await store.db.selectFrom('intake_inbox').select(['message_id', 'status']).execute();
        expect(inbox).toHaveLength(TOTAL);
        expect(new Set(inbox.map((r) => r.message_id))).toEqual(
          new Set(Array.from({ length: TOTAL }, (_, i) => `crash-${i}@reporter-crash.example`)),
        );
        expect(inbox.filter((r) => r.status !== 'done')).toEqual([]);

        // Processed exactly once: one report and one event per message.
        const reports = await sql<{ message_id: string; n: string }>`
          select message_id, count(*) as n from reports group by message_id`.execute(store.db);
        expect(reports.rows).toHaveLength(TOTAL);
        expect(reports.rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
        const ipEvents = await sql<{ n: string | number; reports: string | number }>`
          select count(*) as n, count(distinct report_id) as reports from case_events
          where source_ip is not null`.execute(store.db);
        expect(ipEvents.rows.map((r) => [Number(r.n), Number(r.reports)])).toEqual([[TOTAL, TOTAL]]);
        const repeated = await sql`
          select report_id, fingerprint from case_events group by 1, 2 having count(*) > 1`.execute(store.db);
        expect(repeated.rows).toEqual([]);

        // Nobody notified twice. Every mail action is done, and the relay saw each one that was sent
        // under its one Message-ID: a repeat (a delivery the kill interrupted before it was recorded)
        // reuses it. Acknowledgements over the per-reporter limit are done without a mail (suppressed).
        const actions = await store.db
          .selectFrom('outbox_actions')
          .select(['kind', 'status', 'result'])
          .where('kind', 'like', 'mail.%')
          .execute();
        expect(actions.filter((a) => a.status !== 'done')).toEqual([]);
        const sent = actions.filter(
          (a) => (a.result as { suppressed?: boolean } | null)?.suppressed !== true,
        );
        const delivered = new Map<string, number>();
        for (const mail of sinks.mails) {
          delivered.set(mail.messageId ?? '', (delivered.get(mail.messageId ?? '') ?? 0) + 1);
        }
        expect(delivered.has('')).toBe(false);
        expect(delivered.size).toBe(sent.length);
        const cases = await store.db.selectFrom('cases').select('id').execute();
        expect(cases.length).toBeGreaterThan(0);
        const notices = actions.filter((a) => a.kind === 'mail.notice');
        expect(notices.length).toBe(cases.length);
        const customerMail = sinks.mails.filter((m) => JSON.stringify(m.to).includes(CUSTOMER.email));
        expect(new Set(customerMail.map((m) => m.messageId)).size).toBe(cases.length);
        // Each reporter's acknowledgement answers one complaint, at most once.
        const acks = sinks.mails.filter((m) => m.inReplyTo?.includes('@reporter-crash.example'));
        const ackedComplaints = new Map<string, Set<string>>();
        for (const ack of acks) {
          const ids = ackedComplaints.get(ack.inReplyTo!) ?? new Set<string>();
          ids.add(ack.messageId!);
          ackedComplaints.set(ack.inReplyTo!, ids);
        }
        expect([...ackedComplaints.values()].filter((ids) => ids.size > 1)).toEqual([]);
        // The per-reporter limit (3 an hour) lives in the store: the restarted desk did not start counting
        // again from zero.
        const acksPerReporter = new Map<string, Set<string>>();
        for (const ack of acks) {
          for (const to of [ack.to].flat().flatMap((a) => a?.value ?? [])) {
            const ids = acksPerReporter.get(to.address ?? '') ?? new Set<string>();
            ids.add(ack.messageId!);
            acksPerReporter.set(to.address ?? '', ids);
          }
        }
        expect(acksPerReporter.size).toBe(REPORTERS);
        expect([...acksPerReporter.values()].filter((ids) => ids.size > 3)).toEqual([]);
        const redelivered = [...delivered.values()].filter((n) => n > 1).length;
        console.info(
          `serve crash [${backend.name}]: ${ackedBeforeKill} acknowledged before kill -9 and ` +
            `${deliveredBeforeKill} mails relayed; ${unacked.length} retried after restart; ` +
            `${cases.length} case(s), ${acks.length} acknowledgements (${actions.length - sent.length} ` +
            `suppressed by the per-reporter limit), ${redelivered} re-delivered under the same Message-ID`,
        );
      } finally {
        await store.close();
      }

      // The audit chain that stands up later: whole across the kill.
      const verify = await runCli(backend.env, dataDir, ['audit', 'verify']);
      expect(verify.err).toBe('');
      expect(verify.code).toBe(0);
      expect(verify.out).toMatch(/^audit ok: \d+ entries/);
    });
  });
}
