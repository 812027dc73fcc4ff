import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { servedAt, serveEnv, serveReady, spawnServe } from '../test/e2e/serve-process.js';
import { quantiles, runSmtpClients } from './smtp-clients.js';

/**
 * The whole desk under a burst: a real `aupdesk serve` process (every role, the embedded store unless
 * DATABASE_URL is set, the seed policies, iITGEN's AUP) takes `messages` complaints from `clients`
 * concurrent SMTP clients while its inbox worker parses, attributes and judges them and its enforcement
 * loop sends what they call for. Reports the SMTP figures as the clients saw them, then how long the desk
 * took to work the backlog off (the pipeline's rate, from its /metrics), and the server process's CPU time.
 *
 * Beside `smtpWorkload` (the intake alone), this shows what the pipeline costs a process that also takes
 * mail: on the embedded store both share one event loop and one database connection.
 *
 * Runnable alone: `node --import tsx bench/serve-desk.workload.ts [messages] [clients]`.
 */

export interface DeskWorkloadResult {
  readonly bench: 'serve-desk';
  readonly backend: 'pglite' | 'postgres';
  readonly messages: number;
  readonly clients: number;
  readonly smtpMessagesPerSecond: number;
  readonly smtpP50Ms: number;
  readonly smtpP99Ms: number;
  /** From the first measured message to an empty inbox, seconds. */
  readonly drainedAfterSeconds: number;
  /** Complaints through the whole pipeline per second over that time. */
  readonly processedPerSecond: number;
  /** The serve process's CPU time per complaint (intake and pipeline), ms. */
  readonly serverCpuMsPerComplaint: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const WARMUP = 200;

export async function deskWorkload(
  options: { messages?: number; clients?: number } = {},
): Promise<DeskWorkloadResult> {
  const messages = options.messages ?? 3_000;
  const clients = options.clients ?? 20;
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-bench-desk-'));
  const url = process.env.DATABASE_URL;
  const schema = `bench_desk_${process.pid}`;
  const env = serveEnv({
    AUPDESK_LOG_LEVEL: 'warn',
    AUPDESK_SMTP_HOST: undefined,
    AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: String(clients * 2),
    AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: '100000000',
    ...(url ? { AUPDESK_DB_SCHEMA: schema } : {}),
  });
  // The CLI from source, as the e2e tests run it (test/e2e/serve-process.ts): no build to go stale.
  const args = ['--data', dir, 'serve', '--http-port', '0', '--smtp-port', '0'];
  args.push('--policy', path.join(root, 'policies'), '--provider', 'iitgen');
  const proc = spawnServe('desk', args, env);
  const desk = proc.child;
  try {
    await serveReady(proc);
    const { smtpPort, httpUrl } = servedAt(proc);
    if (!smtpPort || !httpUrl) throw new Error(`aupdesk serve printed no ports:\n${proc.stdout}`);
    const cpuBefore = await cpuMs(desk.pid!);
    const started = performance.now();
    const result = await runSmtpClients({ port: smtpPort, clients, messages, warmup: WARMUP });
    for (;;) {
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      if (/^aupdesk_inbox_items\{status="pending"\} 0$/m.test(metrics)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const drained = (performance.now() - started) / 1000;
    const cpu = (await cpuMs(desk.pid!)) - cpuBefore;
    const at = quantiles(result.latencies);
    return {
      bench: 'serve-desk',
      backend: url ? 'postgres' : 'pglite',
      messages,
      clients,
      smtpMessagesPerSecond: Math.round(messages / result.seconds),
      smtpP50Ms: at(0.5),
      smtpP99Ms: at(0.99),
      drainedAfterSeconds: Math.round(drained * 10) / 10,
      processedPerSecond: Math.round((messages + WARMUP) / drained),
      serverCpuMsPerComplaint: Math.round((cpu / (messages + WARMUP)) * 100) / 100,
    };
  } finally {
    desk.kill('SIGTERM');
    await proc.exited;
    if (url) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** User + system CPU time of a process so far, ms (Linux /proc; clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await deskWorkload({
    messages: Number(process.argv[2] ?? 3_000),
    clients: Number(process.argv[3] ?? 20),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
