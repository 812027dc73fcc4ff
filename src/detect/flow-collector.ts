import dgram from 'node:dgram';
import { IpfixDecoder } from './decoders/ipfix-decoder.js';
import { NetflowV5Decoder } from './decoders/netflow-v5-decoder.js';
import { NetflowV9Decoder } from './decoders/netflow-v9-decoder.js';
import { SflowDecoder } from './decoders/sflow-decoder.js';
import type { DecodeReport, DropReason, FlowSink } from './flow-record.js';

/**
 * The UDP collectors: one socket for NetFlow v5, v9 and IPFIX (told apart by the first two bytes, the
 * version: 5, 9, 10), one for sFlow v5. Each datagram is decoded synchronously into the sink (the
 * detectors) in the socket's message handler: no queue between them, so a datagram is done before the
 * next is read, and the kernel's socket buffer absorbs bursts.
 *
 * That buffer is what decides whether a burst is dropped: the kernel's default (net.core.rmem_default,
 * 208 KiB on Linux) holds about 170 datagrams of 1,250 bytes, a few milliseconds of a busy router, so a
 * collector that is not scheduled for that long drops. Each socket asks for `receiveBufferBytes`
 * (default 32 MiB) when it is created; the kernel grants at most net.core.rmem_max, and what it granted is
 * kept in `receiveBuffers` for the caller to report (it says so when it is less than asked).
 *
 * A datagram that is malformed (truncated, unknown template, length lie, wrong version) is counted per
 * exporter and reason and dropped; whatever a decoder throws is caught and counted as `decoder-error`, so
 * a hostile datagram never takes the collector down.
 */
export type CollectorDropReason = DropReason | 'decoder-error';

export interface ExporterStats {
  datagrams: number;
  flows: number;
  readonly dropped: Map<CollectorDropReason, number>;
}

export interface FlowCollectorOptions {
  readonly sink: FlowSink & { now: number };
  readonly host?: string;
  /** 0: any free port; undefined: that collector is off. */
  readonly netflowPort?: number | undefined;
  readonly sflowPort?: number | undefined;
  /** SO_RCVBUF asked for each socket (default `DEFAULT_RECEIVE_BUFFER_BYTES`). */
  readonly receiveBufferBytes?: number | undefined;
  readonly templateTimeoutMs?: number;
  readonly clock?: () => number;
}

export const DEFAULT_RECEIVE_BUFFER_BYTES = 32 * 1024 * 1024;

/**
 * The receive buffer a socket asked for and the one the kernel reports (`getRecvBufferSize`). Linux caps
 * the value set at net.core.rmem_max and then doubles it (room for its own bookkeeping), so there
 * `granted` is twice `asked` unless capped; `capped` says the kernel gave less than that.
 */
export interface ReceiveBuffer {
  readonly asked: number;
  readonly granted: number;
  readonly capped: boolean;
}

/** One line for a log: the size asked, the size granted, and what to do when the kernel capped it. */
export function receiveBufferNote(socket: string, b: ReceiveBuffer): string {
  const head = `${socket}: receive buffer asked ${b.asked} bytes, kernel granted ${b.granted}`;
  return b.capped
    ? `${head}, less than asked (net.core.rmem_max caps it; bursts longer than the granted buffer are dropped: raise it with \`sysctl -w net.core.rmem_max=${b.asked}\`)`
    : head;
}

/** Decodes datagrams into a sink and keeps the per-exporter figures; no sockets (the collector adds them). */
export class FlowDispatcher {
  readonly v5 = new NetflowV5Decoder();
  readonly v9: NetflowV9Decoder;
  readonly ipfix: IpfixDecoder;
  readonly sflow = new SflowDecoder();
  readonly exporters = new Map<string, ExporterStats>();
  private readonly report: DecodeReport = { flows: 0, dropped: null };
  private readonly clock: () => number;

  constructor(
    private readonly sink: FlowSink & { now: number },
    options: { templateTimeoutMs?: number | undefined; clock?: (() => number) | undefined } = {},
  ) {
    const t = options.templateTimeoutMs === undefined ? {} : { templateTimeoutMs: options.templateTimeoutMs };
    this.v9 = new NetflowV9Decoder(t);
    this.ipfix = new IpfixDecoder(t);
    this.clock = options.clock ?? Date.now;
  }

  /** A NetFlow-port datagram (v5, v9 or IPFIX). */
  netflow(buffer: Uint8Array, exporter: string): void {
    const stats = this.statsOf(exporter);
    const now = this.clock();
    this.sink.now = now;
    let reason: CollectorDropReason | null;
    // No closure or object per datagram: this runs some 30,000 times a second at a million flows.
    try {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const version = buffer.byteLength >= 2 ? view.getUint16(0) : -1;
      if (version === 5) this.v5.decode(view, exporter, this.sink, this.report);
      else if (version === 9) this.v9.decode(view, exporter, this.sink, this.report, now);
      else if (version === 10) this.ipfix.decode(view, exporter, this.sink, this.report, now);
      else {
        this.report.flows = 0;
        this.report.dropped = buffer.byteLength < 2 ? 'truncated' : 'bad-version';
      }
      reason = this.report.dropped;
    } catch {
      reason = 'decoder-error';
    }
    this.count(stats, reason);
  }

  sflowDatagram(buffer: Uint8Array, exporter: string): void {
    const stats = this.statsOf(exporter);
    this.sink.now = this.clock();
    let reason: CollectorDropReason | null;
    try {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      this.sflow.decode(view, exporter, this.sink, this.report);
      reason = this.report.dropped;
    } catch {
      reason = 'decoder-error';
    }
    this.count(stats, reason);
  }

  private lastExporter = '';
  private lastStats: ExporterStats | null = null;

  private statsOf(exporter: string): ExporterStats {
    // Most datagrams come from the exporter of the one before: skip the map for them.
    if (exporter === this.lastExporter && this.lastStats !== null) return this.lastStats;
    let stats = this.exporters.get(exporter);
    if (stats === undefined) {
      // Bounded: spoofed exporter addresses must not grow this without limit.
      if (this.exporters.size >= 10_000) this.exporters.clear();
      stats = { datagrams: 0, flows: 0, dropped: new Map() };
      this.exporters.set(exporter, stats);
    }
    this.lastExporter = exporter;
    this.lastStats = stats;
    return stats;
  }

  private count(stats: ExporterStats, reason: CollectorDropReason | null): void {
    stats.datagrams++;
    // Also after a throw: the decoder zeroes the count first, so it holds the flows the sink already got.
    stats.flows += this.report.flows;
    if (reason !== null) stats.dropped.set(reason, (stats.dropped.get(reason) ?? 0) + 1);
  }

  get totals(): { datagrams: number; flows: number; dropped: number } {
    let datagrams = 0;
    let flows = 0;
    let dropped = 0;
    for (const s of this.exporters.values()) {
      datagrams += s.datagrams;
      flows += s.flows;
      for (const n of s.dropped.values()) dropped += n;
    }
    return { datagrams, flows, dropped };
  }
}

export class FlowCollector {
  readonly dispatcher: FlowDispatcher;
  private readonly sockets: dgram.Socket[] = [];
  netflowAddress: { host: string; port: number } | null = null;
  sflowAddress: { host: string; port: number } | null = null;
  /** What each socket asked of the kernel for its receive buffer and what it got (after `start`). */
  readonly receiveBuffers: { netflow?: ReceiveBuffer; sflow?: ReceiveBuffer } = {};

  constructor(private readonly options: FlowCollectorOptions) {
    this.dispatcher = new FlowDispatcher(options.sink, {
      templateTimeoutMs: options.templateTimeoutMs,
      clock: options.clock,
    });
  }

  async start(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    if (this.options.netflowPort !== undefined) {
      const bound = await this.bind(host, this.options.netflowPort, (msg, exporter) =>
        this.dispatcher.netflow(msg, exporter),
      );
      this.netflowAddress = { host, port: bound.port };
      this.receiveBuffers.netflow = bound.buffer;
    }
    if (this.options.sflowPort !== undefined) {
      const bound = await this.bind(host, this.options.sflowPort, (msg, exporter) =>
        this.dispatcher.sflowDatagram(msg, exporter),
      );
      this.sflowAddress = { host, port: bound.port };
      this.receiveBuffers.sflow = bound.buffer;
    }
  }

  private bind(
    host: string,
    port: number,
    handle: (msg: Buffer, exporter: string) => void,
  ): Promise<{ port: number; buffer: ReceiveBuffer }> {
    const asked = this.options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES;
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (msg, rinfo) => handle(msg, rinfo.address));
      socket.bind(port, host, () => {
        socket.off('error', reject);
        // A later socket error (ICMP unreachable echoes, buffer trouble) is not a reason to stop collecting.
        socket.on('error', () => undefined);
        // Set here rather than by createSocket's `recvBufferSize`, which throws from inside bind where
        // it cannot be caught; Linux caps the size silently (net.core.rmem_max), other kernels may refuse.
        try {
          socket.setRecvBufferSize(asked);
        } catch {
          // The default buffer still works; `granted` below says what it is.
        }
        const granted = socket.getRecvBufferSize();
        const expected = process.platform === 'linux' ? 2 * asked : asked;
        resolve({ port: socket.address().port, buffer: { asked, granted, capped: granted < expected } });
      });
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
  }
}
