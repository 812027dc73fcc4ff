import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import nodemailer from 'nodemailer';
import { SmtpIntakeServer } from '../src/intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../src/intake/evidence-store.js';
import { InboxCommitter } from '../src/intake/intake-inbox.js';
import { openStore } from '../src/store/database.js';

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
}

function complaint(i: number) {
  return {
    from: `reporter${i % 50}@example.net`,
    to: 'abuse@desk.test',
    subject: `Spam from 192.0.2.${i % 250}`,
    text: `We received unsolicited mail from 192.0.2.${i % 250} at 2026-02-28T22:${String(i % 60).padStart(2, '0')}:00Z.\n\n${'Received: from mx.example (192.0.2.1)\n'.repeat(20)}`,
    messageId: `<bench-${i}-${process.pid}@example.net>`,
  };
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
  const latencies: number[] = [];
  try {
    // Warm-up: connections, JIT, the first fan-out directories.
    await runClients(port, clients, 200, 1_000_000, []);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await runClients(port, clients, messages, 0, latencies);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    latencies.sort((a, b) => a - b);
    const at = (q: number): number =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
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
      serverCpuMsPerMessage: Math.round(((cpu.user + cpu.system) / 1000 / messages) * 100) / 100,
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

/**
 * The clients run in a child process: they stand in for other machines, so their MIME building and SMTP
 * client work must not take the server's event loop (on one thread they took ~15% of it), and the server
 * process's CPU time then counts the server alone.
 */
function runClients(
  port: number,
  clients: number,
  messages: number,
  offset: number,
  latencies: number[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const job = JSON.stringify({ port, clients, messages, offset });
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), '--smtp-clients', job],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`SMTP clients exited with ${code}: ${last.slice(0, 500)}`));
        return;
      }
      latencies.push(...(JSON.parse(last) as { latencies: number[] }).latencies);
      resolve();
    });
  });
}

async function sendAll(
  port: number,
  clients: number,
  messages: number,
  offset: number,
  latencies: number[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: 1,
        maxMessages: Number.POSITIVE_INFINITY,
      });
      try {
        for (let i = c; i < messages; i += clients) {
          const t0 = performance.now();
          const info = await transport.sendMail(complaint(offset + i));
          if (!/^250/.test(info.response)) throw new Error(`not accepted: ${info.response}`);
          latencies.push(performance.now() - t0);
        }
      } finally {
        transport.close();
      }
    }),
  );
}

const clientsArg = process.argv.indexOf('--smtp-clients');
if (clientsArg > 0) {
  const job = JSON.parse(process.argv[clientsArg + 1]!) as {
    port: number;
    clients: number;
    messages: number;
    offset: number;
  };
  const latencies: number[] = [];
  await sendAll(job.port, job.clients, job.messages, job.offset, latencies);
  process.stdout.write(`${JSON.stringify({ latencies })}\n`);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await smtpWorkload({
    messages: Number(process.argv[2] ?? 5_000),
    clients: Number(process.argv[3] ?? 20),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
