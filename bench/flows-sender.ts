/**
 * The flows benchmark's sender, a process of its own (started by bench/flows.bench.ts with an IPC channel)
 * so that sending never competes with the benchmark's own event loop, and its CPU time is its own figure.
 *
 * It builds the same background corpus as the benchmark (bench/flows-traffic.ts, same seed) once, then on
 * each `run` message sends it to one collector's two ports at the asked rate and answers with what it sent.
 * The hot loop allocates nothing of its own: the datagrams are built before, and each socket is connected
 * to its port, so `send` goes straight to the kernel (an unconnected socket resolves the address for every
 * datagram, which defers each send to the next tick). Pacing is in batches: every ~0.5 ms the datagrams
 * due by then are sent back to back, then the process sleeps in `Atomics.wait` (a precise sleep that uses
 * no CPU, where a timer's 1 ms minimum and a busy loop's CPU would both distort the rate).
 */
import dgram from 'node:dgram';
import {
  backgroundCorpus,
  FLOWS_PER_DATAGRAM,
  ipfixTemplate,
  SAMPLES_PER_SFLOW,
  v9Template,
} from './flows-traffic.js';

export interface SendRun {
  readonly kind: 'run';
  readonly flowsPerSecond: number;
  readonly seconds: number;
  readonly netflowPort: number;
  readonly sflowPort: number;
}

export interface SendResult {
  readonly kind: 'sent';
  /** Flows and datagrams handed to the kernel (loopback delivers or drops them at the receiving socket). */
  readonly flows: number;
  readonly datagrams: number;
  readonly seconds: number;
  /** Send calls that failed (the socket's send buffer full: EAGAIN/ENOBUFS): those flows were not sent. */
  readonly failed: number;
  /** This process's CPU time during the run, seconds. */
  readonly cpuSeconds: number;
}

const corpus = backgroundCorpus(4000);
const templates = [v9Template(), ipfixTemplate()];
const sockets = new Map<number, dgram.Socket>();
const pause = new Int32Array(new SharedArrayBuffer(4));

async function connected(port: number): Promise<dgram.Socket> {
  let socket = sockets.get(port);
  if (socket) return socket;
  socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket!.once('error', reject);
    socket!.connect(port, '127.0.0.1', () => resolve());
  });
  socket.setSendBufferSize(4 * 1024 * 1024);
  sockets.set(port, socket);
  return socket;
}

async function run(r: SendRun): Promise<SendResult> {
  const netflow = await connected(r.netflowPort);
  const sflow = await connected(r.sflowPort);
  let failed = 0;
  const onSent = (err: Error | null): void => {
    if (err) failed++;
  };
  for (const t of templates) netflow.send(t, onSent);
  // Let the templates reach the collector before data that needs them.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + r.seconds * 1000;
  let flows = 0;
  let datagrams = 0;
  let d = 0;
  let lastTemplate = start;
  const nf = corpus.netflow;
  const sf = corpus.sflow;
  for (let now = start; now < end; now = performance.now()) {
    const due = ((now - start) / 1000) * r.flowsPerSecond;
    while (flows < due) {
      netflow.send(nf[d % nf.length]!, onSent);
      flows += FLOWS_PER_DATAGRAM;
      datagrams++;
      if (d % 10 === 0) {
        sflow.send(sf[(d / 10) % sf.length]!, onSent);
        flows += SAMPLES_PER_SFLOW;
        datagrams++;
      }
      d++;
    }
    if (now - lastTemplate > 1000) {
      for (const t of templates) netflow.send(t, onSent);
      lastTemplate = now;
    }
    Atomics.wait(pause, 0, 0, 0.5);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Callbacks of the sends run on the event loop: let them count failures before answering.
  await new Promise((resolve) => setImmediate(resolve));
  while (netflow.getSendQueueCount() + sflow.getSendQueueCount() > 0)
    await new Promise((r) => setTimeout(r, 5));
  return { kind: 'sent', flows, datagrams, seconds, failed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

process.on('message', (m: SendRun | { kind: 'exit' }) => {
  if (m.kind === 'exit') {
    for (const s of sockets.values()) s.close();
    process.disconnect();
    return;
  }
  void run(m).then((result) => process.send!(result));
});
process.send!({ kind: 'ready' });
