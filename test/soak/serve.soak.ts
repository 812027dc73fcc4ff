import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, pgliteDirFor } from '../../src/store/database.js';
import { customerRegistryCsv, e2ePolicyDir, type Sinks, startSinks } from '../e2e/e2e-support.js';
import { type ServeProcess, servedAt, serveEnv, serveReady, spawnServe } from '../e2e/serve-process.js';
import { runCli } from '../support/cli-backends.js';

/**
 * Soak: `aupdesk serve` on PGlite taking mixed traffic at a steady rate — complaints over SMTP, reports
 * through the API, the public form — for AUPDESK_SOAK_MINUTES (default 10), killed with SIGKILL and
 * restarted every AUPDESK_SOAK_KILL_EVERY_S seconds (default 120). At the end, after a clean stop:
 * everything that got an acceptance (250, 202, 303) is in the inbox once and processed, no notice or
 * acknowledgement went out twice under two Message-IDs, the audit chain holds, and RSS stayed flat (the
 * last restart's samples against the first's). Prints one JSON line with the RSS curve.
 *
 * Rates (per second): AUPDESK_SOAK_SMTP_RATE (default 1), AUPDESK_SOAK_API_RATE (0.5); the form gets one
 * post a minute (its limit is 10 per 10 minutes per address). Not part of `npm test`: `npm run soak`.
 */

const MINUTES = Number(process.env.AUPDESK_SOAK_MINUTES ?? 10);
const KILL_EVERY_MS = Number(process.env.AUPDESK_SOAK_KILL_EVERY_S ?? 120) * 1000;
const SMTP_RATE = Number(process.env.AUPDESK_SOAK_SMTP_RATE ?? 1);
const API_RATE = Number(process.env.AUPDESK_SOAK_API_RATE ?? 0.5);
const FORM_EVERY_MS = 60_000;
const SENT_AT = new Date(Date.now() - 3_600_000);

function complaint(kind: 'smtp' | 'api', i: number): { ip: string; messageId: string; raw: string } {
  const ip = `192.0.2.${(i % 200) + 1}`;
  const messageId = `soak-${kind}-${i}@reporter-soak.example`;
  const raw = [
    `From: "NOC ${i % 7}" <noc${i % 7}@reporter-soak.example>`,
    'To: abuse@desk-e2e.example',
    `Subject: Spam from ${ip} (${kind} ${i})`,
    `Message-ID: <${messageId}>`,
    `Date: ${SENT_AT.toUTCString().replace('GMT', '+0000')}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your customer at ${ip} sent us unsolicited bulk email (spam), message ${kind} ${i}.`,
    `Received: from mail.spammer.example ([${ip}]) by mx.reporter-soak.example; ${SENT_AT.toUTCString().replace('GMT', '+0000')}`,
    '',
  ].join('\r\n');
  return { ip, messageId, raw };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssOf(pid: number): Promise<number | undefined> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (text) => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(text)?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    },
    () => undefined,
  );
}

describe('serve soak', () => {
  const procs: ServeProcess[] = [];
  let sinks: Sinks | undefined;
  let base: string | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await sinks?.close();
    if (base) await rm(base, { recursive: true, force: true, maxRetries: 5 });
  });

  it(`takes ${MINUTES} min of mixed traffic with kill -9 every ${KILL_EVERY_MS / 1000} s, losing nothing`, async () => {
    base = await mkdtemp(path.join(tmpdir(), 'aupdesk-soak-'));
    const dataDir = path.join(base, 'data');
    sinks = await startSinks(() => new Date());
    const policyDir = await e2ePolicyDir(base);
    const cliEnv = { DATABASE_URL: undefined };
    const registryFile = path.join(base, 'registry.csv');
    await writeFile(registryFile, customerRegistryCsv(['192.0.2.0/24']));
    expect((await runCli(cliEnv, dataDir, ['registry', 'import', registryFile])).code).toBe(0);
    const created = await runCli(cliEnv, dataDir, [
      'apikey',
      'create',
      '--role',
      'reporter',
      '--name',
      'soak',
    ]);
    expect(created.code).toBe(0);
    const apiKey = created.out.trim();

    const env = serveEnv({
      DATABASE_URL: undefined,
      AUPDESK_LOG_LEVEL: 'warn',
      AUPDESK_SECRET: 'a-soak-test-form-secret-of-at-least-32-chars',
      AUPDESK_SMTP_HOST: '127.0.0.1',
      AUPDESK_SMTP_PORT: String(sinks.smtpPort),
      AUPDESK_MAIL_FROM: '"INFINCE abuse desk" <abuse@desk-e2e.example>',
      AUPDESK_WORKER_POLL_MS: '500',
      AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: '1000000',
      // All clients come from 127.0.0.1, and retries after a restart come in a bunch.
      AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: '64',
    });
    const args = ['--data', dataDir, 'serve', '--http-port', '0', '--smtp-port', '0'];
    args.push('--policy', policyDir, '--provider', 'infince');

    let current!: ServeProcess;
    let generation = 0;
    const start = async (): Promise<void> => {
      generation += 1;
      const proc = spawnServe(`serve-${generation}`, args, env);
      procs.push(proc);
      await serveReady(proc, 180_000);
      current = proc;
    };
    await start();

    const accepted = { smtp: new Set<string>(), api: new Set<string>(), form: 0 };
    const pending = { smtp: [] as number[], api: [] as number[] };
    const rss: Array<{ t: number; generation: number; rssMiB: number }> = [];
    const t0 = Date.now();
    const endAt = t0 + MINUTES * 60_000;
    let nextKill = t0 + KILL_EVERY_MS;
    let restarting: Promise<void> | undefined;
    let kills = 0;

    const up = () =>
      restarting === undefined && current.child.exitCode === null && current.child.signalCode === null;

    const sendSmtp = async (i: number): Promise<void> => {
      const { smtpPort } = servedAt(current);
      const mail = complaint('smtp', i);
      try {
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: smtpPort!,
          secure: false,
          ignoreTLS: true,
          connectionTimeout: 5_000,
          socketTimeout: 15_000,
        });
        const info = await transport.sendMail({
          envelope: { from: 'noc@reporter-soak.example', to: ['abuse@desk-e2e.example'] },
          raw: mail.raw,
        });
        transport.close();
        if (/^250/.test(info.response)) accepted.smtp.add(mail.messageId);
        else pending.smtp.push(i);
      } catch {
        pending.smtp.push(i);
      }
    };
    const sendApi = async (i: number): Promise<void> => {
      const { httpUrl } = servedAt(current);
      const mail = complaint('api', i);
      try {
        const res = await fetch(`${httpUrl}/api/v1/reports`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'message/rfc822' },
          body: mail.raw,
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status === 202) accepted.api.add(mail.messageId);
        else pending.api.push(i);
      } catch {
        pending.api.push(i);
      }
    };
    const sendForm = async (i: number): Promise<void> => {
      const { httpUrl } = servedAt(current);
      try {
        const page = await fetch(`${httpUrl}/report`, { signal: AbortSignal.timeout(15_000) });
        const token = /name="_token" value="([^"]+)"/.exec(await page.text())?.[1];
        const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
        const form = new FormData();
        form.append('_token', token ?? '');
        form.append('name', 'Soak Reporter');
        form.append('email', 'form@reporter-soak.example');
        form.append('kind', 'spam');
        form.append('target', `192.0.2.${(i % 200) + 1}`);
        form.append('description', `Spam from 192.0.2.${(i % 200) + 1}, form submission ${i}.`);
        const posted = await fetch(`${httpUrl}/report`, {
          method: 'POST',
          body: form,
          headers: { cookie },
          redirect: 'manual',
          signal: AbortSignal.timeout(15_000),
        });
        if (posted.status === 303) accepted.form += 1;
      } catch {
        // A form post lost to a kill is the browser's to retry; only a 303 counts as accepted.
      }
    };

    let smtpN = 0;
    let apiN = 0;
    let formN = 0;
    let nextSmtp = t0;
    let nextApi = t0;
    let nextForm = t0;
    let nextSample = t0;
    const inflight = new Set<Promise<void>>();
    const fire = (p: Promise<void>) => {
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    while (Date.now() < endAt) {
      const now = Date.now();
      if (now >= nextKill && up()) {
        nextKill = now + KILL_EVERY_MS;
        kills += 1;
        current.child.kill('SIGKILL');
        restarting = (async () => {
          await current.exited;
          await start();
          // The next kill comes a full interval after this start is ready (PGlite start-up is not counted).
          nextKill = Date.now() + KILL_EVERY_MS;
        })().finally(() => {
          restarting = undefined;
        });
      }
      if (up()) {
        if (now >= nextSample) {
          nextSample = now + 5_000;
          const bytes = await rssOf(current.child.pid!);
          if (bytes !== undefined)
            rss.push({ t: Math.round((now - t0) / 1000), generation, rssMiB: Math.round(bytes / 1048576) });
        }
        // Retry what a kill interrupted first (a client's queue), then the steady stream.
        const retry = pending.smtp.shift();
        if (retry !== undefined) fire(sendSmtp(retry));
        const retryApi = pending.api.shift();
        if (retryApi !== undefined) fire(sendApi(retryApi));
        if (now >= nextSmtp) {
          nextSmtp += 1000 / SMTP_RATE;
          fire(sendSmtp(smtpN++));
        }
        if (now >= nextApi) {
          nextApi += 1000 / API_RATE;
          fire(sendApi(apiN++));
        }
        if (now >= nextForm) {
          nextForm += FORM_EVERY_MS;
          fire(sendForm(formN++));
        }
      }
      await sleep(50);
    }
    await Promise.all(inflight);
    await restarting;
    // Drain what is still queued on the client side, a few at a time (like a client's retry queue).
    for (let round = 0; round < 20 && pending.smtp.length + pending.api.length > 0; round++) {
      const queue = [
        ...pending.smtp.splice(0).map((i) => () => sendSmtp(i)),
        ...pending.api.splice(0).map((i) => () => sendApi(i)),
      ];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let job = queue.shift(); job; job = queue.shift()) await job();
        }),
      );
      if (pending.smtp.length + pending.api.length > 0) await sleep(2_000);
    }
    // The RSS curve and counts, printed before the checks so that a failing run still records them.
    console.log(
      JSON.stringify({
        soak: 'serve-traffic',
        minutes: MINUTES,
        kills,
        accepted: { smtp: accepted.smtp.size, api: accepted.api.size, form: accepted.form },
        stillPending: { smtp: pending.smtp.length, api: pending.api.length },
        rssCurve: rss,
      }),
    );
    expect(pending).toEqual({ smtp: [], api: [] });

    // Work everything off, then stop cleanly.
    const { httpUrl } = servedAt(current);
    const drainUntil = Date.now() + 300_000;
    for (;;) {
      const text = await (await fetch(`${httpUrl}/metrics`)).text();
      const open = [
        'aupdesk_inbox_items{status="pending"}',
        'aupdesk_outbox_actions{status="pending"}',
        'aupdesk_outbox_actions{status="running"}',
      ].map((line) =>
        Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0),
      );
      if (open.every((n) => n === 0)) break;
      if (Date.now() > drainUntil) throw new Error(`not worked off: ${open.join(', ')}`);
      await sleep(1_000);
    }
    current.child.kill('SIGTERM');
    expect(await current.exited).toBe(0);

    const store = await openStore({ pgliteDir: pgliteDirFor(dataDir) });
    try {
      const inbox = await store.db
        .selectFrom('intake_inbox')
        .select(['message_id', 'status', 'channel'])
        .execute();
      const ids = new Set(inbox.map((r) => r.message_id));
      const lost = [...accepted.smtp, ...accepted.api].filter((id) => !ids.has(id));
      expect(lost).toEqual([]);
      expect(inbox.filter((r) => r.status !== 'done')).toEqual([]);
      const stored = new Map<string, number>();
      for (const r of inbox) if (r.message_id) stored.set(r.message_id, (stored.get(r.message_id) ?? 0) + 1);
      expect([...stored.entries()].filter(([id, n]) => n > 1 && !id.includes('form'))).toEqual([]);
      expect(inbox.filter((r) => r.channel === 'form').length).toBeGreaterThanOrEqual(accepted.form);
      // Nobody notified twice: each mail action was relayed under one Message-ID only.
      const actions = await store.db
        .selectFrom('outbox_actions')
        .select(['kind', 'status', 'idempotency_key'])
        .where('kind', 'like', 'mail.%')
        .execute();
      expect(actions.filter((a) => a.status !== 'done' && a.status !== 'dead')).toEqual([]);
      const notices = actions.filter((a) => a.kind === 'mail.notice');
      const cases = await sql<{ n: string | number }>`select count(*) as n from cases`.execute(store.db);
      expect(notices.length).toBe(Number(cases.rows[0]!.n));
      const byMessageId = new Map<string, Set<string>>();
      for (const m of sinks.mails) {
        const key = `${JSON.stringify(m.to)}|${m.subject}`;
        const set = byMessageId.get(key) ?? new Set<string>();
        set.add(m.messageId ?? '');
        byMessageId.set(key, set);
      }
      expect([...byMessageId.entries()].filter(([, set]) => set.size > 1)).toEqual([]);
    } finally {
      await store.close();
    }
    const verify = await runCli(cliEnv, dataDir, ['audit', 'verify']);
    expect(verify.code).toBe(0);

    // RSS flat: the median of the last generation with enough samples against the first's (each after its
    // warm-up third).
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const warm = (g: number) => {
      const samples = rss.filter((s) => s.generation === g);
      return samples.slice(Math.floor(samples.length / 3)).map((s) => s.rssMiB);
    };
    const sampled = [...new Set(rss.map((s) => s.generation))].filter((g) => warm(g).length >= 3);
    expect(sampled.length, 'RSS sampled in at least one generation').toBeGreaterThan(0);
    const first = median(warm(sampled[0]!));
    const lastGeneration = sampled[sampled.length - 1]!;
    const last = median(warm(lastGeneration));
    const summary = {
      soak: 'serve',
      minutes: MINUTES,
      killEverySeconds: KILL_EVERY_MS / 1000,
      kills,
      accepted: { smtp: accepted.smtp.size, api: accepted.api.size, form: accepted.form },
      mailsRelayed: sinks.mails.length,
      rssMiB: {
        firstGenerationMedian: first,
        lastGenerationMedian: last,
        max: Math.max(...rss.map((s) => s.rssMiB)),
      },
      rssCurve: rss,
    };
    console.log(JSON.stringify(summary));
    // Flat: within 25 % (plus 40 MiB for PGlite's caches) of where the first generation settled.
    expect(last).toBeLessThan(first * 1.25 + 40);
    if (MINUTES >= 5) expect(kills).toBeGreaterThanOrEqual(2);
  });
});
