import {
  type DecodeReport,
  FlowRecord,
  type FlowSink,
  PROTO_TCP,
  PROTO_UDP,
  readU64,
} from '../flow-record.js';

/**
 * sFlow version 5 (InMon, sflow_version_5.txt), XDR-encoded (big-endian, 4-byte aligned):
 *
 *   datagram:  version(4)=5 agent_address_type(4: 1 IPv4, 2 IPv6) agent_address(4|16) sub_agent_id(4)
 *              sequence(4) uptime(4) num_samples(4) { data_format(4: enterprise<<12 | format) length(4) … }
 *   flow sample (0:1):           sequence source_id sampling_rate sample_pool drops input output num_records
 *   expanded flow sample (0:3):  sequence source_id_type source_id_index sampling_rate sample_pool drops
 *                                input_format input_value output_format output_value num_records
 *   counter sample (0:2):        sequence source_id num_records; expanded (0:4): sequence type index num_records
 *   flow records: raw packet header (0:1): protocol(4: 1 Ethernet, 11 IPv4, 12 IPv6) frame_length(4)
 *                 stripped(4) header_length(4) header bytes (padded to 4);
 *                 sampled IPv4 (0:3): length protocol src dst src_port dst_port tcp_flags tos;
 *                 sampled IPv6 (0:4): length protocol src(16) dst(16) src_port dst_port tcp_flags priority
 *   counter records: generic interface (0:1): ifIndex ifType ifSpeed(8) ifDirection ifStatus
 *                 ifInOctets(8) … ifOutOctets(8 at +56) …
 *
 * Each flow sample stands for `sampling_rate` packets: the record's packets are the rate and its bytes
 * the frame length times the rate. Raw headers are decoded here to the 5-tuple (Ethernet, 802.1Q/802.1ad
 * VLAN tags, IPv4, IPv6 with its extension headers, TCP, UDP). Samples of other enterprises or formats
 * are skipped by their length. Hand-written over a DataView with one reused FlowRecord (see
 * flow-record.ts). Counter samples go to an optional listener (interface octets per agent).
 */

export interface InterfaceCounters {
  ifIndex: number;
  inOctets: number;
  outOctets: number;
}

export interface CounterListener {
  counters(agent: string, c: InterfaceCounters): void;
}

export class SflowDecoder {
  private readonly record = new FlowRecord();
  private readonly ifc: InterfaceCounters = { ifIndex: 0, inOctets: 0, outOctets: 0 };
  /** Counter samples seen (all agents), for /metrics. */
  counterSamples = 0;

  constructor(private readonly counterListener?: CounterListener) {}

  decode(view: DataView, exporter: string, sink: FlowSink, report: DecodeReport): void {
    report.flows = 0;
    report.dropped = null;
    const size = view.byteLength;
    if (size < 28) {
      report.dropped = 'truncated';
      return;
    }
    if (view.getUint32(0) !== 5) {
      report.dropped = 'bad-version';
      return;
    }
    const agentType = view.getUint32(4);
    const agentLength = agentType === 1 ? 4 : agentType === 2 ? 16 : -1;
    if (agentLength < 0) {
      report.dropped = 'bad-sample';
      return;
    }
    let o = 8 + agentLength + 12;
    if (o + 4 > size) {
      report.dropped = 'truncated';
      return;
    }
    const samples = view.getUint32(o);
    o += 4;
    const r = this.record;
    r.exporter = exporter;
    const now = Date.now();
    for (let s = 0; s < samples; s++) {
      if (o + 8 > size) {
        report.dropped = 'truncated';
        return;
      }
      const format = view.getUint32(o);
      const length = view.getUint32(o + 4);
      const body = o + 8;
      const end = body + length;
      if (end > size || length % 4 !== 0) {
        report.dropped = end > size ? 'truncated' : 'length-mismatch';
        return;
      }
      if (format === 1 || format === 3) {
        if (!this.flowSample(view, body, end, format === 3, sink, report, now)) {
          report.dropped = 'bad-sample';
          return;
        }
      } else if (format === 2 || format === 4) {
        if (!this.counterSample(view, body, end, format === 4, exporter)) {
          report.dropped = 'bad-sample';
          return;
        }
      }
      o = end;
    }
  }

  private flowSample(
    view: DataView,
    o: number,
    end: number,
    expanded: boolean,
    sink: FlowSink,
    report: DecodeReport,
    now: number,
  ): boolean {
    const fixed = expanded ? 44 : 32;
    if (o + fixed > end) return false;
    const rate = Math.max(1, view.getUint32(o + (expanded ? 12 : 8)));
    let inputIf: number;
    let outputIf: number;
    if (expanded) {
      inputIf = view.getUint32(o + 28);
      outputIf = view.getUint32(o + 36);
    } else {
      // Compact form: top 2 bits are the format, the low 30 the ifIndex (0x3fffffff: internal).
      inputIf = view.getUint32(o + 20) & 0x3fffffff;
      outputIf = view.getUint32(o + 24) & 0x3fffffff;
    }
    const records = view.getUint32(o + fixed - 4);
    let p = o + fixed;
    for (let i = 0; i < records; i++) {
      if (p + 8 > end) return false;
      const format = view.getUint32(p);
      const length = view.getUint32(p + 4);
      const body = p + 8;
      if (body + length > end) return false;
      const r = this.record;
      let ok = false;
      if (format === 1) ok = this.rawHeader(view, body, body + length);
      else if (format === 3 && length >= 32) ok = this.sampledV4(view, body);
      else if (format === 4 && length >= 56) ok = this.sampledV6(view, body);
      if (ok) {
        r.samplingRate = rate;
        r.packets = rate;
        r.bytes *= rate;
        r.inputIf = inputIf;
        r.outputIf = outputIf;
        r.endMs = now;
        sink.flow(r);
        report.flows++;
      }
      p = body + ((length + 3) & ~3);
    }
    return true;
  }

  private sampledV4(view: DataView, o: number): boolean {
    const r = this.record;
    r.family = 4;
    r.bytes = view.getUint32(o);
    r.protocol = view.getUint32(o + 4) & 0xff;
    r.srcV4 = view.getUint32(o + 8);
    r.dstV4 = view.getUint32(o + 12);
    r.srcPort = view.getUint32(o + 16) & 0xffff;
    r.dstPort = view.getUint32(o + 20) & 0xffff;
    r.tcpFlags = view.getUint32(o + 24) & 0xff;
    return true;
  }

  private sampledV6(view: DataView, o: number): boolean {
    const r = this.record;
    r.family = 6;
    r.bytes = view.getUint32(o);
    r.protocol = view.getUint32(o + 4) & 0xff;
    for (let i = 0; i < 4; i++) {
      r.src6[i] = view.getUint32(o + 8 + 4 * i);
      r.dst6[i] = view.getUint32(o + 24 + 4 * i);
    }
    r.srcPort = view.getUint32(o + 40) & 0xffff;
    r.dstPort = view.getUint32(o + 44) & 0xffff;
    r.tcpFlags = view.getUint32(o + 48) & 0xff;
    return true;
  }

  /** Raw packet header → 5-tuple. False when the header is too short or not IP. */
  private rawHeader(view: DataView, o: number, end: number): boolean {
    if (o + 16 > end) return false;
    const protocol = view.getUint32(o);
    const frameLength = view.getUint32(o + 4);
    const headerLength = view.getUint32(o + 12);
    let p = o + 16;
    const hEnd = p + headerLength;
    if (hEnd > end) return false;
    const r = this.record;
    r.bytes = frameLength;
    let ethertype: number;
    if (protocol === 1) {
      if (p + 14 > hEnd) return false;
      ethertype = view.getUint16(p + 12);
      p += 14;
      // Up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8, old QinQ 0x9100).
      for (
        let tags = 0;
        tags < 2 && (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100);
        tags++
      ) {
        if (p + 4 > hEnd) return false;
        ethertype = view.getUint16(p + 2);
        p += 4;
      }
    } else if (protocol === 11) ethertype = 0x0800;
    else if (protocol === 12) ethertype = 0x86dd;
    else return false;

    let l4: number;
    let next: number;
    if (ethertype === 0x0800) {
      if (p + 20 > hEnd) return false;
      const vihl = view.getUint8(p);
      const ihl = (vihl & 0x0f) * 4;
      if (vihl >> 4 !== 4 || ihl < 20) return false;
      r.family = 4;
      next = view.getUint8(p + 9);
      r.srcV4 = view.getUint32(p + 12);
      r.dstV4 = view.getUint32(p + 16);
      // A non-first fragment carries no L4 header.
      const fragment = view.getUint16(p + 6) & 0x1fff;
      l4 = fragment === 0 ? p + ihl : -1;
    } else if (ethertype === 0x86dd) {
      if (p + 40 > hEnd) return false;
      if (view.getUint8(p) >> 4 !== 6) return false;
      r.family = 6;
      next = view.getUint8(p + 6);
      for (let i = 0; i < 4; i++) {
        r.src6[i] = view.getUint32(p + 8 + 4 * i);
        r.dst6[i] = view.getUint32(p + 24 + 4 * i);
      }
      l4 = p + 40;
      // Extension headers: hop-by-hop 0, routing 43, fragment 44, destination options 60.
      for (let hops = 0; hops < 8 && (next === 0 || next === 43 || next === 44 || next === 60); hops++) {
        if (l4 + 8 > hEnd) {
          l4 = -1;
          break;
        }
        const following = view.getUint8(l4);
        if (next === 44) {
          if ((view.getUint16(l4 + 2) & 0xfff8) !== 0) {
            next = following;
            l4 = -1;
            break;
          }
          l4 += 8;
        } else l4 += (view.getUint8(l4 + 1) + 1) * 8;
        next = following;
      }
    } else return false;
    r.protocol = next;
    r.srcPort = 0;
    r.dstPort = 0;
    r.tcpFlags = 0;
    if (l4 >= 0 && (next === PROTO_TCP || next === PROTO_UDP) && l4 + 4 <= hEnd) {
      r.srcPort = view.getUint16(l4);
      r.dstPort = view.getUint16(l4 + 2);
      if (next === PROTO_TCP && l4 + 14 <= hEnd) r.tcpFlags = view.getUint8(l4 + 13);
    }
    return true;
  }

  private counterSample(view: DataView, o: number, end: number, expanded: boolean, agent: string): boolean {
    const fixed = expanded ? 16 : 12;
    if (o + fixed > end) return false;
    this.counterSamples++;
    const records = view.getUint32(o + fixed - 4);
    let p = o + fixed;
    for (let i = 0; i < records; i++) {
      if (p + 8 > end) return false;
      const format = view.getUint32(p);
      const length = view.getUint32(p + 4);
      if (p + 8 + length > end) return false;
      if (format === 1 && length >= 88 && this.counterListener) {
        const b = p + 8;
        this.ifc.ifIndex = view.getUint32(b);
        this.ifc.inOctets = readU64(view, b + 24);
        this.ifc.outOctets = readU64(view, b + 56);
        this.counterListener.counters(agent, this.ifc);
      }
      p += 8 + ((length + 3) & ~3);
    }
    return true;
  }
}
