import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SmtpIntakeServer } from '../src/intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../src/intake/evidence-store.js';
import { InboxCommitter } from '../src/intake/inbox/inbox-accept.js';
import { openStore } from '../src/store/database.js';
import { quantiles, runSmtpClients } from './smtp-clients.js';

/**
 * Messages sent before the measured ones, on the same connections: the figures are a running desk's
 * steady state. A fresh process is slower for its first thousand or so messages while V8 optimises the
 * hot paths and PGlite warms up; on a 2-vCPU AMD EPYC the measured run did 739 messages/s after 400
 * warm-up messages and 1,153 after 2,000. The warm-up's own rate is reported as `warmup`.
 */
const WARMUP = 2_000;

/**
 * SMTP intake throughput with durable storage: `clients` concurrent nodemailer clients (one pooled
 * connection each) on loopback send `messages` distinct complaints to abuse@; each `250` means the
 * evidence file was fsynced (file and directory) and the inbox row committed. Reports messages accepted
 * per second and the time from `sendMail` to the `250` (p50, p99): that time includes the client's
 * MAIL/RCPT/DATA round trips, so it is an upper bound of the server's own time to answer.
 *
 * The store is a PGlite data directory on disk (the embedded default), or PostgreSQL when DATABASE_URL is
 * set. Inbox rows are group-committed (InboxCommitter: one transaction for all rows that arrive while the
 * previous commit runs); evidence fsyncs run concurrently in libuv's thread pool.
 *
 * Runnable alone: `node --import tsx bench/serve-smtp.workload.ts [messages] [clients]`.
 */

export interface SmtpWorkloadOptions {
  readonly messages?: number;
  readonly clients?: number;
}

export interface SmtpWorkloadResult {
  readonly bench: 'serve-smtp';
  readonly backend: 'pglite' | 'postgres';
  readonly messages: number;
  readonly clients: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * CPU time of the server process (SMTP, evidence, database) per accepted message, in ms: the rate one
   * dedicated core could sustain is about 1000 / this.
   */
  readonly serverCpuMsPerMessage: number;
  /**
   * Not in the figures above: each connection's first message, sent in the warm-up (TCP connect,
   * smtp-server's fixed 100 ms early-talker pause before the greeting, EHLO, then the message), ms.
   */
  readonly firstMessageOnNewConnectionMs: { readonly p50: number; readonly max: number };
  /** The warm-up on a fresh server (connections included), not in the figures above. */
  readonly warmup: { readonly messages: number; readonly messagesPerSecond: number };
}

export async function smtpWorkload(options: SmtpWorkloadOptions = {}): Promise<SmtpWorkloadResult> {
  const messages = options.messages ?? 5_000;
  const clients = options.clients ?? 20;
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-bench-smtp-'));
  const url = process.env.DATABASE_URL;
  const store = await openStore(
    url
      ? { databaseUrl: url, schema: `bench_smtp_${process.pid}`, poolSize: 8 }
      : { pgliteDir: path.join(dir, 'pglite') },
  );
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const server = new SmtpIntakeServer(
    {
      db: store.db,
      evidence,
      committer: new InboxCommitter(store.db),
    },
    { port: 0, maxConnectionsPerClient: clients + 5, rateLimit: { messages: 1_000_000, perMs: 1_000 } },
  );
  const port = await server.listen();
  try {
    // The clients warm up on their own connections first (connections, JIT of both processes), then time
    // themselves from their first measured sendMail to their last 250, so neither the child's start-up nor
    // the warm-up is in `seconds`. The server's CPU time is taken over the whole child run, so it is divided
    // by every message the run sent.
    const cpuBefore = process.cpuUsage();
    const { latencies, seconds, firstOnConnection, warmupSeconds } = await runSmtpClients({
      port,
      clients,
      messages,
      warmup: WARMUP,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const at = quantiles(latencies);
    const firstAt = quantiles(firstOnConnection);
    return {
      bench: 'serve-smtp',
      backend: store.kind,
      messages,
      clients,
      seconds: Math.round(seconds * 100) / 100,
      messagesPerSecond: Math.round(messages / seconds),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: at(1),
      serverCpuMsPerMessage: Math.round(((cpu.user + cpu.system) / 1000 / (messages + WARMUP)) * 100) / 100,
      firstMessageOnNewConnectionMs: { p50: firstAt(0.5), max: firstAt(1) },
      warmup: { messages: WARMUP, messagesPerSecond: Math.round(WARMUP / warmupSeconds) },
    };
  } finally {
    await server.close();
    // Lets the background copy into the blob tree finish before the directory is removed.
    await evidence.close();
    if (url) await store.db.schema.dropSchema(`bench_smtp_${process.pid}`).ifExists().cascade().execute();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await smtpWorkload({
    messages: Number(process.argv[2] ?? 5_000),
    clients: Number(process.argv[3] ?? 20),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
