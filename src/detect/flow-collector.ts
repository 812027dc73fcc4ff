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
 * next is read, and the kernel's socket buffer (raised to `receiveBufferBytes`) absorbs bursts.
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
  readonly receiveBufferBytes?: number;
  readonly templateTimeoutMs?: number;
  readonly clock?: () => number;
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
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const now = this.clock();
    this.sink.now = now;
    this.guard(exporter, () => {
      const version = buffer.byteLength >= 2 ? view.getUint16(0) : -1;
      if (version === 5) this.v5.decode(view, exporter, this.sink, this.report);
      else if (version === 9) this.v9.decode(view, exporter, this.sink, this.report, now);
      else if (version === 10) this.ipfix.decode(view, exporter, this.sink, this.report, now);
      else {
        this.report.flows = 0;
        this.report.dropped = buffer.byteLength < 2 ? 'truncated' : 'bad-version';
      }
    });
  }

  sflowDatagram(buffer: Uint8Array, exporter: string): void {
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.sink.now = this.clock();
    this.guard(exporter, () => this.sflow.decode(view, exporter, this.sink, this.report));
  }

  private guard(exporter: string, decode: () => void): void {
    let stats = this.exporters.get(exporter);
    if (stats === undefined) {
      // Bounded: spoofed exporter addresses must not grow this without limit.
      if (this.exporters.size >= 10_000) this.exporters.clear();
      stats = { datagrams: 0, flows: 0, dropped: new Map() };
      this.exporters.set(exporter, stats);
    }
    stats.datagrams++;
    let reason: CollectorDropReason | null;
    try {
      decode();
      reason = this.report.dropped;
    } catch {
      reason = 'decoder-error';
    }
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

  constructor(private readonly options: FlowCollectorOptions) {
    this.dispatcher = new FlowDispatcher(options.sink, {
      templateTimeoutMs: options.templateTimeoutMs,
      clock: options.clock,
    });
  }

  async start(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    if (this.options.netflowPort !== undefined) {
      const port = await this.bind(host, this.options.netflowPort, (msg, exporter) =>
        this.dispatcher.netflow(msg, exporter),
      );
      this.netflowAddress = { host, port };
    }
    if (this.options.sflowPort !== undefined) {
      const port = await this.bind(host, this.options.sflowPort, (msg, exporter) =>
        this.dispatcher.sflowDatagram(msg, exporter),
      );
      this.sflowAddress = { host, port };
    }
  }

  private bind(host: string, port: number, handle: (msg: Buffer, exporter: string) => void): Promise<number> {
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (msg, rinfo) => handle(msg, rinfo.address));
      socket.bind(port, host, () => {
        socket.off('error', reject);
        // A later socket error (ICMP unreachable echoes, buffer trouble) is not a reason to stop collecting.
        socket.on('error', () => undefined);
        try {
          socket.setRecvBufferSize(this.options.receiveBufferBytes ?? 8 * 1024 * 1024);
        } catch {
          // The kernel caps it (net.core.rmem_max); the default still works.
        }
        resolve(socket.address().port);
      });
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
  }
}
