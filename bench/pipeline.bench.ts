/**
 * `npm run bench -- pipeline [--rows 10000,100000,1000000] [--customers 5000] [--heap-mb 768] [--semi-space-mb 0]`:
 * the feed pipeline end to end
 * (issue 14). A generated registry of `customers` (5,000) customers (`aupdesk registry generate`, every
 * customer bound to INFINCE's AUP), then for each size a Shadowserver `scan_dns` report whose addresses fall
 * in the customers' IPv4 assignments: half its rows on services that already have an open case (a seed
 * report opened them, not timed), half on services that have none (the first such row opens a case and
 * queues its notice, the rest join it). Timed: `aupdesk ingest <report>` in a process of its own (as an
 * operator runs it, so its peak RSS is the command's alone) — report accepted, parsed, events judged, cases
 * opened or joined, notices in the outbox, audit chained.
 *
 * Reports events/s end to end, the parse floor (events/s of the parser alone on the same file, on this
 * thread: `streamReport`, chunk by chunk as the desk reads a big report) and their ratio, and the ingest
 * process's peak RSS (sampled from /proc every 100 ms). The report file is written row by row, so a
 * million rows never sit in this process either. On the embedded store (PGlite, a data directory on disk)
 * unless DATABASE_URL is set (then a fresh schema). Progress goes to stderr; the last stdout line is one
 * JSON object `{"bench":"pipeline",...}`.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { main } from '../src/cli/main.js';
import { streamReport } from '../src/intake/report-stream.js';
import { profiled } from '../test/e2e/serve-process.js';
import { sourceLaunchArgs } from '../test/support/built-cli.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const rowsFlag = process.argv.indexOf('--rows');
const sizes = (rowsFlag >= 0 ? process.argv[rowsFlag + 1]! : '10000,100000,1000000')
  .split(',')
  .map((s) => Number(s.replace(/_/g, '')));
// The ingest process's V8 heap limit (MB; 0: Node's default, a quarter of the machine's memory here): V8
// lets garbage pile up to its limit before it collects it all, so the limit, not the report, bounds the RSS.
const heapFlag = process.argv.indexOf('--heap-mb');
const heapMb = heapFlag >= 0 ? Number(process.argv[heapFlag + 1]) : 768;
// The ingest process's young generation (`--max-semi-space-size`, MB; 0: Node's default, 16): a larger one
// collects the pipeline's short-lived objects less often, for more memory (docs/operations.md, Sizing).
const semiSpaceFlag = process.argv.indexOf('--semi-space-mb');
const semiSpaceMb = semiSpaceFlag >= 0 ? Number(process.argv[semiSpaceFlag + 1]) : 0;
const customersFlag = process.argv.indexOf('--customers');
const customers = customersFlag >= 0 ? Number(process.argv[customersFlag + 1]) : 5_000;
if (
  sizes.some((n) => !Number.isInteger(n) || n < 2) ||
  !Number.isInteger(customers) ||
  customers < 10 ||
  !Number.isInteger(semiSpaceMb) ||
  semiSpaceMb < 0
) {
  log(
    'usage: npm run bench -- pipeline [--rows 10000,100000] [--customers 5000] [--heap-mb 768] [--semi-space-mb 64]',
  );
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');
const postgres = Boolean(process.env.DATABASE_URL);

async function cli(dir: string, args: string[]): Promise<string> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errs.push(c));
  const code = await main(['--data', dir, ...args], { out, err });
  if (code !== 0) {
    throw new Error(
      `aupdesk ${args.join(' ')} exited ${code}: ${Buffer.concat(errs).toString().slice(-2000)}`,
    );
  }
  return Buffer.concat(chunks).toString();
}

/** Each service's first IPv4 address (network + 1) from the generated registry file, by service. */
function serviceAddresses(csv: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of csv.split('\n').slice(1)) {
    const f = line.split(',');
    const service = f[2];
    const resource = f[4];
    if (!service || !resource || seen.has(service) || f[6]) continue;
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(resource);
    if (!m) continue;
    seen.add(service);
    const prefix = Number(m[5]);
    const last = prefix >= 32 ? Number(m[4]) : Number(m[4]) + 1;
    out.push(`${m[1]}.${m[2]}.${m[3]}.${last}`);
  }
  return out;
}

const HEADER =
  '"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo","region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"';

/** A `scan_dns` report of `rows` rows, row i on `addressOf(i)`, written to `file` as it is generated. */
async function writeScanDnsReport(
  file: string,
  addressOf: (i: number) => string,
  rows: number,
  at: Date,
  salt: string,
): Promise<void> {
  const out = createWriteStream(file);
  let lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    // One second apart, so each row is a distinct observation (its own fingerprint).
    const t = new Date(at.getTime() + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    lines.push(
      `"${t}","${addressOf(i)}","udp",53,"${salt}-${i}.example.net","openresolver","dnsmasq-2.${i % 90}",64496,"NL","NOORD-HOLLAND","AMSTERDAM","${(i % 97) / 10 + 1}",,,517311,0,`,
    );
    if (lines.length >= 10_000) {
      if (!out.write(`${lines.join('\r\n')}\r\n`))
        await new Promise<void>((r) => out.once('drain', () => r()));
      lines = [];
    }
  }
  if (lines.length > 0) out.write(`${lines.join('\r\n')}\r\n`);
  out.end();
  await finished(out);
}

/** Linux's USER_HZ: the unit of /proc/<pid>/stat's CPU times (100 on every Linux build in use). */
const CLOCK_TICKS = 100;

/** `aupdesk ingest <file>` in a child process: its stdout, wall time and peak RSS (VmRSS sampled). */
async function ingestInChild(
  dir: string,
  file: string,
): Promise<{ out: string; seconds: number; peakRss: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : []),
      ...(semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`] : []),
      ...profiled(),
      ...sourceLaunchArgs(),
      '--data',
      dir,
      'ingest',
      file,
    ],
    { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
    for (const line of c.toString().split('\n')) if (line.startsWith('ingest:')) log(`    ${line}`);
  });
  let peakRss = 0;
  // The process's CPU time (user + system, all its threads), as last sampled: it misses at most the last
  // 100 ms, and it is steadier than the wall time from run to run, so a change in it shows sooner.
  let cpuTicks = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakRss = Math.max(peakRss, kb * 1024);
    const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '');
    // Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    if (Number.isFinite(ticks)) cpuTicks = Math.max(cpuTicks, ticks);
  };
  const sampler = setInterval(() => void sample(), 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`aupdesk ingest exited ${code}: ${err.slice(-2000)}`);
  return { out, seconds, peakRss, cpuSeconds: cpuTicks / CLOCK_TICKS };
}

/**
 * CPU seconds the PostgreSQL server's processes have used so far (user + system), read from /proc: each live
 * `postgres` process's own time plus what its exited children used (a backend that has ended is counted in
 * the postmaster's). The difference over a run is the server's share of the work; it includes whatever else
 * the server did meanwhile (autovacuum, the other benchmark-free databases: idle here).
 */
async function serverCpuSeconds(): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (open < 0 || stat.slice(open + 1, close) !== 'postgres') continue;
    // Fields 14–17 (utime, stime, cutime, cstime), counted after the command name's closing parenthesis.
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / CLOCK_TICKS;
}

interface SizeResult {
  rows: number;
  seconds: number;
  eventsPerSecond: number;
  parseEventsPerSecond: number;
  parseFloorRatio: string;
  peakRssMiB: number;
  /** CPU time of the ingest process (all threads: the parsing thread's too). */
  ingestCpuSeconds: number;
  /** CPU time of the PostgreSQL server over the ingest (null on PGlite, which runs in the ingest process). */
  serverCpuSeconds: number | null;
  cases: string;
}

async function runSize(rows: number): Promise<SizeResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-bench-pipeline-'));
  const schema = `bench_pipeline_${process.pid}_${rows}_${Date.now()}`;
  if (postgres) process.env.AUPDESK_DB_SCHEMA = schema;
  process.env.AUPDESK_PROVIDER = 'infince';
  process.env.AUPDESK_LOG_LEVEL = 'silent';
  try {
    await cli(dir, ['policy', 'publish', path.join(root, 'policies/infince/2019-08-01.yaml')]);
    const registry = path.join(dir, 'registry.csv');
    await cli(dir, [
      'registry',
      'generate',
      '--customers',
      String(customers),
      '--seed',
      '14',
      '--policy',
      'infince@2019-08-01',
      '--out',
      registry,
    ]);
    await cli(dir, ['registry', 'import', registry]);
    const addresses = serviceAddresses(await readFile(registry, 'utf8'));
    // Half the services get a case first (the seed report, one row each); the report's other half of rows
    // goes to services without one.
    const half = Math.floor(addresses.length / 2);
    const existing = addresses.slice(0, Math.min(half, Math.ceil(rows / 2)));
    const fresh = addresses.slice(half, half + Math.min(half, Math.ceil(rows / 2)));
    const now = Date.now();
    const seedFile = path.join(dir, '2026-01-14-scan_dns-bench_seed-geo.csv');
    await writeScanDnsReport(
      seedFile,
      (i) => existing[i]!,
      existing.length,
      new Date(now - 6 * 3_600_000),
      'seed',
    );
    log(`  ${rows} rows: seeding ${existing.length} open cases …`);
    await cli(dir, ['ingest', seedFile]);

    const file = path.join(dir, `2026-01-15-scan_dns-bench_${rows}-geo.csv`);
    await writeScanDnsReport(
      file,
      (i) => (i % 2 === 0 ? existing[(i / 2) % existing.length]! : fresh[((i - 1) / 2) % fresh.length]!),
      rows,
      new Date(now - 3 * 3_600_000),
      'bench',
    );

    // The parse floor: the same file through the streamed parser alone, on this thread. Since stop 16 the
    // stream also makes each event's fingerprint (the pipeline's before), so the floor is lower than the
    // earlier ones and the ratio to it is not comparable with theirs (docs/benchmarks.md says by how much).
    const p0 = performance.now();
    let parsedEvents = 0;
    for await (const chunk of streamReport({
      path: file,
      fileName: path.basename(file),
      channel: 'file',
      receivedAt: new Date(),
      evidenceSha256: '0'.repeat(64),
    })) {
      parsedEvents += chunk.events.length;
    }
    const parseSeconds = (performance.now() - p0) / 1000;
    if (parsedEvents !== rows) throw new Error(`parsed ${parsedEvents} events of ${rows} rows`);

    log(`  ${rows} rows: ingest …`);
    const server0 = postgres ? await serverCpuSeconds() : 0;
    const { out, seconds, peakRss, cpuSeconds } = await ingestInChild(dir, file);
    const serverCpu = postgres ? (await serverCpuSeconds()) - server0 : null;
    const casesLine = out.split('\n').find((l) => l.startsWith('cases:')) ?? '';
    const eventsLine = out.split('\n').find((l) => l.startsWith('ingest:')) ?? '';
    if (!eventsLine.includes(`${rows} event`)) throw new Error(`ingest said: ${out}`);
    const eventsPerSecond = rows / seconds;
    const parseEventsPerSecond = rows / parseSeconds;
    const result = {
      rows,
      seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(eventsPerSecond),
      parseEventsPerSecond: Math.round(parseEventsPerSecond),
      parseFloorRatio: `1/${Math.round(parseEventsPerSecond / eventsPerSecond)}`,
      peakRssMiB: Math.round(peakRss / 1024 / 1024),
      ingestCpuSeconds: Math.round(cpuSeconds * 10) / 10,
      serverCpuSeconds: serverCpu === null ? null : Math.round(serverCpu * 10) / 10,
      cases: /(\d+ opened, \d+ joined)/.exec(casesLine)?.[1] ?? '',
    };
    log(`  ${JSON.stringify(result)}`);
    return result;
  } finally {
    // The run's schema holds its million rows: dropped, as the serve benchmark drops its own.
    if (postgres) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

const results: SizeResult[] = [];
for (const rows of sizes) {
  log(`pipeline: ${rows} rows, ${customers} customers, ${postgres ? 'PostgreSQL' : 'PGlite'} …`);
  results.push(await runSize(rows));
}

process.stdout.write(
  `${JSON.stringify({
    bench: 'pipeline',
    store: postgres ? 'postgresql' : 'pglite',
    customers,
    heapLimitMb: heapMb > 0 ? heapMb : null,
    semiSpaceMb: semiSpaceMb > 0 ? semiSpaceMb : null,
    machine: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
    results,
  })}\n`,
);
