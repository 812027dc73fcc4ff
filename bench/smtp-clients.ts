import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import nodemailer, { type Transporter } from 'nodemailer';

/**
 * The SMTP clients of the serve-smtp benchmark, run as their own process: they stand in for the other
 * machines that send a desk mail, so their work must not take the server's event loop or be counted in the
 * server's CPU time. This module imports nodemailer and nothing of aupdesk, so the process is sending
 * within ~0.2 s of its start.
 *
 * `node --import tsx bench/smtp-clients.ts '<job JSON>'` sends `messages` distinct complaints to abuse@
 * over `clients` pooled connections (one each) and prints one JSON line: each message's time from
 * `sendMail` to the `250`, and the wall time from the first `sendMail` to the last `250` of the measured
 * messages, taken here (process start-up and the warm-up are not in it).
 */

export interface SmtpClientsJob {
  readonly port: number;
  readonly clients: number;
  readonly messages: number;
  /**
   * Messages sent first on the same connections and not measured: they open the connections (TCP, the
   * server's 100 ms early-talker pause, EHLO) and warm both processes' code.
   */
  readonly warmup: number;
}

export interface SmtpClientsResult {
  readonly latencies: number[];
  readonly seconds: number;
  /** Each connection's first message (warm-up): connect, the server's greeting pause, EHLO, then the mail. */
  readonly firstOnConnection: number[];
  /** How long the warm-up took, connections included: a fresh server's cold rate. */
  readonly warmupSeconds: number;
}

/** A ~2 KB complaint, distinct for each `i` and process (a run never sends a duplicate). */
export function complaint(i: number) {
  return {
    from: `reporter${i % 50}@example.net`,
    to: 'abuse@desk.test',
    subject: `Spam from 192.0.2.${i % 250}`,
    text: `We received unsolicited mail from 192.0.2.${i % 250} at 2026-02-28T22:${String(i % 60).padStart(2, '0')}:00Z.\n\n${'Received: from mx.example (192.0.2.1)\n'.repeat(20)}`,
    messageId: `<bench-${i}-${process.pid}@example.net>`,
  };
}

export async function sendAll(job: SmtpClientsJob): Promise<SmtpClientsResult> {
  const transports = Array.from({ length: job.clients }, () =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: job.port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 1,
      maxMessages: Number.POSITIVE_INFINITY,
    }),
  );
  try {
    // Message numbers: the warm-up takes 0 … warmup-1, the measured run warmup … warmup+messages-1.
    const firstOnConnection: number[] = [];
    const warmupStarted = performance.now();
    await sendRound(transports, 0, job.warmup, [], firstOnConnection);
    const warmupSeconds = (performance.now() - warmupStarted) / 1000;
    const latencies: number[] = [];
    const started = performance.now();
    await sendRound(transports, job.warmup, job.messages, latencies);
    return { latencies, seconds: (performance.now() - started) / 1000, firstOnConnection, warmupSeconds };
  } finally {
    for (const transport of transports) transport.close();
  }
}

/**
 * Messages `first` … `first + count - 1`, each client sending one at a time on its own connection. Each
 * client's first message goes to `firstLatencies` when given, the rest (or all) to `latencies`.
 */
async function sendRound(
  transports: readonly Transporter[],
  first: number,
  count: number,
  latencies: number[],
  firstLatencies: number[] = latencies,
): Promise<void> {
  await Promise.all(
    transports.map(async (transport, c) => {
      for (let i = c; i < count; i += transports.length) {
        const t0 = performance.now();
        const info = (await transport.sendMail(complaint(first + i))) as { response: string };
        if (!/^250/.test(info.response)) throw new Error(`not accepted: ${info.response}`);
        (i === c ? firstLatencies : latencies).push(performance.now() - t0);
      }
    }),
  );
}

/**
 * Runs this module in a child process for `job` and resolves with what the clients measured. The
 * benchmarks call this, so the clients never share the server's process.
 */
export function runSmtpClients(job: SmtpClientsJob): Promise<SmtpClientsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), JSON.stringify(job)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`SMTP clients exited with ${code}: ${last.slice(0, 500)}`));
      else resolve(JSON.parse(last) as SmtpClientsResult);
    });
  });
}

/** The q-quantile (0…1) of `values`, to 0.1 (ms). */
export function quantiles(values: readonly number[]): (q: number) => number {
  const sorted = [...values].sort((a, b) => a - b);
  return (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
}

const jobArg = process.argv[2];
if (jobArg?.startsWith('{')) {
  const result = await sendAll(JSON.parse(jobArg) as SmtpClientsJob);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
