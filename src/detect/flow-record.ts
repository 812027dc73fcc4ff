/**
 * One flow as every decoder hands it over: a mutable record the decoder owns and refills for each flow it
 * reads, passed to a `FlowSink` and valid only during that call. Reusing one record is what keeps the hot
 * path free of allocation (a million flows a second would otherwise be a million short-lived objects and
 * a garbage collection every few milliseconds). A sink that keeps anything copies the numbers it needs.
 *
 * Addresses are numbers: IPv4 as an unsigned 32-bit integer in `srcV4`/`dstV4`; IPv6 as four big-endian
 * words in `src6`/`dst6` (with `family` 6). Counters already have the sampling rate applied: `packets`
 * and `bytes` estimate what crossed the wire, not what was sampled.
 */
export class FlowRecord {
  family: 4 | 6 = 4;
  srcV4 = 0;
  dstV4 = 0;
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** Cumulative TCP flags of the flow (NetFlow/IPFIX) or of the sampled packet (sFlow). */
  tcpFlags = 0;
  packets = 0;
  bytes = 0;
  /** SNMP ifIndex the flow entered / left the exporter by (0 when unknown). */
  inputIf = 0;
  outputIf = 0;
  /** When the flow was last seen, epoch milliseconds (the export time when the record carries none). */
  endMs = 0;
  /** The sampling rate applied to the counters (1 = unsampled). */
  samplingRate = 1;
  /** The exporter (router/switch) address as text, set by the collector once per datagram. */
  exporter = '';

  reset(): void {
    this.family = 4;
    this.srcV4 = 0;
    this.dstV4 = 0;
    this.src6.fill(0);
    this.dst6.fill(0);
    this.protocol = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.packets = 0;
    this.bytes = 0;
    this.inputIf = 0;
    this.outputIf = 0;
    this.endMs = 0;
    this.samplingRate = 1;
  }
}

export interface FlowSink {
  flow(record: FlowRecord): void;
}

/** Why a datagram was dropped: the label of the per-exporter malformed counter. */
export type DropReason =
  | 'truncated'
  | 'bad-version'
  | 'length-mismatch'
  | 'unknown-template'
  | 'bad-template'
  | 'bad-sample';

/** What a decoder reports about a datagram besides its flows. */
export interface DecodeReport {
  /** Flows handed to the sink. */
  flows: number;
  /** Set when (part of) the datagram was dropped; flows decoded before the fault still count. */
  dropped: DropReason | null;
}

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Big-endian 64-bit counter as a double (exact below 2^53, which any real counter is). */
export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * 4294967296 + view.getUint32(offset + 4);
}

/** Unsigned big-endian integer of 1..8 bytes (NetFlow v9 and IPFIX allow reduced-size encoding). */
export function readUint(view: DataView, offset: number, length: number): number {
  switch (length) {
    case 1:
      return view.getUint8(offset);
    case 2:
      return view.getUint16(offset);
    case 4:
      return view.getUint32(offset);
    case 8:
      return readU64(view, offset);
    default: {
      let v = 0;
      for (let i = 0; i < length && i < 8; i++) v = v * 256 + view.getUint8(offset + i);
      return v;
    }
  }
}

export function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function formatV6(w: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const x = w[i]! >>> 0;
    parts.push((x >>> 16).toString(16), (x & 0xffff).toString(16));
  }
  // Longest run of zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/** The record's source address as text (for reports, never on the hot path). */
export function sourceText(r: FlowRecord): string {
  return r.family === 4 ? formatV4(r.srcV4) : formatV6(r.src6);
}
export function destinationText(r: FlowRecord): string {
  return r.family === 4 ? formatV4(r.dstV4) : formatV6(r.dst6);
}
