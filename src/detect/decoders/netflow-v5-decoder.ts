import { type DecodeReport, FlowRecord, type FlowSink } from '../flow-record.js';

/**
 * NetFlow v5 (Cisco's fixed format): a 24-byte header and up to 30 records of 48 bytes.
 *
 *   header:  version(2)=5 count(2) sysUptime(4) unix_secs(4) unix_nsecs(4) flow_sequence(4)
 *            engine_type(1) engine_id(1) sampling_interval(2: mode in the top 2 bits, interval in 14)
 *   record:  srcaddr(4) dstaddr(4) nexthop(4) input(2) output(2) dPkts(4) dOctets(4) First(4) Last(4)
 *            srcport(2) dstport(2) pad1(1) tcp_flags(1) prot(1) tos(1) src_as(2) dst_as(2)
 *            src_mask(1) dst_mask(1) pad2(2)
 *
 * Written by hand over a DataView with one reused FlowRecord: a generic parser would build an object per
 * record, and at a million flows a second that garbage is most of the cost. The datagram's length must be
 * exactly what the header's count says (a length lie drops the datagram: a record cut short would be read
 * from whatever follows it).
 */
export const V5_HEADER = 24;
export const V5_RECORD = 48;

export class NetflowV5Decoder {
  private readonly record = new FlowRecord();

  decode(view: DataView, exporter: string, sink: FlowSink, report: DecodeReport): void {
    report.flows = 0;
    report.dropped = null;
    if (view.byteLength < V5_HEADER) {
      report.dropped = 'truncated';
      return;
    }
    if (view.getUint16(0) !== 5) {
      report.dropped = 'bad-version';
      return;
    }
    const count = view.getUint16(2);
    if (count === 0 || count > 30 || view.byteLength !== V5_HEADER + count * V5_RECORD) {
      report.dropped = view.byteLength < V5_HEADER + count * V5_RECORD ? 'truncated' : 'length-mismatch';
      return;
    }
    const uptime = view.getUint32(4);
    const exportMs = view.getUint32(8) * 1000 + Math.floor(view.getUint32(12) / 1e6);
    const interval = view.getUint16(22) & 0x3fff;
    const rate = interval > 1 ? interval : 1;
    const r = this.record;
    r.exporter = exporter;
    r.family = 4;
    r.samplingRate = rate;
    for (let i = 0, o = V5_HEADER; i < count; i++, o += V5_RECORD) {
      r.srcV4 = view.getUint32(o);
      r.dstV4 = view.getUint32(o + 4);
      r.inputIf = view.getUint16(o + 12);
      r.outputIf = view.getUint16(o + 14);
      r.packets = view.getUint32(o + 16) * rate;
      r.bytes = view.getUint32(o + 20) * rate;
      // Last is sysUptime (ms) at the flow's last packet; uptime wraps after 49.7 days, hence `>>> 0`.
      r.endMs = exportMs - ((uptime - view.getUint32(o + 28)) >>> 0);
      r.srcPort = view.getUint16(o + 32);
      r.dstPort = view.getUint16(o + 34);
      r.tcpFlags = view.getUint8(o + 37);
      r.protocol = view.getUint8(o + 38);
      sink.flow(r);
      report.flows++;
    }
  }
}
