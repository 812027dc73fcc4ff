/**
 * The flows benchmark's traffic: a registry of many customer hosts and datagrams of NetFlow v9, IPFIX and
 * sFlow v5 carrying their background traffic (established connections to the Internet), plus the attacks
 * injected into it (a SYN scan, a UDP flood). Built with the test packet builders (test/support/
 * flow-packets.ts), which follow the specifications independently of the decoders.
 */
import { ALL_COLUMNS } from '../src/registry/registry-row.js';
import {
  concat,
  dataSet,
  ethernetFrame,
  type FlowSpec,
  flowRecordBytes,
  ipfix,
  ipfixTemplateSet,
  netflowV9,
  rawHeaderRecord,
  sflowDatagram,
  sflowFlowSample,
  u,
  v9TemplateSet,
} from '../test/support/flow-packets.js';

/** Services of the generated registry: each a VPS holding a /28 in 10.0.0.0/8 (16 hosts each). */
export const SERVICES = 5000;
export const HOSTS = SERVICES * 16;

export function hostAddress(i: number): string {
  const n = (10 << 24) + (i % HOSTS);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function registryCsv(): string {
  const lines = [ALL_COLUMNS.join(',')];
  for (let s = 0; s < SERVICES; s++) {
    const net = hostAddress(s * 16);
    const r: Record<string, string> = {
      customer: `CUST-${s}`,
      email: `noc${s}@customer.example`,
      service: `VPS-${s}`,
      kind: 'vps',
      resource: `${net}/28`,
      valid_from: '2020-01-01',
    };
    lines.push(ALL_COLUMNS.map((c) => r[c] ?? '').join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Networks list for FastNetMon: the same /28s (a /8 would make it allocate counters for 16 million hosts). */
export function networksList(): string {
  const lines: string[] = [];
  for (let s = 0; s < SERVICES; s++) lines.push(`${hostAddress(s * 16)}/28`);
  return `${lines.join('\n')}\n`;
}

/** Fields of the v9/IPFIX flow template (with first/last switched for v9, as routers send them). */
const V9_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [2, 4],
  [1, 4],
  [10, 2],
  [14, 2],
  [21, 4],
  [22, 4],
];
export const FLOWS_PER_DATAGRAM = 36; // 36 × 34 bytes + headers ≈ 1,250 bytes: under a 1,500-byte MTU
export const SAMPLES_PER_SFLOW = 8;

let rng = 12345;
function random(): number {
  rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
  return rng / 4294967296;
}

function backgroundFlow(): FlowSpec {
  const r = random();
  return {
    src: hostAddress(Math.floor(random() * HOSTS)),
    dst: `${100 + Math.floor(random() * 100)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    srcPort: r < 0.5 ? 443 : 1024 + Math.floor(random() * 60000),
    dstPort: r < 0.5 ? 1024 + Math.floor(random() * 60000) : [443, 80, 53, 22][Math.floor(random() * 4)]!,
    protocol: r < 0.9 ? 6 : 17,
    tcpFlags: 0x1b,
    packets: 1 + Math.floor(random() * 20),
    bytes: 500 + Math.floor(random() * 20000),
  };
}

const uptime = 3_600_000;
const v9Record = (f: FlowSpec) => concat(flowRecordBytes(f), u([uptime - 10, 4], [uptime - 500, 4]));

export const v9Template = () =>
  netflowV9([v9TemplateSet([{ id: 256, fields: V9_FIELDS }])], { uptimeMs: uptime, sourceId: 1 });
export const ipfixTemplate = () =>
  ipfix([ipfixTemplateSet([{ id: 256, fields: V9_FIELDS.slice(0, 10).map(([a, b]) => [a, b] as const) }])], {
    domain: 1,
  });

export function v9Datagram(flows: readonly FlowSpec[]): Uint8Array {
  return netflowV9([dataSet(256, flows.map(v9Record))], { uptimeMs: uptime, sourceId: 1 });
}
export function ipfixDatagram(flows: readonly FlowSpec[]): Uint8Array {
  return ipfix([dataSet(256, flows.map(flowRecordBytes), false)], { domain: 1 });
}
export function sflowOf(flows: readonly FlowSpec[], rate = 1): Uint8Array {
  return sflowDatagram(
    flows.map((f) =>
      sflowFlowSample(
        [
          rawHeaderRecord(
            ethernetFrame({
              src: f.src,
              dst: f.dst,
              protocol: f.protocol ?? 6,
              srcPort: f.srcPort ?? 0,
              dstPort: f.dstPort ?? 0,
              tcpFlags: f.tcpFlags ?? 0x10,
            }),
            1000,
          ),
        ],
        { rate },
      ),
    ),
  );
}

export interface Corpus {
  /** NetFlow-port datagrams (v9 and IPFIX alternating) and sFlow datagrams, with their flow counts. */
  readonly netflow: Uint8Array[];
  readonly sflow: Uint8Array[];
  readonly netflowFlows: number;
  readonly sflowFlows: number;
}

/** Background traffic: `datagrams` NetFlow-port datagrams (half v9, half IPFIX) and a tenth as many sFlow. */
export function backgroundCorpus(datagrams: number): Corpus {
  const netflow: Uint8Array[] = [];
  const sflow: Uint8Array[] = [];
  for (let d = 0; d < datagrams; d++) {
    const flows = Array.from({ length: FLOWS_PER_DATAGRAM }, backgroundFlow);
    netflow.push(d % 2 === 0 ? v9Datagram(flows) : ipfixDatagram(flows));
    if (d % 10 === 0) sflow.push(sflowOf(Array.from({ length: SAMPLES_PER_SFLOW }, backgroundFlow)));
  }
  return {
    netflow,
    sflow,
    netflowFlows: datagrams * FLOWS_PER_DATAGRAM,
    sflowFlows: sflow.length * SAMPLES_PER_SFLOW,
  };
}

/** The flood: one host, UDP to one target, `pps` packets a second as flows of 1,000 packets of 1,000 bytes. */
export const FLOOD_SOURCE = hostAddress(4242);
export function floodDatagram(): Uint8Array {
  const flows = Array.from({ length: 10 }, () => ({
    src: FLOOD_SOURCE,
    dst: '192.0.2.10',
    srcPort: 40000,
    dstPort: 80,
    protocol: 17,
    tcpFlags: 0,
    packets: 1000,
    bytes: 1_000_000,
  }));
  return v9Datagram(flows);
}

/** The scan: one host, SYN-only to consecutive addresses on port 22. */
export const SCAN_SOURCE = hostAddress(777);
export function scanDatagram(from: number): Uint8Array {
  const flows = Array.from({ length: FLOWS_PER_DATAGRAM }, (_, i) => ({
    src: SCAN_SOURCE,
    dst: `198.18.${((from + i) >> 8) & 255}.${(from + i) & 255}`,
    srcPort: 50000,
    dstPort: 22,
    protocol: 6,
    tcpFlags: 0x02,
    packets: 1,
    bytes: 44,
  }));
  return ipfixDatagram(flows);
}
