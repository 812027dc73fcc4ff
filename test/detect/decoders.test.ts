import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpfixDecoder } from '../../src/detect/decoders/ipfix-decoder.js';
import { NetflowV5Decoder } from '../../src/detect/decoders/netflow-v5-decoder.js';
import { NetflowV9Decoder } from '../../src/detect/decoders/netflow-v9-decoder.js';
import { SflowDecoder } from '../../src/detect/decoders/sflow-decoder.js';
import { FlowDispatcher } from '../../src/detect/flow-collector.js';
import {
  type DecodeReport,
  destinationText,
  type FlowRecord,
  sourceText,
} from '../../src/detect/flow-record.js';
import {
  concat,
  dataSet,
  ethernetFrame,
  FLOW_FIELDS,
  flowRecordBytes,
  ipfix,
  ipfixTemplateSet,
  ipfixWithdrawal,
  netflowV5,
  netflowV9,
  rawHeaderRecord,
  sampledIpv4Record,
  sflowCounterSample,
  sflowDatagram,
  sflowFlowSample,
  u,
  v9OptionsTemplateSet,
  v9TemplateSet,
  variableField,
} from '../support/flow-packets.js';

interface Seen {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  tcpFlags: number;
  packets: number;
  bytes: number;
  inputIf: number;
  outputIf: number;
  endMs: number;
  samplingRate: number;
}

function collect(): { flows: Seen[]; flow(r: FlowRecord): void; now: number } {
  const flows: Seen[] = [];
  return {
    flows,
    now: 0,
    flow(r) {
      flows.push({
        src: sourceText(r),
        dst: destinationText(r),
        srcPort: r.srcPort,
        dstPort: r.dstPort,
        protocol: r.protocol,
        tcpFlags: r.tcpFlags,
        packets: r.packets,
        bytes: r.bytes,
        inputIf: r.inputIf,
        outputIf: r.outputIf,
        endMs: r.endMs,
        samplingRate: r.samplingRate,
      });
    },
  };
}
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const report = (): DecodeReport => ({ flows: 0, dropped: null });

describe('NetFlow v5', () => {
  it('reads every field of Cisco layout records, with times from sysUptime and the sampling interval applied', () => {
    const sink = collect();
    const r = report();
    const bytes = netflowV5(
      [
        {
          src: '198.51.100.7',
          dst: '203.0.113.9',
          srcPort: 51000,
          dstPort: 443,
          protocol: 6,
          tcpFlags: 0x02,
          packets: 3,
          bytes: 180,
          inputIf: 7,
          outputIf: 9,
        },
        {
          src: '198.51.100.8',
          dst: '192.0.2.1',
          srcPort: 53,
          dstPort: 3333,
          protocol: 17,
          packets: 1,
          bytes: 3000,
        },
      ],
      { uptimeMs: 100_000, unixSecs: 1_700_000_000, sampling: 100 },
    );
    expect(bytes.length).toBe(24 + 2 * 48);
    new NetflowV5Decoder().decode(view(bytes), '192.0.2.254', sink, r);
    expect(r).toEqual({ flows: 2, dropped: null });
    expect(sink.flows[0]).toEqual({
      src: '198.51.100.7',
      dst: '203.0.113.9',
      srcPort: 51000,
      dstPort: 443,
      protocol: 6,
      tcpFlags: 2,
      packets: 300,
      bytes: 18000,
      inputIf: 7,
      outputIf: 9,
      endMs: 1_700_000_000_000 - 10,
      samplingRate: 100,
    });
    expect(sink.flows[1]).toMatchObject({ srcPort: 53, protocol: 17, bytes: 300_000 });
  });

  it('drops a datagram whose length lies about its count, truncated or padded', () => {
    const good = netflowV5([
      { src: '10.0.0.1', dst: '10.0.0.2' },
      { src: '10.0.0.3', dst: '10.0.0.4' },
    ]);
    const d = new NetflowV5Decoder();
    const sink = collect();
    const r = report();
    d.decode(view(good.subarray(0, good.length - 1)), 'x', sink, r);
    expect(r.dropped).toBe('truncated');
    d.decode(view(concat(good, new Uint8Array(48))), 'x', sink, r);
    expect(r.dropped).toBe('length-mismatch');
    d.decode(view(good.subarray(0, 10)), 'x', sink, r);
    expect(r.dropped).toBe('truncated');
    expect(sink.flows).toHaveLength(0);
  });
});

describe('NetFlow v9', () => {
  const template = v9TemplateSet([{ id: 256, fields: [...FLOW_FIELDS, [21, 4]] }]);
  const rec = (src: string, last = 99_000) =>
    concat(
      flowRecordBytes({ src, dst: '203.0.113.1', dstPort: 22, tcpFlags: 0x02, packets: 2, bytes: 120 }),
      u([last, 4]),
    );

  it('learns a template per exporter and source id and decodes its data, with padding at the end of a set', () => {
    const d = new NetflowV9Decoder();
    const sink = collect();
    const r = report();
    d.decode(
      view(
        netflowV9([template, dataSet(256, [rec('198.51.100.1'), rec('198.51.100.2')])], {
          uptimeMs: 100_000,
          unixSecs: 1_700_000_000,
          sourceId: 7,
        }),
      ),
      '192.0.2.1',
      sink,
      r,
    );
    expect(r).toEqual({ flows: 2, dropped: null });
    expect(sink.flows[1]).toMatchObject({
      src: '198.51.100.2',
      dst: '203.0.113.1',
      dstPort: 22,
      packets: 2,
      bytes: 120,
      endMs: 1_700_000_000_000 - 1000,
    });
    // Same template id from another source id, or another exporter, is unknown there.
    d.decode(view(netflowV9([dataSet(256, [rec('198.51.100.3')])], { sourceId: 8 })), '192.0.2.1', sink, r);
    expect(r.dropped).toBe('unknown-template');
    d.decode(view(netflowV9([dataSet(256, [rec('198.51.100.3')])], { sourceId: 7 })), '192.0.2.2', sink, r);
    expect(r.dropped).toBe('unknown-template');
    d.decode(view(netflowV9([dataSet(256, [rec('198.51.100.3')])], { sourceId: 7 })), '192.0.2.1', sink, r);
    expect(r).toEqual({ flows: 1, dropped: null });
  });

  it('expires a template not refreshed in time, and a refresh keeps it', () => {
    const d = new NetflowV9Decoder({ templateTimeoutMs: 1000 });
    const sink = collect();
    const r = report();
    d.decode(view(netflowV9([template])), 'e', sink, r, 10_000);
    d.decode(view(netflowV9([template])), 'e', sink, r, 10_900);
    d.decode(view(netflowV9([dataSet(256, [rec('198.51.100.1')])])), 'e', sink, r, 11_800);
    expect(r).toEqual({ flows: 1, dropped: null });
    d.decode(view(netflowV9([dataSet(256, [rec('198.51.100.1')])])), 'e', sink, r, 13_000);
    expect(r.dropped).toBe('unknown-template');
  });

  it('takes the sampling rate from options data, per sampler id when records name one', () => {
    const d = new NetflowV9Decoder();
    const sink = collect();
    const r = report();
    // Options template 300: scope System (1, 4 bytes); options FLOW_SAMPLER_ID (48, 1), SAMPLER_RANDOM_INTERVAL (50, 4).
    const options = v9OptionsTemplateSet(
      300,
      [[1, 4]],
      [
        [48, 1],
        [50, 4],
      ],
    );
    const withSampler = v9TemplateSet([{ id: 257, fields: [...FLOW_FIELDS, [48, 1]] }]);
    d.decode(
      view(netflowV9([template, withSampler, options, dataSet(300, [u([0, 4], [5, 1], [512, 4])])])),
      'e',
      sink,
      r,
    );
    expect(r.dropped).toBeNull();
    d.decode(
      view(
        netflowV9([
          dataSet(257, [
            concat(flowRecordBytes({ src: '10.1.1.1', dst: '10.2.2.2', packets: 1, bytes: 100 }), u([5, 1])),
          ]),
        ]),
      ),
      'e',
      sink,
      r,
    );
    expect(sink.flows[0]).toMatchObject({ packets: 512, bytes: 51_200, samplingRate: 512 });
    // An options record without a sampler id sets the exporter-wide rate.
    const plain = v9OptionsTemplateSet(301, [[1, 4]], [[34, 4]]);
    d.decode(view(netflowV9([plain, dataSet(301, [u([0, 4], [100, 4])])])), 'e', sink, r);
    d.decode(view(netflowV9([dataSet(256, [rec('10.1.1.2')])])), 'e', sink, r);
    expect(sink.flows[1]).toMatchObject({ packets: 200, samplingRate: 100 });
  });

  it('reads IPv6 records', () => {
    const d = new NetflowV9Decoder();
    const sink = collect();
    const r = report();
    const t6 = v9TemplateSet([
      {
        id: 260,
        fields: [
          [27, 16],
          [28, 16],
          [7, 2],
          [11, 2],
          [4, 1],
          [2, 4],
          [1, 4],
        ],
      },
    ]);
    const addr = (last: number) => u([0x20010db8, 4], [0, 4], [0, 4], [last, 4]);
    d.decode(
      view(
        netflowV9([
          t6,
          dataSet(260, [concat(addr(1), addr(2), u([1234, 2], [53, 2], [17, 1], [1, 4], [80, 4]))]),
        ]),
      ),
      'e',
      sink,
      r,
    );
    expect(sink.flows[0]).toMatchObject({
      src: '2001:db8::1',
      dst: '2001:db8::2',
      srcPort: 1234,
      dstPort: 53,
      protocol: 17,
    });
  });

  it('drops a FlowSet whose length runs past the datagram and a template with a zero-length field', () => {
    const d = new NetflowV9Decoder();
    const sink = collect();
    const r = report();
    d.decode(view(netflowV9([{ ...template, lengthOverride: 400 }])), 'e', sink, r);
    expect(r.dropped).toBe('truncated');
    d.decode(view(netflowV9([{ ...template, lengthOverride: 2 }])), 'e', sink, r);
    expect(r.dropped).toBe('length-mismatch');
    d.decode(view(netflowV9([v9TemplateSet([{ id: 270, fields: [[8, 0]] }])])), 'e', sink, r);
    expect(r.dropped).toBe('bad-template');
    expect(sink.flows).toHaveLength(0);
  });
});

describe('IPFIX', () => {
  const fields = FLOW_FIELDS.map(([a, b]) => [a, b] as const);

  it('decodes records with a variable-length field and an enterprise field skipped cleanly', () => {
    const d = new IpfixDecoder();
    const sink = collect();
    const r = report();
    const template = ipfixTemplateSet([
      {
        id: 400,
        fields: [
          [8, 4],
          [12, 4],
          [7, 2],
          [11, 2],
          [4, 1],
          [100, 65535, 9],
          [2, 8],
          [1, 8],
          [82, 65535],
          [153, 8],
        ],
      },
    ]);
    const record = (src: number, name: Uint8Array) =>
      concat(
        u([src, 4], [0xcb007101, 4], [1111, 2], [80, 2], [6, 1]),
        variableField(new Uint8Array([1, 2, 3])),
        u([5, 8], [300, 8]),
        variableField(name),
        u([1_700_000_000_123, 8]),
      );
    const long = new Uint8Array(300).fill(65);
    const msg = ipfix(
      [
        template,
        dataSet(
          400,
          [record(0xc6336401, new Uint8Array([101, 116, 104, 48])), record(0xc6336402, long)],
          false,
        ),
      ],
      { exportSecs: 1_700_000_001, domain: 3 },
    );
    d.decode(view(msg), 'e', sink, r);
    expect(r).toEqual({ flows: 2, dropped: null });
    expect(sink.flows[0]).toMatchObject({
      src: '198.51.100.1',
      dst: '203.0.113.1',
      srcPort: 1111,
      dstPort: 80,
      packets: 5,
      bytes: 300,
      endMs: 1_700_000_000_123,
    });
    expect(sink.flows[1]).toMatchObject({ src: '198.51.100.2', packets: 5 });
  });

  it('withdraws one template, and all templates with the set id', () => {
    const d = new IpfixDecoder();
    const sink = collect();
    const r = report();
    const t = ipfixTemplateSet([
      { id: 500, fields },
      { id: 501, fields },
    ]);
    const data = (id: number) => dataSet(id, [flowRecordBytes({ src: '10.0.0.1', dst: '10.0.0.2' })]);
    d.decode(view(ipfix([t, data(500), data(501)])), 'e', sink, r);
    expect(r).toEqual({ flows: 2, dropped: null });
    d.decode(view(ipfix([ipfixWithdrawal([500]), data(501)])), 'e', sink, r);
    expect(r).toEqual({ flows: 1, dropped: null });
    d.decode(view(ipfix([data(500)])), 'e', sink, r);
    expect(r.dropped).toBe('unknown-template');
    d.decode(view(ipfix([ipfixWithdrawal([2])])), 'e', sink, r);
    d.decode(view(ipfix([data(501)])), 'e', sink, r);
    expect(r.dropped).toBe('unknown-template');
  });

  it('applies sampling from an options template (samplingPacketInterval / samplingPacketSpace)', () => {
    const d = new IpfixDecoder();
    const sink = collect();
    const r = report();
    const opts = ipfixTemplateSet(
      [
        {
          id: 600,
          scopeCount: 1,
          fields: [
            [149, 4],
            [305, 4],
            [306, 4],
          ],
        },
      ],
      true,
    );
    d.decode(view(ipfix([opts, dataSet(600, [u([3, 4], [1, 4], [99, 4])])], { domain: 3 })), 'e', sink, r);
    d.decode(
      view(
        ipfix(
          [
            ipfixTemplateSet([{ id: 601, fields }]),
            dataSet(601, [flowRecordBytes({ src: '10.0.0.1', dst: '10.0.0.2', packets: 2, bytes: 100 })]),
          ],
          { domain: 3 },
        ),
      ),
      'e',
      sink,
      r,
    );
    expect(sink.flows[0]).toMatchObject({ packets: 200, bytes: 10_000, samplingRate: 100 });
  });

  it('drops a message whose length field lies, and stops a set at a variable field running past it', () => {
    const d = new IpfixDecoder();
    const sink = collect();
    const r = report();
    const t = ipfixTemplateSet([
      {
        id: 700,
        fields: [
          [8, 4],
          [82, 65535],
        ],
      },
    ]);
    d.decode(view(ipfix([t], { lengthOverride: 200 })), 'e', sink, r);
    expect(r.dropped).toBe('truncated');
    d.decode(view(ipfix([t], { lengthOverride: 17 })), 'e', sink, r);
    expect(r.dropped).toBe('length-mismatch');
    d.decode(view(ipfix([t, dataSet(700, [u([0x0a000001, 4], [200, 1], [1, 1])], false)])), 'e', sink, r);
    expect(r.dropped).toBe('length-mismatch');
    expect(sink.flows).toHaveLength(0);
  });
});

describe('sFlow v5', () => {
  it('decodes raw Ethernet/VLAN/IPv4/TCP headers to the 5-tuple and applies the sampling rate', () => {
    const sink = collect();
    const r = report();
    const frame = ethernetFrame({
      src: '198.51.100.4',
      dst: '203.0.113.5',
      srcPort: 5555,
      dstPort: 22,
      tcpFlags: 0x02,
      vlan: 42,
    });
    new SflowDecoder().decode(
      view(
        sflowDatagram([sflowFlowSample([rawHeaderRecord(frame, 64)], { rate: 1000, input: 3, output: 4 })]),
      ),
      'a',
      sink,
      r,
    );
    expect(r).toEqual({ flows: 1, dropped: null });
    expect(sink.flows[0]).toMatchObject({
      src: '198.51.100.4',
      dst: '203.0.113.5',
      srcPort: 5555,
      dstPort: 22,
      protocol: 6,
      tcpFlags: 2,
      packets: 1000,
      bytes: 64_000,
      inputIf: 3,
      outputIf: 4,
    });
  });

  it('decodes IPv6/UDP headers, expanded flow samples and sampled-IPv4 records', () => {
    const sink = collect();
    const r = report();
    const v6 = ethernetFrame({
      src: '',
      dst: '',
      protocol: 17,
      srcPort: 123,
      dstPort: 4444,
      v6: { src: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 5], dst: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 6] },
    });
    const dg = sflowDatagram([
      sflowFlowSample([rawHeaderRecord(v6, 500)], { rate: 10, expanded: true, input: 70000 }),
      sflowFlowSample(
        [
          sampledIpv4Record({
            src: '10.9.9.9',
            dst: '10.8.8.8',
            protocol: 17,
            srcPort: 53,
            dstPort: 9999,
            length: 1400,
          }),
        ],
        { rate: 4 },
      ),
    ]);
    new SflowDecoder().decode(view(dg), 'a', sink, r);
    expect(r).toEqual({ flows: 2, dropped: null });
    expect(sink.flows[0]).toMatchObject({
      src: '2001:db8::5',
      dst: '2001:db8::6',
      protocol: 17,
      srcPort: 123,
      dstPort: 4444,
      packets: 10,
      bytes: 5000,
      inputIf: 70000,
    });
    expect(sink.flows[1]).toMatchObject({ src: '10.9.9.9', srcPort: 53, packets: 4, bytes: 5600 });
  });

  it('hands counter samples to the listener and skips them as flows', () => {
    const sink = collect();
    const r = report();
    const seen: Array<[string, number, number, number]> = [];
    const d = new SflowDecoder({
      counters: (agent, c) => seen.push([agent, c.ifIndex, c.inOctets, c.outOctets]),
    });
    d.decode(view(sflowDatagram([sflowCounterSample(12, 5e9, 7e9)])), 'agent-1', sink, r);
    expect(r).toEqual({ flows: 0, dropped: null });
    expect(seen).toEqual([['agent-1', 12, 5e9, 7e9]]);
    expect(d.counterSamples).toBe(1);
  });

  it('drops a sample whose length runs past the datagram', () => {
    const sink = collect();
    const r = report();
    const dg = sflowDatagram([sflowFlowSample([sampledIpv4Record({ src: '10.0.0.1', dst: '10.0.0.2' })])]);
    new SflowDecoder().decode(view(dg.subarray(0, dg.length - 8)), 'a', sink, r);
    expect(r.dropped).toBe('truncated');
    expect(sink.flows).toHaveLength(0);
  });
});

describe('collector dispatch', () => {
  it('tells v5, v9 and IPFIX apart on one port and counts malformed datagrams per exporter', () => {
    const sink = collect();
    const d = new FlowDispatcher(sink);
    d.netflow(netflowV5([{ src: '10.0.0.1', dst: '10.0.0.2' }]), '192.0.2.1');
    d.netflow(
      netflowV9([
        v9TemplateSet([{ id: 256, fields: FLOW_FIELDS }]),
        dataSet(256, [flowRecordBytes({ src: '10.0.0.3', dst: '10.0.0.4' })]),
      ]),
      '192.0.2.1',
    );
    d.netflow(
      ipfix([
        ipfixTemplateSet([{ id: 256, fields: FLOW_FIELDS.map(([a, b]) => [a, b] as const) }]),
        dataSet(256, [flowRecordBytes({ src: '10.0.0.5', dst: '10.0.0.6' })]),
      ]),
      '192.0.2.1',
    );
    d.netflow(new Uint8Array([0, 7, 1, 2]), '192.0.2.9');
    d.netflow(netflowV9([dataSet(999, [new Uint8Array(8)])]), '192.0.2.9');
    expect(sink.flows.map((f) => f.src)).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.5']);
    expect(d.exporters.get('192.0.2.1')).toMatchObject({ datagrams: 3, flows: 3 });
    expect(Object.fromEntries(d.exporters.get('192.0.2.9')!.dropped)).toEqual({
      'bad-version': 1,
      'unknown-template': 1,
    });
  });

  it('never throws on random bytes, on either port (fuzz)', () => {
    const sink = collect();
    const d = new FlowDispatcher(sink);
    const template = netflowV9([v9TemplateSet([{ id: 256, fields: FLOW_FIELDS }])]);
    const ipfixTemplate = ipfix([
      ipfixTemplateSet([
        {
          id: 256,
          fields: [
            [8, 4],
            [82, 65535],
            [100, 4, 9],
          ],
        },
      ]),
    ]);
    d.netflow(template, 'f');
    d.netflow(ipfixTemplate, 'f');
    const prefixes = [
      new Uint8Array([0, 5]),
      new Uint8Array([0, 9]),
      new Uint8Array([0, 10]),
      new Uint8Array([0, 0, 0, 5]),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 600 }), (p, rest) => {
        const bytes = concat(prefixes[p]!, rest);
        expect(() => d.netflow(bytes, 'f')).not.toThrow();
        expect(() => d.sflowDatagram(bytes, 'f')).not.toThrow();
      }),
      { numRuns: 3000 },
    );
    // Mutations of valid datagrams reach deeper than random bytes do.
    const valid = [
      template,
      netflowV9([dataSet(256, [flowRecordBytes({ src: '10.0.0.1', dst: '10.0.0.2' })])]),
      ipfix([dataSet(256, [concat(u([1, 4]), variableField(new Uint8Array(3)), u([7, 4]))])]),
      sflowDatagram([
        sflowFlowSample([rawHeaderRecord(ethernetFrame({ src: '10.0.0.1', dst: '10.0.0.2', vlan: 3 }), 64)]),
        sflowCounterSample(1, 2, 3),
      ]),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (i, edits, cut) => {
          const bytes = valid[i]!.slice();
          for (const [at, v] of edits) bytes[at % bytes.length] = v;
          const cutAt = cut % (bytes.length + 1);
          expect(() => d.netflow(bytes.subarray(0, cutAt), 'f')).not.toThrow();
          expect(() => d.sflowDatagram(bytes.subarray(0, cutAt), 'f')).not.toThrow();
          expect(() => d.netflow(bytes, 'f')).not.toThrow();
          expect(() => d.sflowDatagram(bytes, 'f')).not.toThrow();
        },
      ),
      { numRuns: 3000 },
    );
    // Every fault was a counted drop: no decoder threw (the guard's `decoder-error` stayed unused).
    expect(d.exporters.get('f')!.dropped.get('decoder-error') ?? 0).toBe(0);
    expect(d.exporters.get('f')!.datagrams).toBeGreaterThan(17_000);
  });
});
