/**
 * `npm run bench -- flows [--seconds 3] [--no-fastnetmon]`: the flow collectors and detectors.
 *
 *  1. One core, in process: background NetFlow v9 / IPFIX / sFlow datagrams of 80,000 customer hosts
 *     (5,000 VPS services of a /28 each) with a scan and a flood injected, decoded and run through the
 *     detectors; flows per second of CPU time (the machine is shared, so CPU time, not wall time).
 *  2. Loopback UDP, `aupdesk flows listen` (its own process) and FastNetMon 1.2.4 (Debian's package, a temp
 *     config listening for NetFlow and sFlow on loopback) fed the same datagrams at rising rates, one
 *     collector at a time, by a sender process of its own (bench/flows-sender.ts). A step counts as taken
 *     without drops when the kernel's drop counter of the collector's sockets (/proc/net/udp) did not move
 *     AND the collector counted every flow sent (aupdesk: its totals on SIGUSR2; FastNetMon: its
 *     Prometheus flow counters). The rate reported for a step is the flows sent over the time from the
 *     first datagram to the last flow counted, so a backlog the socket buffer hid is paid for.
 *     Socket buffers: as root (unless --no-sysctl) net.core.rmem_max is raised to 64 MiB for the run and
 *     restored after; aupdesk asks for 64 MiB (`--receive-buffer`), FastNetMon, which sets no buffer of its
 *     own, is started with net.core.rmem_default at the size aupdesk was granted (restored as soon as its
 *     sockets exist), so both collectors get the same buffer; `ss` shows both.
 *  3. Detection time: over background traffic (20,000 flows/s), a UDP flood and a SYN scan start; time from the first attack
 *     datagram sent to aupdesk's JSON line read, and to FastNetMon's notify script running (it records the
 *     time). FastNetMon detects floods only; its flood threshold stays at the Debian default (20,000 pps per
 *     host) and ours at the VPS default (30,000 pps).
 *
 * Ends with one JSON line {"bench":"flows", …}. Options: --seconds <per step, 5>, --rates <flows/s,…>,
 * --quick, --no-fastnetmon, --no-sysctl.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDetectConfig } from '../src/detect/detect-config.js';
import type { Detection } from '../src/detect/detection.js';
import { FlowDispatcher } from '../src/detect/flow-collector.js';
import { FlowDetectors } from '../src/detect/flow-detectors.js';
import { snapshotFromRegistryText } from '../src/registry/registry-file-snapshot.js';
import { sourceLaunchArgs } from '../test/support/built-cli.js';
import type { SendResult, SendRun } from './flows-sender.js';
import { CoreSysctls, cpuSecondsOf, socketBuffer, udpDrops } from './flows-system.js';
import {
  backgroundCorpus,
  FLOOD_SOURCE,
  FLOWS_PER_DATAGRAM,
  floodDatagram,
  HOSTS,
  ipfixTemplate,
  networksList,
  registryCsv,
  SAMPLES_PER_SFLOW,
  SCAN_SOURCE,
  scanDatagram,
  v9Template,
} from './flows-traffic.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const STEP_SECONDS = arg('--seconds', 5);
const WITH_FNM = !process.argv.includes('--no-fastnetmon') && existsSync('/usr/sbin/fastnetmon');
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(import.meta.dirname, '..');

// ---- 1. one core, in process -------------------------------------------------------------------------
log(`generating traffic of ${HOSTS} hosts …`);
const registryText = registryCsv();
const snapshot = snapshotFromRegistryText(registryText, 'csv');
const corpus = backgroundCorpus(4000);
const detections: Detection[] = [];
const detectors = new FlowDetectors({
  snapshot,
  config: parseDetectConfig({}),
  onDetection: (d) => detections.push(d),
});
let simNow = Date.now();
const dispatcher = new FlowDispatcher(detectors, { clock: () => simNow });
dispatcher.netflow(v9Template(), '192.0.2.1');
dispatcher.netflow(ipfixTemplate(), '192.0.2.1');
const flood = floodDatagram();
const scans = Array.from({ length: 8 }, (_, i) => scanDatagram(i * FLOWS_PER_DATAGRAM));
// Simulated time: the corpus stands for one million flows a second.
const usPerNetflow = (FLOWS_PER_DATAGRAM / 1e6) * 1e3;
function pass(inject: boolean): number {
  let flows = 0;
  for (let d = 0; d < corpus.netflow.length; d++) {
    simNow += usPerNetflow;
    dispatcher.netflow(corpus.netflow[d]!, '192.0.2.1');
    flows += FLOWS_PER_DATAGRAM;
    if (d % 10 === 0) {
      dispatcher.sflowDatagram(corpus.sflow[d / 10]!, '192.0.2.2');
      flows += SAMPLES_PER_SFLOW;
    }
    if (inject && d % 100 === 0) {
      dispatcher.netflow(flood, '192.0.2.1');
      dispatcher.netflow(scans[(d / 100) % scans.length]!, '192.0.2.1');
      flows += 10 + FLOWS_PER_DATAGRAM;
    }
  }
  return flows;
}
pass(true); // warm-up (JIT), also where the injected attacks are detected
const rounds: number[] = [];
for (let r = 0; r < 5; r++) {
  const cpu0 = process.cpuUsage();
  const flows = pass(true);
  const cpu = process.cpuUsage(cpu0);
  rounds.push(flows / ((cpu.user + cpu.system) / 1e6));
}
const inProcess = Math.max(...rounds);
const dropsInProcess = dispatcher.totals.dropped;
const found = new Set(detections.map((d) => `${d.detector} ${d.sourceIp}`));
log(
  `in process, one core: ${Math.round(inProcess).toLocaleString('en')} flows/s of CPU time (rounds ${rounds.map((r) => Math.round(r / 1000)).join(', ')} k); ` +
    `detections: ${[...found].join('; ')}; dropped datagrams ${dropsInProcess}`,
);
if (!found.has(`dos ${FLOOD_SOURCE}`) || !found.has(`port-scan ${SCAN_SOURCE}`))
  throw new Error('the injected attacks were not detected');

// ---- 2 and 3. loopback: aupdesk flows listen and FastNetMon ----------------------------------------------
const dir = await mkdtemp(path.join(os.tmpdir(), 'aupdesk-bench-flows-'));
await writeFile(path.join(dir, 'registry.csv'), registryText);
// Socket buffers: a bench run on our own VM as root may raise the kernel's cap for its duration.
const RECEIVE_BUFFER = 64 * 1024 * 1024;
const sysctls = new CoreSysctls(log);
process.on('exit', () => sysctls.restoreAll());
/** The collectors and the sender, stopped with the benchmark when it is interrupted. */
const children: ChildProcess[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    sysctls.restoreAll();
    for (const child of children) child.kill('SIGTERM');
    process.exit(130);
  });
const mayRaise =
  !process.argv.includes('--no-sysctl') &&
  process.getuid?.() === 0 &&
  existsSync(CoreSysctls.path('rmem_max'));
const rmemMaxBefore = sysctls.read('rmem_max');
if (mayRaise && rmemMaxBefore < RECEIVE_BUFFER) sysctls.set('rmem_max', RECEIVE_BUFFER);
else
  log(
    `sysctl: net.core.rmem_max ${rmemMaxBefore} (not raised${mayRaise ? '' : ': not root or --no-sysctl'})`,
  );
const rmemMaxDuring = sysctls.read('rmem_max');

const ours = spawn(
  process.execPath,
  [
    ...sourceLaunchArgs(),
    'flows',
    'listen',
    '--netflow-port',
    '0',
    '--sflow-port',
    '0',
    '--registry',
    path.join(dir, 'registry.csv'),
    '--receive-buffer',
    String(RECEIVE_BUFFER),
    '--json',
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AUPDESK_DATA: dir } },
);
children.push(ours);
let oursErr = '';
const oursLines: Array<{ at: number; line: Record<string, unknown> }> = [];
let totalsWaiter: ((t: { datagrams: number; flows: number }) => void) | null = null;
ours.stderr!.setEncoding('utf8').on('data', (c: string) => {
  oursErr += c;
  const all = [...c.matchAll(/totals: (\d+) datagrams, (\d+) flows/g)];
  const last = all[all.length - 1];
  if (last && totalsWaiter) {
    const w = totalsWaiter;
    totalsWaiter = null;
    w({ datagrams: Number(last[1]), flows: Number(last[2]) });
  }
});
/** aupdesk's running totals (it prints them on SIGUSR2). */
function oursTotals(): Promise<{ datagrams: number; flows: number }> {
  return new Promise((resolve) => {
    totalsWaiter = resolve;
    ours.kill('SIGUSR2');
  });
}
let buffered = '';
ours.stdout!.setEncoding('utf8').on('data', (c: string) => {
  const at = Date.now();
  buffered += c;
  let nl = buffered.indexOf('\n');
  while (nl >= 0) {
    oursLines.push({ at, line: JSON.parse(buffered.slice(0, nl)) as Record<string, unknown> });
    buffered = buffered.slice(nl + 1);
    nl = buffered.indexOf('\n');
  }
});
const deadline = Date.now() + 60_000;
while (!/NetFlow\/IPFIX on 127\.0\.0\.1:(\d+), sFlow on 127\.0\.0\.1:(\d+)/.test(oursErr)) {
  if (Date.now() > deadline || ours.exitCode !== null)
    throw new Error(`aupdesk flows listen did not start: ${oursErr}`);
  await sleep(50);
}
const [, ourNetflow, ourSflow] = /NetFlow\/IPFIX on 127\.0\.0\.1:(\d+), sFlow on 127\.0\.0\.1:(\d+)/
  .exec(oursErr)!
  .map(Number) as [number, number, number];
const granted = /NetFlow\/IPFIX: receive buffer asked \d+ bytes, kernel granted (\d+)/.exec(oursErr);
const oursBuffer = granted ? Number(granted[1]) : null;
log(oursErr.trim());

let fnm: ChildProcess | undefined;
const FNM_NETFLOW = 32055 + Math.floor(Math.random() * 1000);
const FNM_SFLOW = FNM_NETFLOW + 1000;
const FNM_PROM = FNM_NETFLOW + 2000;
const fnmVersion = WITH_FNM
  ? spawnSync('/usr/sbin/fastnetmon', ['--version'], { encoding: 'utf8' }).stdout.trim() || '1.2.4'
  : null;
if (WITH_FNM) {
  await writeFile(path.join(dir, 'networks'), networksList());
  await writeFile(path.join(dir, 'white'), '');
  await writeFile(
    path.join(dir, 'notify.sh'),
    `#!/bin/sh\necho "$(date +%s.%N) $1 $2 $3 $4" >> ${dir}/bans.log\ncat > /dev/null\n`,
    { mode: 0o755 },
  );
  // Debian's defaults (/etc/fastnetmon.conf) for detection; collectors on loopback, files in the temp dir.
  await writeFile(
    path.join(dir, 'fastnetmon.conf'),
    [
      'logging_level = info',
      'enable_ban = on',
      'enable_ban_ipv6 = off',
      'process_incoming_traffic = on',
      'process_outgoing_traffic = on',
      'ban_time = 1900',
      'unban_only_if_attack_finished = on',
      `networks_list_path = ${dir}/networks`,
      `white_list_path = ${dir}/white`,
      'check_period = 1',
      'enable_connection_tracking = on',
      'ban_for_pps = on',
      'ban_for_bandwidth = on',
      'ban_for_flows = off',
      'threshold_pps = 20000',
      'threshold_mbps = 1000',
      'threshold_flows = 3500',
      'average_calculation_time = 5',
      'speed_calculation_delay = 1',
      'netflow = on',
      `netflow_port = ${FNM_NETFLOW}`,
      'netflow_host = 127.0.0.1',
      'netflow_sampling_ratio = 1',
      'sflow = on',
      `sflow_port = ${FNM_SFLOW}`,
      'sflow_host = 127.0.0.1',
      `notify_script_path = ${dir}/notify.sh`,
      `pid_path = ${dir}/fastnetmon.pid`,
      `cli_stats_file_path = ${dir}/fastnetmon.dat`,
      `cli_stats_ipv6_file_path = ${dir}/fastnetmon_ipv6.dat`,
      'enable_api = off',
      'prometheus = on',
      'prometheus_host = 127.0.0.1',
      `prometheus_port = ${FNM_PROM}`,
      'monitor_local_ip_addresses = off',
      'disable_usage_report = on',
      '',
    ].join('\n'),
  );
  // FastNetMon sets no receive buffer of its own: its sockets get net.core.rmem_default, raised to what
  // aupdesk was granted while they are created.
  if (mayRaise && oursBuffer !== null) sysctls.set('rmem_default', oursBuffer);
  fnm = spawn(
    '/usr/sbin/fastnetmon',
    [
      '--configuration_file',
      `${dir}/fastnetmon.conf`,
      '--log_file',
      `${dir}/fastnetmon.log`,
      '--disable_pid_logic',
    ],
    {
      stdio: 'ignore',
    },
  );
}

/**
 * Flows FastNetMon processed: `fastnetmon_total_simple_packets_processed` counts every NetFlow/IPFIX flow
 * and sFlow sample it handed to its detection (checked by hand: 5 v9 + 5 IPFIX datagrams of 36 flows and
 * one sFlow datagram of 8 samples gave 368). Its per-protocol counters overlap
 * (`netflow_ipfix_all_protocols_total_flows` already includes the v9 flows), so they are not summed.
 */
async function fnmFlows(): Promise<number> {
  if (!fnm) return 0;
  try {
    const text = await (await fetch(`http://127.0.0.1:${FNM_PROM}/metrics`)).text();
    const m = /^fastnetmon_total_simple_packets_processed (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return Number.NaN;
  }
}

if (fnm) {
  const until = Date.now() + 60_000;
  while (Number.isNaN(await udpDrops(FNM_NETFLOW)) || Number.isNaN(await udpDrops(FNM_SFLOW))) {
    if (Date.now() > until || fnm.exitCode !== null)
      throw new Error(
        `FastNetMon did not start: ${await readFile(`${dir}/fastnetmon.log`, 'utf8').catch(() => '')}`,
      );
    await sleep(200);
  }
  await sleep(500);
  children.push(fnm);
  // Only the last entry (rmem_default) is undone here; rmem_max stays raised until the end.
  if (mayRaise && oursBuffer !== null) sysctls.restoreLast();
}
const buffers = {
  aupdesk: { netflow: socketBuffer(ourNetflow), sflow: socketBuffer(ourSflow) },
  fastnetmon: fnm ? { netflow: socketBuffer(FNM_NETFLOW), sflow: socketBuffer(FNM_SFLOW) } : null,
};
log(`socket receive buffers (ss, bytes): ${JSON.stringify(buffers)}`);

const socket = dgram.createSocket('udp4');
socket.bind(0, '127.0.0.1');
await new Promise((r) => socket.once('listening', r));
socket.setSendBufferSize(8 * 1024 * 1024);
const targets = (kind: 'netflow' | 'sflow'): number[] =>
  kind === 'netflow' ? [ourNetflow, ...(fnm ? [FNM_NETFLOW] : [])] : [ourSflow, ...(fnm ? [FNM_SFLOW] : [])];
function sendBoth(bytes: Uint8Array, kind: 'netflow' | 'sflow'): void {
  for (const port of targets(kind)) socket.send(bytes, port, '127.0.0.1');
}
for (const t of [v9Template(), ipfixTemplate()]) sendBoth(t, 'netflow');

/**
 * Send background at `flowsPerSecond` for `seconds` (1 ms ticks), calling `each(msSinceStart)` every tick.
 * At most 64 datagrams wait in the sender's queue (a longer queue would add its own delay to the detection
 * times). Returns the rate actually sent.
 */
async function sendAt(flowsPerSecond: number, seconds: number, each?: (ms: number) => void): Promise<number> {
  const start = performance.now();
  let sent = 0;
  let d = 0;
  let lastTemplate = start;
  while (performance.now() - start < seconds * 1000) {
    const elapsed = performance.now() - start;
    const due = (elapsed / 1000) * flowsPerSecond;
    while (sent < due && socket.getSendQueueCount() < 64) {
      sendBoth(corpus.netflow[d % corpus.netflow.length]!, 'netflow');
      sent += FLOWS_PER_DATAGRAM;
      if (d % 10 === 0) {
        sendBoth(corpus.sflow[(d / 10) % corpus.sflow.length]!, 'sflow');
        sent += SAMPLES_PER_SFLOW;
      }
      d++;
    }
    if (performance.now() - lastTemplate > 1000) {
      for (const t of [v9Template(), ipfixTemplate()]) sendBoth(t, 'netflow');
      lastTemplate = performance.now();
    }
    each?.(elapsed);
    // A timer, not setImmediate: a sender spinning at 100% would take the CPU the collectors need.
    await sleep(1);
  }
  while (socket.getSendQueueCount() > 0) await sleep(5);
  return sent / ((performance.now() - start) / 1000);
}

// The sender: its own process, so it competes with neither this process's event loop nor the collector's.
const sender = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/flows-sender.ts')], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
children.push(sender);
const senderMessages: Array<(m: { kind: string }) => void> = [];
sender.on('message', (m: { kind: string }) => senderMessages.shift()?.(m));
const fromSender = <T>() => new Promise<T>((resolve) => senderMessages.push((m) => resolve(m as T)));
await fromSender<{ kind: 'ready' }>();
async function send(run: Omit<SendRun, 'kind'>): Promise<SendResult> {
  const answer = fromSender<SendResult>();
  sender.send({ kind: 'run', ...run } satisfies SendRun);
  return answer;
}

interface Step {
  collector: 'aupdesk' | 'fastnetmon';
  target: number;
  /** Flows sent, and the rate over the sending time. */
  sentFlows: number;
  sent: number;
  /** Kernel drops of the collector's sockets during the step (datagrams). */
  drops: number;
  /** Flows the collector counted during the step (after it drained). */
  counted: number;
  /** Time after the last datagram sent until the collector had counted every flow (ms; null: never). */
  drainMs: number | null;
  /** Flows sent over the time from the first datagram to the last flow counted (clean steps). */
  taken: number;
  collectorCpuPerDatagramUs: number;
  /** Flows counted per second of the collector's CPU time: what one core of its own would take. */
  collectorFlowsPerCpuSecond: number;
  /** CPU seconds of the collector over the time it was busy (sending, then until its count stopped). */
  collectorCpuShare: number;
  senderCpuShare: number;
  clean: boolean;
}
const steps: Step[] = [];
const rates = (() => {
  const i = process.argv.indexOf('--rates');
  if (i > 0) return process.argv[i + 1]!.split(',').map(Number);
  return process.argv.includes('--quick')
    ? [250_000, 1_000_000]
    : [100_000, 250_000, 375_000, 500_000, 750_000, 875_000, 1_000_000, 1_250_000];
})();
const collectors = [
  {
    name: 'aupdesk' as const,
    netflow: ourNetflow,
    sflow: ourSflow,
    pid: ours.pid,
    counted: async () => (await oursTotals()).flows,
  },
  ...(fnm
    ? [
        {
          name: 'fastnetmon' as const,
          netflow: FNM_NETFLOW,
          sflow: FNM_SFLOW,
          pid: fnm.pid,
          counted: fnmFlows,
        },
      ]
    : []),
];
for (const target of rates) {
  for (const c of collectors) {
    // Start with every collector idle: a backlog left by the step before (this collector's, or the other's
    // still draining its socket buffer on the other core) would be charged to this step.
    for (const other of collectors)
      for (let last = -1, until = performance.now() + 30_000; performance.now() < until; ) {
        const now = await other.counted();
        if (now === last) break;
        last = now;
        await sleep(500);
      }
    const drops0 = (await udpDrops(c.netflow)) + (await udpDrops(c.sflow));
    const counted0 = await c.counted();
    const cpu0 = cpuSecondsOf(c.pid);
    const result = await send({
      flowsPerSecond: target,
      seconds: STEP_SECONDS,
      netflowPort: c.netflow,
      sflowPort: c.sflow,
    });
    const sentAt = performance.now();
    // Wait until the collector has counted what was sent (or 5 s: it never will, something was lost).
    let counted = (await c.counted()) - counted0;
    let drainMs: number | null = null;
    // When the count last moved: the collector was busy until then (after drops it stops early).
    let movedMs = 0;
    for (;;) {
      if (counted >= result.flows) {
        drainMs = Math.round(performance.now() - sentAt);
        movedMs = drainMs;
        break;
      }
      if (performance.now() - sentAt >= 5000) break;
      await sleep(c.name === 'aupdesk' ? 20 : 250);
      const next = (await c.counted()) - counted0;
      if (next !== counted) movedMs = performance.now() - sentAt;
      counted = next;
    }
    const cpu = cpuSecondsOf(c.pid) - cpu0;
    const drops = (await udpDrops(c.netflow)) + (await udpDrops(c.sflow)) - drops0;
    const busySeconds = result.seconds + movedMs / 1000;
    const step: Step = {
      collector: c.name,
      target,
      sentFlows: result.flows,
      sent: Math.round(result.flows / result.seconds),
      drops,
      counted,
      drainMs,
      taken: Math.round(result.flows / busySeconds),
      collectorCpuPerDatagramUs: Math.round((cpu / result.datagrams) * 1e7) / 10,
      collectorFlowsPerCpuSecond: Math.round(counted / cpu),
      collectorCpuShare: Math.round((cpu / busySeconds) * 100) / 100,
      senderCpuShare: Math.round((result.cpuSeconds / result.seconds) * 100) / 100,
      clean: drops === 0 && counted === result.flows && result.failed === 0 && drainMs !== null,
    };
    steps.push(step);
    log(
      `loopback ${c.name} ${target.toLocaleString('en')} flows/s target: sent ${step.sent.toLocaleString('en')}/s (sender CPU ${step.senderCpuShare}); ` +
        `kernel drops ${drops} datagrams, counted ${counted.toLocaleString('en')} of ${result.flows.toLocaleString('en')} flows, ` +
        `drained ${drainMs ?? 'never'} ms after, taken ${step.taken.toLocaleString('en')} flows/s; collector CPU ${step.collectorCpuShare} ` +
        `(${step.collectorCpuPerDatagramUs} µs a datagram, ${step.collectorFlowsPerCpuSecond.toLocaleString('en')} flows per CPU second)${step.clean ? '' : ' — NOT clean'}; load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
  }
}
sender.send({ kind: 'exit' });
const dropFree = (name: Step['collector']) =>
  Math.max(0, ...steps.filter((s) => s.collector === name && s.clean).map((s) => s.taken));
const oursLoopback = dropFree('aupdesk');
const fnmLoopback = fnm ? dropFree('fastnetmon') : null;
/** At the best clean step: flows per second of the collector's own CPU time (what a core of its own takes). */
const perCpu = (name: Step['collector']) =>
  steps
    .filter((s) => s.collector === name && s.clean)
    .reduce<Step | null>((best, s) => (best === null || s.taken > best.taken ? s : best), null)
    ?.collectorFlowsPerCpuSecond ?? null;

// Detection time over background traffic at 20,000 flows/s (a rate both collectors take without drops here).
await sleep(6000); // let rates from the throughput steps fade out of every window
const linesBefore = oursLines.length;
let floodAt = 0;
let scanAt = 0;
let scanFrom = 10_000;
await sendAt(20_000, 8, (ms) => {
  if (ms >= 2000) {
    if (floodAt === 0) floodAt = Date.now();
    sendBoth(flood, 'netflow'); // 10 flows of 1,000 packets per ms tick: ~10 million pps
  }
  if (ms >= 4000) {
    if (scanAt === 0) scanAt = Date.now();
    if (Math.floor(ms) % 10 === 0) {
      sendBoth(scanDatagram(scanFrom), 'netflow');
      scanFrom += FLOWS_PER_DATAGRAM;
    }
  }
});
await sleep(6000);
const after = oursLines.slice(linesBefore);
const ourFlood = after.find((l) => l.line.detector === 'dos' && l.line['source.ip'] === FLOOD_SOURCE);
const ourScan = after.find((l) => l.line.detector === 'port-scan' && l.line['source.ip'] === SCAN_SOURCE);
let fnmFloodMs: number | null = null;
if (fnm) {
  const bans = existsSync(`${dir}/bans.log`) ? await readFile(`${dir}/bans.log`, 'utf8') : '';
  const ban = bans.split('\n').find((l) => l.includes(FLOOD_SOURCE) && /\bban\b/.test(l));
  if (ban) fnmFloodMs = Math.round(Number(ban.split(' ')[0]) * 1000 - floodAt);
  log(`FastNetMon notify calls: ${bans.trim().split('\n').filter(Boolean).length}`);
}
const ourFloodMs = ourFlood ? ourFlood.at - floodAt : null;
if (ourFlood)
  log(
    `aupdesk flood line: detected_at ${String(ourFlood.line.detected_at)} (${Date.parse(String(ourFlood.line.detected_at)) - floodAt} ms after the flood began), read ${ourFloodMs} ms after`,
  );
const ourScanMs = ourScan ? ourScan.at - scanAt : null;
log(
  `detection: aupdesk flood ${ourFloodMs ?? 'none'} ms, scan ${ourScanMs ?? 'none'} ms; FastNetMon flood ${fnmFloodMs ?? 'none'} ms, scan (not detected by design)`,
);

ours.kill('SIGTERM');
fnm?.kill('SIGTERM');
await sleep(500);
socket.close();
await rm(dir, { recursive: true, force: true });
sysctls.restoreAll();

const ratio = (a: number | null, b: number | null) => (a && b ? Math.round((a / b) * 100) / 100 : null);
process.stdout.write(
  `${JSON.stringify({
    bench: 'flows',
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    hosts: HOSTS,
    in_process_flows_per_cpu_second: Math.round(inProcess),
    loopback_drop_free_flows_per_second: {
      aupdesk: oursLoopback,
      fastnetmon: fnmLoopback,
      ratio: ratio(oursLoopback, fnmLoopback),
    },
    loopback_flows_per_collector_cpu_second: {
      aupdesk: perCpu('aupdesk'),
      fastnetmon: fnm ? perCpu('fastnetmon') : null,
    },
    loopback_steps: steps,
    rmem_max: { before: rmemMaxBefore, during: rmemMaxDuring },
    socket_buffers: buffers,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    detection_ms: {
      aupdesk_flood: ourFloodMs,
      aupdesk_scan: ourScanMs,
      fastnetmon_flood: fnmFloodMs,
      fastnetmon_over_aupdesk_flood: ratio(fnmFloodMs, ourFloodMs),
    },
    fastnetmon: fnmVersion,
  })}\n`,
);
