/**
 * `npm run bench -- serve [--messages N] [--clients N] [--cases N] [--connections N] [--seconds N]`: the
 * service benchmark of issue 6, its three parts one after the other so they never share the two cores:
 *
 * - smtp: `clients` (20) concurrent nodemailer clients (a separate process, warmed up with 2,000 messages
 *   on their own connections) send `messages` (3,000) distinct complaints on loopback; each `250` means
 *   evidence fsynced and inbox row committed. Messages/s and p99 time to `250`, and the warm-up's rate.
 *   Targets: ≥ 1,000 messages/s, p99 ≤ 50 ms.
 * - api: `GET /api/v1/cases?limit=50` under `connections` (50) autocannon connections for `seconds` (10) s
 *   against 5,000 cases, as an analyst and as a customer. p99 (the issue names no target).
 * - desk: the same SMTP burst against a whole `aupdesk serve` process whose pipeline works the complaints
 *   off meanwhile: the SMTP figures then, and the pipeline's rate until the inbox is empty (no target).
 *
 * On the embedded store (a PGlite data directory on disk) unless DATABASE_URL is set. Progress goes to
 * stderr; the last stdout line is one JSON object `{"bench":"serve",...}`.
 */
import os from 'node:os';
import { apiWorkload } from './serve-api.workload.js';
import { deskWorkload } from './serve-desk.workload.js';
import { smtpWorkload } from './serve-smtp.workload.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a positive whole number\n`);
    process.exit(2);
  }
  return value;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const messages = flag('messages', 3_000);
const clients = flag('clients', 20);
const cases = flag('cases', 5_000);
const connections = flag('connections', 50);
const seconds = flag('seconds', 10);

log(`serve: SMTP intake, ${messages} messages from ${clients} clients …`);
const smtp = await smtpWorkload({ messages, clients });
log(`  ${JSON.stringify(smtp)}`);
gc();

log(`serve: API case list, ${cases} cases, ${connections} connections for ${seconds} s …`);
const api = await apiWorkload({ cases, connections, seconds });
log(`  ${JSON.stringify(api)}`);
gc();

log(
  `serve: the whole desk (aupdesk serve), ${messages} messages from ${clients} clients, then the backlog …`,
);
const desk = await deskWorkload({ messages, clients });
log(`  ${JSON.stringify(desk)}`);

const result = {
  bench: 'serve',
  machine: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`,
  loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
  date: new Date().toISOString(),
  backend: smtp.backend,
  smtp: {
    messages: smtp.messages,
    clients: smtp.clients,
    messagesPerSecond: smtp.messagesPerSecond,
    p50Ms: smtp.p50Ms,
    p99Ms: smtp.p99Ms,
    maxMs: smtp.maxMs,
    // Ratios to the targets: > 1 is better than the target for throughput, < 1 for latency.
    ratioToTargetRate: Math.round((smtp.messagesPerSecond / 1000) * 100) / 100,
    ratioToTargetP99: Math.round((smtp.p99Ms / 50) * 100) / 100,
    firstMessageOnNewConnectionMs: smtp.firstMessageOnNewConnectionMs,
    serverCpuMsPerMessage: smtp.serverCpuMsPerMessage,
    // A fresh server's first messages (connections included), before the measured run: not in the targets.
    warmup: smtp.warmup,
  },
  api: {
    cases: api.cases,
    connections: api.connections,
    seconds: api.seconds,
    analyst: api.analyst,
    customer: api.customer,
  },
  desk: {
    smtpMessagesPerSecond: desk.smtpMessagesPerSecond,
    smtpP50Ms: desk.smtpP50Ms,
    smtpP99Ms: desk.smtpP99Ms,
    drainedAfterSeconds: desk.drainedAfterSeconds,
    processedPerSecond: desk.processedPerSecond,
    serverCpuMsPerComplaint: desk.serverCpuMsPerComplaint,
  },
  targets: {
    smtpMessagesPerSecond: smtp.messagesPerSecond >= 1000,
    smtpP99: smtp.p99Ms <= 50,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
