/**
 * Flow datagrams built byte by byte from the specifications (Cisco's NetFlow v5 layout, RFC 3954, RFC 7011,
 * InMon's sFlow v5), for the decoder tests, the end-to-end tests and the flows benchmark's generator.
 * Deliberately independent of the decoders: a shared mistake would let both agree on a wrong layout.
 */

export function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.grow(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }
  u64(v: number): this {
    return this.u32(Math.floor(v / 4294967296)).u32(v % 4294967296);
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  pad4(): this {
    while (this.length % 4 !== 0) this.u8(0);
    return this;
  }
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface FlowSpec {
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  protocol?: number;
  tcpFlags?: number;
  packets?: number;
  bytes?: number;
  inputIf?: number;
  outputIf?: number;
}

export function netflowV5(
  flows: readonly FlowSpec[],
  header: { uptimeMs?: number; unixSecs?: number; sampling?: number; sequence?: number } = {},
): Uint8Array {
  const uptime = header.uptimeMs ?? 3_600_000;
  const w = new Writer()
    .u16(5)
    .u16(flows.length)
    .u32(uptime)
    .u32(header.unixSecs ?? Math.floor(Date.now() / 1000))
    .u32(0)
    .u32(header.sequence ?? 0)
    .u8(0)
    .u8(0)
    .u16(header.sampling === undefined ? 0 : (1 << 14) | header.sampling);
  for (const f of flows) {
    w.u32(ipv4(f.src))
      .u32(ipv4(f.dst))
      .u32(0)
      .u16(f.inputIf ?? 1)
      .u16(f.outputIf ?? 2)
      .u32(f.packets ?? 1)
      .u32(f.bytes ?? 60)
      .u32(uptime - 1000)
      .u32(uptime - 10)
      .u16(f.srcPort ?? 40000)
      .u16(f.dstPort ?? 80)
      .u8(0)
      .u8(f.tcpFlags ?? 0x1b)
      .u8(f.protocol ?? 6)
      .u8(0)
      .u16(0)
      .u16(0)
      .u8(24)
      .u8(24)
      .u16(0);
  }
  return w.done();
}

/** The flow template both v9 and IPFIX tests use: (type, length) pairs. */
export const FLOW_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [8, 4], // source IPv4
  [12, 4], // destination IPv4
  [7, 2], // source port
  [11, 2], // destination port
  [4, 1], // protocol
  [6, 1], // TCP flags
  [2, 4], // packets
  [1, 4], // octets
  [10, 2], // input ifIndex
  [14, 2], // output ifIndex
];

export function flowRecordBytes(f: FlowSpec): Uint8Array {
  return new Writer()
    .u32(ipv4(f.src))
    .u32(ipv4(f.dst))
    .u16(f.srcPort ?? 40000)
    .u16(f.dstPort ?? 80)
    .u8(f.protocol ?? 6)
    .u8(f.tcpFlags ?? 0x1b)
    .u32(f.packets ?? 1)
    .u32(f.bytes ?? 60)
    .u16(f.inputIf ?? 1)
    .u16(f.outputIf ?? 2)
    .done();
}

export interface SetSpec {
  id: number;
  body: Uint8Array;
  /** Override the set's length field (to build length lies). */
  lengthOverride?: number;
}

export function v9TemplateSet(
  templates: ReadonlyArray<{ id: number; fields: ReadonlyArray<readonly [number, number]> }>,
): SetSpec {
  const w = new Writer();
  for (const t of templates) {
    w.u16(t.id).u16(t.fields.length);
    for (const [type, len] of t.fields) w.u16(type).u16(len);
  }
  return { id: 0, body: w.done() };
}

export function v9OptionsTemplateSet(
  id: number,
  scope: ReadonlyArray<readonly [number, number]>,
  options: ReadonlyArray<readonly [number, number]>,
): SetSpec {
  const w = new Writer()
    .u16(id)
    .u16(scope.length * 4)
    .u16(options.length * 4);
  for (const [t, l] of scope) w.u16(t).u16(l);
  for (const [t, l] of options) w.u16(t).u16(l);
  return { id: 1, body: w.pad4().done() };
}

export function dataSet(id: number, records: readonly Uint8Array[], pad = true): SetSpec {
  const w = new Writer();
  for (const r of records) w.bytes(r);
  if (pad) w.pad4();
  return { id, body: w.done() };
}

function sets(w: Writer, list: readonly SetSpec[]): void {
  for (const s of list) {
    w.u16(s.id)
      .u16(s.lengthOverride ?? 4 + s.body.length)
      .bytes(s.body);
  }
}

export function netflowV9(
  list: readonly SetSpec[],
  header: { uptimeMs?: number; unixSecs?: number; sourceId?: number; sequence?: number } = {},
): Uint8Array {
  const w = new Writer()
    .u16(9)
    .u16(list.length)
    .u32(header.uptimeMs ?? 3_600_000)
    .u32(header.unixSecs ?? Math.floor(Date.now() / 1000))
    .u32(header.sequence ?? 0)
    .u32(header.sourceId ?? 0);
  sets(w, list);
  return w.done();
}

/** IPFIX field specifier: [id, length] or [id, length, enterprise]. */
export type IpfixField = readonly [number, number] | readonly [number, number, number];

export function ipfixTemplateSet(
  templates: ReadonlyArray<{ id: number; fields: readonly IpfixField[]; scopeCount?: number }>,
  options = false,
): SetSpec {
  const w = new Writer();
  for (const t of templates) {
    w.u16(t.id).u16(t.fields.length);
    if (options) w.u16(t.scopeCount ?? 1);
    for (const f of t.fields) {
      if (f.length === 3)
        w.u16(f[0] | 0x8000)
          .u16(f[1])
          .u32(f[2]);
      else w.u16(f[0]).u16(f[1]);
    }
  }
  return { id: options ? 3 : 2, body: w.done() };
}

export function ipfixWithdrawal(templateIds: readonly number[], options = false): SetSpec {
  const w = new Writer();
  for (const id of templateIds) w.u16(id).u16(0);
  return { id: options ? 3 : 2, body: w.done() };
}

export function ipfix(
  list: readonly SetSpec[],
  header: { exportSecs?: number; domain?: number; sequence?: number; lengthOverride?: number } = {},
): Uint8Array {
  const w = new Writer()
    .u16(10)
    .u16(0)
    .u32(header.exportSecs ?? Math.floor(Date.now() / 1000))
    .u32(header.sequence ?? 0)
    .u32(header.domain ?? 0);
  sets(w, list);
  w.setU16(2, header.lengthOverride ?? w.length);
  return w.done();
}

/** Bytes of an IPFIX variable-length field: 1-byte length, or 255 and a 2-byte length. */
export function variableField(content: Uint8Array): Uint8Array {
  const w = new Writer();
  if (content.length < 255) w.u8(content.length);
  else w.u8(255).u16(content.length);
  return w.bytes(content).done();
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const w = new Writer();
  for (const p of parts) w.bytes(p);
  return w.done();
}

export function u(...values: Array<[number, number]>): Uint8Array {
  const w = new Writer();
  for (const [v, len] of values) {
    if (len === 1) w.u8(v);
    else if (len === 2) w.u16(v);
    else if (len === 4) w.u32(v);
    else if (len === 8) w.u64(v);
  }
  return w.done();
}

// --- sFlow v5 -----------------------------------------------------------------------------------------

export interface PacketSpec {
  src: string;
  dst: string;
  protocol?: number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  vlan?: number;
  /** IPv6 addresses as 8 groups (test use). */
  v6?: { src: number[]; dst: number[] };
}

/** An Ethernet frame header (as sFlow's raw packet header carries it): Ethernet[/VLAN]/IP/TCP|UDP. */
export function ethernetFrame(p: PacketSpec): Uint8Array {
  const w = new Writer();
  for (let i = 0; i < 12; i++) w.u8(i);
  if (p.vlan !== undefined) w.u16(0x8100).u16(p.vlan);
  const protocol = p.protocol ?? 6;
  if (p.v6) {
    w.u16(0x86dd).u32(0x60000000).u16(20).u8(protocol).u8(64);
    for (const g of p.v6.src) w.u16(g);
    for (const g of p.v6.dst) w.u16(g);
  } else {
    w.u16(0x0800).u8(0x45).u8(0).u16(40).u16(0).u16(0x4000).u8(64).u8(protocol).u16(0);
    w.u32(ipv4(p.src)).u32(ipv4(p.dst));
  }
  if (protocol === 6)
    w.u16(p.srcPort ?? 40000)
      .u16(p.dstPort ?? 80)
      .u32(1)
      .u32(0)
      .u8(0x50)
      .u8(p.tcpFlags ?? 0x02)
      .u16(1024)
      .u16(0)
      .u16(0);
  else if (protocol === 17)
    w.u16(p.srcPort ?? 40000)
      .u16(p.dstPort ?? 53)
      .u16(8)
      .u16(0);
  return w.done();
}

export function rawHeaderRecord(frame: Uint8Array, frameLength: number, headerProtocol = 1): Uint8Array {
  const w = new Writer().u32(headerProtocol).u32(frameLength).u32(4).u32(frame.length).bytes(frame).pad4();
  const body = w.done();
  return new Writer().u32(1).u32(body.length).bytes(body).done();
}

export function sampledIpv4Record(f: FlowSpec & { length?: number }): Uint8Array {
  const body = new Writer()
    .u32(f.length ?? 64)
    .u32(f.protocol ?? 6)
    .u32(ipv4(f.src))
    .u32(ipv4(f.dst))
    .u32(f.srcPort ?? 40000)
    .u32(f.dstPort ?? 80)
    .u32(f.tcpFlags ?? 0x02)
    .u32(0)
    .done();
  return new Writer().u32(3).u32(body.length).bytes(body).done();
}

export function sflowFlowSample(
  records: readonly Uint8Array[],
  opts: { rate?: number; input?: number; output?: number; expanded?: boolean; sequence?: number } = {},
): Uint8Array {
  const w = new Writer().u32(opts.sequence ?? 1);
  if (opts.expanded) {
    w.u32(0)
      .u32(3)
      .u32(opts.rate ?? 1)
      .u32(1000)
      .u32(0)
      .u32(0)
      .u32(opts.input ?? 1)
      .u32(0)
      .u32(opts.output ?? 2);
  } else {
    w.u32(3)
      .u32(opts.rate ?? 1)
      .u32(1000)
      .u32(0)
      .u32(opts.input ?? 1)
      .u32(opts.output ?? 2);
  }
  w.u32(records.length);
  for (const r of records) w.bytes(r);
  const body = w.done();
  return new Writer()
    .u32(opts.expanded ? 3 : 1)
    .u32(body.length)
    .bytes(body)
    .done();
}

export function sflowCounterSample(ifIndex: number, inOctets: number, outOctets: number): Uint8Array {
  const rec = new Writer()
    .u32(ifIndex)
    .u32(6)
    .u64(1e9)
    .u32(1)
    .u32(3)
    .u64(inOctets)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u64(outOctets)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .done();
  const body = new Writer().u32(1).u32(ifIndex).u32(1).u32(1).u32(rec.length).bytes(rec).done();
  return new Writer().u32(2).u32(body.length).bytes(body).done();
}

export function sflowDatagram(samples: readonly Uint8Array[], agent = '192.0.2.1', sequence = 1): Uint8Array {
  const w = new Writer().u32(5).u32(1).u32(ipv4(agent)).u32(0).u32(sequence).u32(123456).u32(samples.length);
  for (const s of samples) w.bytes(s);
  return w.done();
}
