import { describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../src/detect/detect-config.js';
import type { Detection } from '../../src/detect/detection.js';
import { detectionEventLine } from '../../src/detect/detection-event.js';
import {
  type AuthorisationCheck,
  type AuthorisationQuery,
  type DetectionIntake,
  type DetectionOutcome,
  DetectionReporter,
} from '../../src/detect/detection-reporter.js';
import { FlowDetectors } from '../../src/detect/flow-detectors.js';
import { FlowRecord } from '../../src/detect/flow-record.js';
import { eventSchema } from '../../src/intake/event.js';
import { intelmqParser } from '../../src/intake/parsers/intelmq-parser.js';
import { RegistrySnapshot } from '../../src/registry/registry-snapshot.js';
import { isEventClass } from '../../src/taxonomy/taxonomy.js';
import { ipv4 } from '../support/flow-packets.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');

function snapshot(): RegistrySnapshot {
  const from = new Date('2026-01-01T00:00:00Z');
  return RegistrySnapshot.build({
    customers: [
      { id: 1, ref: 'C-1', name: 'One', emails: ['a@example.net'], country: null, status: 'active' },
      { id: 2, ref: 'C-2', name: 'Two', emails: ['b@example.net'], country: null, status: 'active' },
    ],
    services: [
      { id: 10, ref: 'S-VPS', customerId: 1, kind: 'vps', status: 'active', provisioningRef: null },
      {
        id: 11,
        ref: 'S-MAIL',
        customerId: 1,
        kind: 'shared-hosting',
        status: 'active',
        provisioningRef: null,
      },
      {
        id: 12,
        ref: 'S-NEIGHBOUR',
        customerId: 2,
        kind: 'dedicated',
        status: 'active',
        provisioningRef: null,
      },
    ],
    assignments: [
      { id: 100, serviceId: 10, resource: '198.51.100.0/25', validFrom: from, validTo: null },
      { id: 101, serviceId: 11, resource: '198.51.100.128/26', validFrom: from, validTo: null },
      { id: 102, serviceId: 12, resource: '203.0.113.0/24', validFrom: from, validTo: null },
    ],
  });
}

function harness(configInput: unknown = {}) {
  const detections: Detection[] = [];
  const d = new FlowDetectors({
    snapshot: snapshot(),
    config: parseDetectConfig(configInput),
    onDetection: (x) => detections.push(x),
    clock: () => T0,
  });
  const r = new FlowRecord();
  const send = (
    at: number,
    f: {
      src: string;
      dst: string;
      proto?: number;
      sport?: number;
      dport?: number;
      flags?: number;
      packets?: number;
      bytes?: number;
      exporter?: string;
      inputIf?: number;
    },
  ) => {
    d.now = at;
    r.family = 4;
    r.srcV4 = ipv4(f.src);
    r.dstV4 = ipv4(f.dst);
    r.protocol = f.proto ?? 6;
    r.srcPort = f.sport ?? 40000;
    r.dstPort = f.dport ?? 443;
    r.tcpFlags = f.flags ?? 0x1b;
    r.packets = f.packets ?? 10;
    r.bytes = f.bytes ?? 6000;
    r.endMs = at;
    r.samplingRate = 1;
    r.exporter = f.exporter ?? '192.0.2.1';
    r.inputIf = f.inputIf ?? 1;
    d.flow(r);
  };
  return { d, detections, send };
}

const dst = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;

/** Normal traffic: established connections of every service to a few hundred servers, mail included. */
function background(send: ReturnType<typeof harness>['send'], seconds: number) {
  for (let ms = 0; ms < seconds * 1000; ms += 10) {
    const i = ms / 10;
    send(T0 + ms, {
      src: `198.51.100.${i % 100}`,
      dst: dst(i % 300),
      dport: [443, 80, 22][i % 3]!,
      flags: 0x1b,
      packets: 20,
      bytes: 12_000,
    });
    if (i % 20 === 0)
      send(T0 + ms, {
        src: '198.51.100.130',
        dst: dst(i % 40),
        dport: 25,
        flags: 0x1b,
        packets: 12,
        bytes: 4000,
      });
    if (i % 7 === 0)
      send(T0 + ms, {
        src: '198.51.100.5',
        dst: '9.9.9.9',
        proto: 17,
        sport: 53000,
        dport: 53,
        packets: 1,
        bytes: 70,
      });
  }
}

describe('flow detectors', () => {
  it('stay quiet on normal traffic', () => {
    const { detections, send } = harness();
    background(send, 30);
    expect(detections).toEqual([]);
  });

  it('port scan: SYN-only TCP to many destinations from a source of ours, attributed to its service', () => {
    const { detections, send } = harness();
    for (let i = 0; i < 400; i++)
      send(T0 + i * 5, { src: '198.51.100.20', dst: dst(i), dport: 22, flags: 0x02, packets: 1, bytes: 60 });
    const scans = detections.filter((x) => x.detector === 'port-scan');
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({
      sourceIp: '198.51.100.20',
      serviceRef: 'S-VPS',
      customerRef: 'C-1',
      details: { kind: 'horizontal' },
    });
    expect(scans[0]!.destinations).toBeGreaterThanOrEqual(60);
    expect(scans[0]!.destinations).toBeLessThan(110);
    // Fired soon after the threshold (64 destinations at 5 ms each: about 0.3 s into the scan).
    expect(scans[0]!.detectedAt.getTime() - T0).toBeLessThan(600);
    expect(scans[0]!.sample.length).toBeGreaterThan(0);
  });

  it('port scan: a vertical scan (many ports of one host) and not connections that completed', () => {
    const { detections, send } = harness();
    for (let p = 1; p <= 300; p++)
      send(T0 + p, { src: '198.51.100.21', dst: '100.64.0.1', dport: p, flags: 0x1b });
    expect(detections).toEqual([]);
    for (let p = 1; p <= 300; p++)
      send(T0 + 1000 + p, { src: '198.51.100.21', dst: '100.64.0.1', dport: p, flags: 0x02 });
    expect(detections.map((x) => [x.detector, x.details.kind])).toEqual([['port-scan', 'vertical']]);
  });

  it('a scan from an address nobody holds is not ours to report', () => {
    const { detections, send } = harness();
    for (let i = 0; i < 400; i++) send(T0 + i, { src: '192.0.2.77', dst: dst(i), flags: 0x02 });
    expect(detections).toEqual([]);
  });

  it('dos per source: crossing the pps threshold is reported within the flood window, once per re-alert period', () => {
    const { detections, send } = harness();
    // 60,000 pps from a VPS (threshold 30,000): 60 flows of 1,000 packets per second.
    for (let ms = 0; ms < 5000; ms += 1000 / 60)
      send(T0 + ms, {
        src: '198.51.100.30',
        dst: '100.64.9.9',
        proto: 17,
        dport: 80,
        packets: 1000,
        bytes: 60_000,
      });
    const dos = detections.filter((x) => x.detector === 'dos');
    expect(dos).toHaveLength(1);
    expect(dos[0]!.detectedAt.getTime() - T0).toBeLessThan(1000);
    expect(dos[0]).toMatchObject({
      sourceIp: '198.51.100.30',
      serviceRef: 'S-VPS',
      details: { scope: 'source' },
    });
    expect(dos[0]!.pps).toBeGreaterThanOrEqual(30_000);
  });

  it('dos per target: sources each under their threshold, together over the target threshold', () => {
    const { detections, send } = harness();
    for (let ms = 0; ms < 2000; ms += 50) {
      for (const s of ['198.51.100.40', '198.51.100.41', '198.51.100.42', '198.51.100.43'])
        send(T0 + ms, { src: s, dst: '100.70.0.1', proto: 17, dport: 443, packets: 1250, bytes: 80_000 });
    }
    const byTarget = detections.filter((x) => x.details.scope === 'target');
    expect(new Set(byTarget.map((x) => x.sourceIp))).toEqual(
      new Set(['198.51.100.40', '198.51.100.41', '198.51.100.42', '198.51.100.43']),
    );
    expect(byTarget[0]!.destinationIp).toBe('100.70.0.1');
    expect(detections.filter((x) => x.details.scope === 'source')).toEqual([]);
  });

  it('amplification: large UDP answers from port 123 at rate; small answers at the same packet rate are not', () => {
    const { detections, send } = harness();
    for (let ms = 0; ms < 2000; ms += 10)
      send(T0 + ms, {
        src: '198.51.100.50',
        dst: '100.80.0.1',
        proto: 17,
        sport: 53,
        dport: 33333,
        packets: 60,
        bytes: 60 * 80,
      });
    expect(detections).toEqual([]);
    for (let ms = 0; ms < 2000; ms += 10)
      send(T0 + 3000 + ms, {
        src: '198.51.100.51',
        dst: '100.80.0.1',
        proto: 17,
        sport: 123,
        dport: 33333,
        packets: 60,
        bytes: 60 * 468,
      });
    expect(detections.map((x) => [x.detector, x.sourceIp, x.details.reflector_port])).toEqual([
      ['amplification', '198.51.100.51', 123],
    ]);
  });

  it('smtp burst: against the service baseline, marked for review', () => {
    const { detections, send } = harness({ smtp_window_seconds: 60 });
    // Ten quiet minutes: about 30 mails a minute to a handful of relays.
    for (let s = 0; s < 600; s += 2)
      send(T0 + s * 1000, { src: '198.51.100.130', dst: dst(s % 6), dport: 25 });
    expect(detections).toEqual([]);
    // Then 600 mails in a minute to 400 different servers.
    for (let i = 0; i < 600; i++)
      send(T0 + 600_000 + i * 100, {
        src: '198.51.100.131',
        dst: dst(1000 + (i % 400)),
        dport: 25,
        flags: 0x1b,
      });
    const burst = detections.filter((x) => x.detector === 'smtp-burst');
    expect(burst).toHaveLength(1);
    expect(burst[0]).toMatchObject({
      serviceRef: 'S-MAIL',
      sourceIp: '198.51.100.131',
      destinationPort: 25,
      details: { review: true },
    });
    expect(burst[0]!.details.baseline_flows).toBeLessThan(40);
    expect(burst[0]!.destinations).toBeGreaterThanOrEqual(50);
    expect(burst[0]!.flows).toBeGreaterThanOrEqual(200);
  });

  it('spoofed source: a customer interface sending from addresses its service does not hold', () => {
    const { detections, send } = harness({
      interfaces: [{ exporter: '192.0.2.1', if_index: 7, service: 'S-VPS' }],
    });
    // Its own addresses on its own interface, and other interfaces: fine.
    for (let i = 0; i < 200; i++) send(T0 + i * 10, { src: '198.51.100.9', dst: dst(i), inputIf: 7 });
    for (let i = 0; i < 200; i++) send(T0 + i * 10, { src: '192.0.2.200', dst: dst(i), inputIf: 3 });
    expect(detections).toEqual([]);
    // A neighbour's address from its interface: reported against S-VPS, not the neighbour.
    for (let i = 0; i < 200; i++)
      send(T0 + 3000 + i * 10, { src: '203.0.113.7', dst: dst(i), inputIf: 7, packets: 5 });
    expect(detections).toHaveLength(1);
    expect(detections[0]).toMatchObject({
      detector: 'spoofed-source',
      sourceIp: '203.0.113.7',
      serviceRef: 'S-VPS',
      customerRef: 'C-1',
      accountableIp: '198.51.100.0',
      details: { held_by_other_service: true, ingress_if_index: 7 },
    });
  });

  it('every detector produces an event line the intake reads as a valid event', async () => {
    const { detections, send } = harness({
      interfaces: [{ exporter: '192.0.2.1', if_index: 7, service: 'S-VPS' }],
    });
    for (let i = 0; i < 400; i++) send(T0 + i, { src: '198.51.100.20', dst: dst(i), flags: 0x02 });
    for (let i = 0; i < 400; i++) send(T0 + i, { src: '10.0.0.1', dst: dst(i), inputIf: 7 });
    for (let ms = 0; ms < 1000; ms += 5)
      send(T0 + ms, {
        src: '198.51.100.60',
        dst: '100.90.0.1',
        proto: 17,
        sport: 11211,
        packets: 400,
        bytes: 400 * 1400,
      });
    expect(new Set(detections.map((x) => x.detector))).toEqual(
      new Set(['port-scan', 'spoofed-source', 'amplification', 'dos']),
    );
    for (const x of detections) {
      const parsed = await intelmqParser.parse({
        bytes: new TextEncoder().encode(detectionEventLine(x)),
        fileName: 'd.jsonl',
        receivedAt: new Date(T0),
      });
      expect(parsed.errors).toEqual([]);
      expect(parsed.events).toHaveLength(1);
      const event = eventSchema.parse(parsed.events[0]);
      expect(event['feed.name']).toBe(x.detector);
      expect(event['source.ip']).toBe(x.sourceIp);
      expect(event.extra?.service).toBe(x.serviceRef);
      expect(isEventClass(`${event['classification.taxonomy']}/${event['classification.type']}`)).toBe(true);
    }
  });
});

describe('detection reporter', () => {
  const authorisations: AuthorisationCheck & { queries: AuthorisationQuery[] } = {
    queries: [],
    // One recorded test: S-VPS may scan 100.64.0.0/16 on 1 December 2026 from 09:00 to 12:00.
    async covering(q) {
      this.queries.push(q);
      const inWindow = q.from >= new Date('2026-12-01T09:00:00Z') && q.to <= new Date('2026-12-01T12:00:00Z');
      const targetsOk = q.targets.length > 0 && q.targets.every((t) => t.startsWith('100.64.'));
      return q.serviceRef === 'S-VPS' && inWindow && targetsOk ? { id: '7', reference: 'PT-2026-007' } : null;
    },
  };

  function intake() {
    const accepted: Array<{ kind: string; text: string }> = [];
    const port: DetectionIntake = {
      async accept(input) {
        accepted.push({ kind: input.kind, text: new TextDecoder().decode(input.bytes) });
        return { inboxId: String(accepted.length), duplicate: false };
      },
    };
    return { accepted, port };
  }

  it('records a detection inside an authorisation as authorised (no case); outside it, submits it', async () => {
    const { detections, send } = harness();
    for (let i = 0; i < 200; i++) send(T0 + i * 5, { src: '198.51.100.20', dst: dst(i % 250), flags: 0x02 });
    for (let i = 0; i < 200; i++)
      send(T0 + 5000 + i * 5, { src: '198.51.100.22', dst: `100.99.${i >> 8}.${i & 255}`, flags: 0x02 });
    expect(detections).toHaveLength(2);
    const { accepted, port } = intake();
    const outcomes: DetectionOutcome[] = [];
    const reporter = new DetectionReporter({
      intake: port,
      authorisations,
      onOutcome: (o) => outcomes.push(o),
    });
    for (const x of detections) reporter.handle(x);
    await reporter.idle();
    expect(outcomes.map((o) => o.kind)).toEqual(['authorised', 'submitted']);
    expect(accepted.map((a) => a.kind)).toEqual(['authorised', 'complaint']);
    expect(JSON.parse(accepted[0]!.text)['extra.authorised_by']).toBe('PT-2026-007');
    expect(reporter.counts).toMatchObject({ authorised: 1, submitted: 1 });
    expect(authorisations.queries[0]).toMatchObject({ serviceRef: 'S-VPS', sourceIp: '198.51.100.20' });
  });

  it('keeps going when the intake fails', async () => {
    const { detections, send } = harness();
    for (let i = 0; i < 200; i++)
      send(T0 + i * 5, { src: '198.51.100.20', dst: `100.99.0.${i}`, flags: 0x02 });
    let calls = 0;
    const reporter = new DetectionReporter({
      intake: {
        async accept() {
          calls++;
          if (calls === 1) throw new Error('disk full');
          return { inboxId: '1', duplicate: false };
        },
      },
    });
    reporter.handle(detections[0]!);
    reporter.handle(detections[0]!);
    await reporter.idle();
    expect(reporter.counts).toMatchObject({ failed: 1, submitted: 1 });
  });
});
