import { SERVICE_KINDS } from '../registry/registry-repository.js';
import type { RegistrySnapshot } from '../registry/registry-snapshot.js';
import type { DetectConfig, Thresholds } from './detect-config.js';
import { classificationOf, type Detection, type DetectorName, type SampledFlow } from './detection.js';
import {
  F_AMP_BYTES,
  F_AMP_PKTS,
  F_BYTES,
  F_FLOWS,
  F_PKTS,
  IDLE_MS,
  RECHECK_MS,
  REFLECTOR_PORTS,
  SAMPLE,
  SAMPLE_FIELDS,
  type ServiceInfo,
  ServiceMailState,
  SourceState,
  SpoofState,
  TargetState,
} from './detector-state.js';
import {
  destinationText,
  type FlowRecord,
  type FlowSink,
  formatV4,
  formatV6,
  PROTO_TCP,
  PROTO_UDP,
  sourceText,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from './flow-record.js';
import { mix32, mixPair, WindowedHyperLogLog } from './hyperloglog.js';
import {
  BUCKETS,
  ROW_BUCKETS,
  ROW_CHECKED,
  ROW_EPOCH,
  ROW_KIND,
  ROW_SEEN,
  ROW_SUMS,
  SourceTable,
  STRIDE,
  WIDTH,
} from './source-table.js';

/**
 * The detectors: every decoded flow goes through `flow()`, which decides its direction by the registry
 * (a source address a service holds at the flow's time is outbound from that service) and updates
 * sliding-window state per source, per target and per service. Thresholds are checked as each flow is
 * counted, so a flood is reported by the flow that crosses the line, not at the end of a window.
 *
 * Windows slide over arrival time (the collector's clock), in ten buckets each: exporters' own clocks drift
 * and flows arrive after their active timeout, so their timestamps only pick the registry's tenancy.
 * Distinct counts use a windowed HyperLogLog (hyperloglog.ts). Per flow nothing is allocated for sources
 * already seen; state is created the first time a source of ours sends, and dropped when idle.
 *
 *   port-scan       SYN-only TCP (SYN without ACK/RST/FIN) to many destinations or destination:ports
 *   dos             pps / bps / flows per source over the flood window; pps / bps per target from all
 *                   our sources together (each contributing source is reported)
 *   amplification   UDP from 53/123/161/1900/11211 with large packets above a rate
 *   smtp-burst      TCP/25 flows and distinct destinations per service against its own baseline
 *   spoofed-source  flows entering by an interface mapped to a service, from addresses it does not hold
 *
 * Past 600 lines on purpose: the five detectors share one `flow()` so each flow is looked up once (one
 * table probe, one row) and checked against every detector in place; a class per detector would repeat
 * the lookup per detector per flow. Their state objects are in detector-state.ts.
 */

const detectorIndex: Record<DetectorName, number> = {
  'port-scan': 0,
  dos: 1,
  'smtp-burst': 2,
  'spoofed-source': 3,
  amplification: 4,
};

export interface FlowDetectorsOptions {
  readonly snapshot: RegistrySnapshot;
  readonly config: DetectConfig;
  readonly onDetection: (d: Detection) => void;
  /** Clock (epoch ms); the collector sets `now` per datagram instead when it has one. */
  readonly clock?: () => number;
}

export class FlowDetectors implements FlowSink {
  /** Arrival time of the flows being fed (set per datagram by the collector, or by tests). */
  now = 0;
  flowsSeen = 0;
  outboundFlows = 0;
  detections = 0;
  private snapshot: RegistrySnapshot;
  private readonly config: DetectConfig;
  private readonly onDetection: (d: Detection) => void;
  private readonly sources = new SourceTable<SourceState>();
  /** Thresholds by kind index (the row keeps the index: no object is read to check a threshold). */
  private readonly kindThresholds: Thresholds[];
  private readonly targets = new Map<number, TargetState>();
  private readonly mail = new Map<number, ServiceMailState>();
  private readonly spoof = new Map<string, SpoofState>();
  private services = new Map<number, ServiceInfo>();
  private byRef = new Map<string, ServiceInfo | undefined>();
  /** exporter → ifIndex → service ref (customer-facing interfaces). */
  private readonly interfaces = new Map<string, Map<number, string>>();
  private readonly hasInterfaces: boolean;
  private lastSweep = 0;

  constructor(options: FlowDetectorsOptions) {
    this.snapshot = options.snapshot;
    this.config = options.config;
    this.onDetection = options.onDetection;
    for (const i of options.config.interfaces) {
      let m = this.interfaces.get(i.exporter);
      if (!m) {
        m = new Map();
        this.interfaces.set(i.exporter, m);
      }
      m.set(i.ifIndex, i.service);
    }
    this.hasInterfaces = this.interfaces.size > 0;
    this.now = (options.clock ?? Date.now)();
    this.kindThresholds = SERVICE_KINDS.map((k) => options.config.thresholds(k));
    this.bucketMs = options.config.floodWindowMs / BUCKETS;
  }

  /** A new registry snapshot (assignments changed): tenancy is looked up again for every source. */
  setSnapshot(snapshot: RegistrySnapshot): void {
    this.snapshot = snapshot;
    this.services = new Map();
    this.byRef = new Map();
    const hot = this.sources.hot;
    for (let slot = 0; slot < this.sources.states.length; slot++) hot[slot * STRIDE + ROW_CHECKED] = 0;
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  private readonly bucketMs: number;

  /** Advance a row's buckets to `now`; returns the offset of the current bucket. */
  private advance(base: number, now: number): number {
    const hot = this.sources.hot;
    const e = Math.floor(now / this.bucketMs);
    const epoch = hot[base + ROW_EPOCH]!;
    if (e !== epoch) {
      if (epoch < 0 || e - epoch >= BUCKETS) hot.fill(0, base + ROW_SUMS, base + STRIDE);
      else {
        for (let x = epoch + 1; x <= e; x++) {
          const b = base + ROW_BUCKETS + (x % BUCKETS) * WIDTH;
          for (let k = 0; k < WIDTH; k++) {
            hot[base + ROW_SUMS + k]! -= hot[b + k]!;
            hot[b + k] = 0;
          }
        }
      }
      hot[base + ROW_EPOCH] = e;
    }
    return base + ROW_BUCKETS + (e % BUCKETS) * WIDTH;
  }

  /** A source's windowed sum of counter `k` (F_PKTS…). */
  private sum(source: SourceState, k: number): number {
    return this.sources.hot[source.slot * STRIDE + ROW_SUMS + k]!;
  }

  flow(r: FlowRecord): void {
    this.flowsSeen++;
    const now = this.now;
    // The flow's own time picks the tenancy when it is plausible; otherwise its arrival.
    const t = r.endMs > now - 86_400_000 && r.endMs < now + 60_000 ? r.endMs : now;
    if (this.hasInterfaces) this.spoofCheck(r, t, now);
    const slot = r.family === 4 ? this.slot4(r.srcV4, t, now) : this.slot6(r, t, now);
    if (slot < 0) return;
    this.outboundFlows++;
    const hot = this.sources.hot;
    const base = slot * STRIDE;
    hot[base + ROW_SEEN] = now;
    const th = this.kindThresholds[hot[base + ROW_KIND]!]!;

    // dos: per source.
    const b = this.advance(base, now);
    const sums = base + ROW_SUMS;
    hot[b + F_PKTS]! += r.packets;
    hot[b + F_BYTES]! += r.bytes;
    hot[b + F_FLOWS]! += 1;
    hot[sums + F_PKTS]! += r.packets;
    hot[sums + F_BYTES]! += r.bytes;
    hot[sums + F_FLOWS]! += 1;
    const secs = this.config.floodWindowMs / 1000;
    const pps = hot[sums + F_PKTS]! / secs;
    const bps = (hot[sums + F_BYTES]! * 8) / secs;
    const fps = hot[sums + F_FLOWS]! / secs;
    if (pps >= th.flood_pps || bps >= th.flood_bps || fps >= th.flood_flows) {
      this.report(this.sources.states[slot]!, 'dos', now, pps, bps, hot[sums + F_FLOWS]!, 0, {
        scope: 'source',
        threshold:
          pps >= th.flood_pps
            ? `pps>=${th.flood_pps}`
            : bps >= th.flood_bps
              ? `bps>=${th.flood_bps}`
              : `flows/s>=${th.flood_flows}`,
      });
    }

    // Evidence: the last SAMPLE flows of a source that is warming up (a quarter of a flood threshold, or
    // flows a scan or mail burst is made of). Not every flow: writing a sample is another cache miss per
    // flow, and the sample only matters for sources that end up reported.
    const flags = r.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
    if (
      4 * pps >= th.flood_pps ||
      4 * bps >= th.flood_bps ||
      (r.protocol === PROTO_TCP && (flags === TCP_SYN || r.dstPort === 25)) ||
      (r.protocol === PROTO_UDP && REFLECTOR_PORTS.has(r.srcPort))
    ) {
      const source = this.sources.states[slot]!;
      const so = (source.sampleAt++ % SAMPLE) * SAMPLE_FIELDS;
      const sm = source.sample;
      sm[so] = now;
      sm[so + 1] = r.family === 4 ? r.dstV4 : -1;
      sm[so + 2] = r.srcPort;
      sm[so + 3] = r.dstPort;
      sm[so + 4] = r.protocol;
      sm[so + 5] = r.tcpFlags;
      sm[so + 6] = r.packets;
      sm[so + 7] = r.bytes;
    }

    // amplification: large UDP answers from a reflector port.
    if (r.protocol === PROTO_UDP && REFLECTOR_PORTS.has(r.srcPort)) {
      hot[b + F_AMP_PKTS]! += r.packets;
      hot[b + F_AMP_BYTES]! += r.bytes;
      hot[sums + F_AMP_PKTS]! += r.packets;
      hot[sums + F_AMP_BYTES]! += r.bytes;
      const ampPkts = hot[sums + F_AMP_PKTS]!;
      const ampBps = (hot[sums + F_AMP_BYTES]! * 8) / secs;
      const mean = ampPkts > 0 ? hot[sums + F_AMP_BYTES]! / ampPkts : 0;
      if (ampBps >= th.amplification_bps && mean >= th.amplification_min_packet_bytes) {
        this.report(
          this.sources.states[slot]!,
          'amplification',
          now,
          ampPkts / secs,
          ampBps,
          hot[sums + F_FLOWS]!,
          0,
          {
            reflector_port: r.srcPort,
            mean_packet_bytes: Math.round(mean),
          },
          r,
        );
      }
    }

    // dos: per target (v4 targets; every outbound flow counts towards its destination). Only targets
    // already receiving a share of a threshold have state, so with none the lookup is skipped.
    if (
      r.family === 4 &&
      (this.targets.size > 0 || r.packets * 1000 >= th.target_pps * this.config.floodWindowMs * 0.01)
    )
      this.target(r, this.sources.states[slot]!, now);

    if (r.protocol === PROTO_TCP) {
      if (flags === TCP_SYN) this.scan(r, this.sources.states[slot]!, now);
      if (r.dstPort === 25) this.smtp(r, this.sources.states[slot]!, now);
    }

    if (now - this.lastSweep > 60_000) this.sweep(now);
  }

  /** Row slot of an IPv4 source of ours (tenancy re-checked every RECHECK_MS), or -1. */
  private slot4(addr: number, t: number, now: number): number {
    const table = this.sources;
    let slot = table.find4(addr);
    if (slot >= 0 && now - table.hot[slot * STRIDE + ROW_CHECKED]! < RECHECK_MS)
      return table.states[slot]!.service === null ? -1 : slot;
    const index = this.snapshot.lookupV4(addr, t);
    if (index < 0 && slot < 0) return -1;
    const service = index < 0 ? null : this.serviceOf(index);
    if (slot < 0) slot = table.add4(addr, this.newSource(formatV4(addr), addr, service));
    return this.checked(slot, service, now);
  }

  private slot6(r: FlowRecord, t: number, now: number): number {
    const table = this.sources;
    const w = r.src6;
    const key = formatV6(w);
    let slot = table.find6(key);
    if (slot >= 0 && now - table.hot[slot * STRIDE + ROW_CHECKED]! < RECHECK_MS)
      return table.states[slot]!.service === null ? -1 : slot;
    const index = this.snapshot.lookupV6(w[0]!, w[1]!, w[2]!, w[3]!, t);
    if (index < 0 && slot < 0) return -1;
    const service = index < 0 ? null : this.serviceOf(index);
    if (slot < 0) slot = table.add6(key, this.newSource(key, -1, service));
    return this.checked(slot, service, now);
  }

  private newSource(address: string, v4: number, service: ServiceInfo | null): SourceState {
    return new SourceState(address, v4, service);
  }

  /** Record a tenancy check on a slot; -1 when the address is no longer held. */
  private checked(slot: number, service: ServiceInfo | null, now: number): number {
    const state = this.sources.states[slot]!;
    state.slot = slot;
    state.service = service;
    const hot = this.sources.hot;
    hot[slot * STRIDE + ROW_CHECKED] = now;
    if (service === null) return -1;
    hot[slot * STRIDE + ROW_KIND] = service.kindIndex;
    return slot;
  }

  private serviceOf(assignmentIndex: number): ServiceInfo {
    const held = this.snapshot.assignment(assignmentIndex);
    let info = this.services.get(held.service.id);
    if (!info) {
      const slash = held.resource.indexOf('/');
      info = {
        id: held.service.id,
        ref: held.service.ref,
        kind: held.service.kind,
        customerRef: held.customer.ref,
        t: this.config.thresholds(held.service.kind),
        kindIndex: SERVICE_KINDS.indexOf(held.service.kind),
        anyAddress: slash > 0 ? held.resource.slice(0, slash) : held.resource,
      };
      this.services.set(held.service.id, info);
    }
    return info;
  }

  private scan(r: FlowRecord, source: SourceState, now: number): void {
    const slotMs = this.config.windowMs / 4;
    const epoch = Math.floor(now / slotMs);
    if (source.scan === null || source.scanPorts === null) {
      source.scan = new WindowedHyperLogLog(8, 4);
      source.scanPorts = new WindowedHyperLogLog(8, 4);
      source.scanEpoch = epoch;
      source.started[0] = now;
    }
    if (epoch !== source.scanEpoch) {
      for (let e = source.scanEpoch + 1, n = 0; e <= epoch && n < 4; e++, n++) {
        source.scan.clearSlot(e % 4);
        source.scanPorts.clearSlot(e % 4);
      }
      if (epoch - source.scanEpoch >= 4) {
        source.scanFlows = 0;
        source.started[0] = now;
      }
      source.scanEpoch = epoch;
    }
    source.scanFlows++;
    const slot = epoch % 4;
    const dstKey = r.family === 4 ? r.dstV4 : r.dst6[0]! ^ r.dst6[1]! ^ r.dst6[2]! ^ mix32(r.dst6[3]!);
    const grewDst = source.scan.add(slot, mix32(dstKey));
    const grewPort = source.scanPorts.add(slot, mixPair(dstKey, r.dstPort));
    if (!grewDst && !grewPort) return;
    const th = source.service!.t;
    const destinations = source.scan.estimate();
    const pairs = source.scanPorts.estimate();
    if (destinations >= th.scan_destinations || pairs >= th.scan_ports) {
      const secs = this.config.floodWindowMs / 1000;
      this.report(
        source,
        'port-scan',
        now,
        this.sum(source, F_PKTS) / secs,
        (this.sum(source, F_BYTES) * 8) / secs,
        source.scanFlows,
        destinations,
        {
          destination_ports: Math.round(pairs),
          kind: destinations >= th.scan_destinations ? 'horizontal' : 'vertical',
          threshold:
            destinations >= th.scan_destinations
              ? `destinations>=${th.scan_destinations}`
              : `ports>=${th.scan_ports}`,
        },
      );
    }
  }

  private target(r: FlowRecord, source: SourceState, now: number): void {
    let tg = this.targets.get(r.dstV4);
    if (tg === undefined) {
      // Only targets that already take a noticeable share get state: a per-destination map of every
      // destination the network talks to would be most of the memory.
      if (r.packets * 1000 < source.service!.t.target_pps * this.config.floodWindowMs * 0.01) return;
      tg = new TargetState(formatV4(r.dstV4), this.config.floodWindowMs / BUCKETS);
      tg.started = now;
      this.targets.set(r.dstV4, tg);
    }
    tg.lastSeen = now;
    const b = tg.ring.at(now);
    tg.ring.add(b, 0, r.packets);
    tg.ring.add(b, 1, r.bytes);
    if (tg.contributors.length < 8 && !tg.contributors.includes(source)) tg.contributors.push(source);
    const secs = this.config.floodWindowMs / 1000;
    const pps = tg.ring.sum(0) / secs;
    const bps = (tg.ring.sum(1) * 8) / secs;
    const th = source.service!.t;
    if ((pps >= th.target_pps || bps >= th.target_bps) && now - tg.reported >= this.config.realertMs) {
      tg.reported = now;
      for (const c of tg.contributors) {
        const cs = c;
        this.report(
          c,
          'dos',
          now,
          this.sum(cs, F_PKTS) / secs,
          (this.sum(cs, F_BYTES) * 8) / secs,
          this.sum(cs, F_FLOWS),
          1,
          {
            scope: 'target',
            target: tg.address,
            target_pps: Math.round(pps),
            target_bps: Math.round(bps),
            contributors: tg.contributors.length,
          },
          undefined,
          tg.address,
          true,
        );
      }
    }
  }

  private smtp(r: FlowRecord, source: SourceState, now: number): void {
    const svc = source.service!;
    const th = svc.t;
    const windowMs = this.config.smtpWindowMs;
    let m = this.mail.get(svc.id);
    if (m === undefined) {
      m = new ServiceMailState(windowMs / BUCKETS, th.smtp_initial_baseline, source);
      m.windowEpoch = Math.floor(now / windowMs);
      m.started = now;
      this.mail.set(svc.id, m);
    }
    m.lastSource = source;
    m.lastSeen = now;
    const we = Math.floor(now / windowMs);
    const b = m.ring.at(now);
    if (we !== m.windowEpoch) {
      // A whole window went by: fold its count into the baseline, unless it was itself a burst (a burst
      // must not teach the detector that bursts are normal).
      const count = m.ring.sum(0);
      if (count < th.smtp_factor * m.baseline) m.baseline = 0.8 * m.baseline + 0.2 * count;
      m.windowEpoch = we;
    }
    m.ring.add(b, 0, 1);
    const slotMs = windowMs / 4;
    const he = Math.floor(now / slotMs);
    if (he !== m.hllEpoch) {
      for (let e = m.hllEpoch + 1, n = 0; e <= he && n < 4; e++, n++) m.destinations.clearSlot(e % 4);
      m.hllEpoch = he;
    }
    m.destinations.add(he % 4, mix32(r.family === 4 ? r.dstV4 : r.dst6[3]! ^ r.dst6[2]!));
    const flows = m.ring.sum(0);
    if (flows < th.smtp_min_flows || flows < th.smtp_factor * m.baseline) return;
    if (now - m.reported < this.config.realertMs) return;
    const destinations = m.destinations.estimate();
    if (destinations < th.smtp_min_destinations) return;
    m.reported = now;
    const secs = windowMs / 1000;
    this.emit(
      source,
      'smtp-burst',
      now,
      m.started,
      flows / secs,
      0,
      flows,
      destinations,
      {
        baseline_flows: Math.round(m.baseline * 10) / 10,
        factor: Math.round((flows / Math.max(m.baseline, 1)) * 10) / 10,
        window_seconds: secs,
        // What judgement needs: the policy has outgoing-mail increases reviewed, not acted on automatically.
        review: true,
      },
      'tcp',
      undefined,
      25,
    );
  }

  private spoofCheck(r: FlowRecord, t: number, now: number): void {
    const byIf = this.interfaces.get(r.exporter);
    if (byIf === undefined) return;
    const serviceRef = byIf.get(r.inputIf);
    if (serviceRef === undefined) return;
    const index =
      r.family === 4
        ? this.snapshot.lookupV4(r.srcV4, t)
        : this.snapshot.lookupV6(r.src6[0]!, r.src6[1]!, r.src6[2]!, r.src6[3]!, t);
    if (index >= 0 && this.snapshot.assignment(index).service.ref === serviceRef) return;
    let st = this.spoof.get(serviceRef);
    if (st === undefined) {
      st = new SpoofState(this.config.floodWindowMs / BUCKETS);
      st.started = now;
      this.spoof.set(serviceRef, st);
    }
    const b = st.ring.at(now);
    st.ring.add(b, 0, r.packets);
    st.ring.add(b, 1, r.bytes);
    const secs = this.config.floodWindowMs / 1000;
    const pps = st.ring.sum(0) / secs;
    // The service's own thresholds: found through any address it holds, else the defaults.
    const holder = this.serviceByRef(serviceRef, t);
    const th = holder?.t ?? this.config.thresholds('other');
    if (pps < th.spoof_pps || now - st.reported < this.config.realertMs) return;
    if (!holder) return;
    st.reported = now;
    const spoofed = sourceText(r);
    const detection: Detection = {
      detector: 'spoofed-source',
      sourceIp: spoofed,
      serviceRef: holder.ref,
      serviceKind: holder.kind,
      customerRef: holder.customerRef,
      windowStart: new Date(Math.max(st.started, now - this.config.floodWindowMs)),
      detectedAt: new Date(now),
      pps,
      bps: (st.ring.sum(1) * 8) / secs,
      flows: 1,
      destinations: 0,
      classification: classificationOf['spoofed-source'],
      protocol: protoName(r.protocol),
      destinationIp: destinationText(r),
      targets: [destinationText(r)],
      details: {
        exporter: r.exporter,
        ingress_if_index: r.inputIf,
        ingress_service: holder.ref,
        held_by_other_service: index >= 0,
      },
      sample: [],
      accountableIp: holder.anyAddress,
    };
    this.detections++;
    this.onDetection(detection);
  }

  /** A customer-facing interface's service (spoofing check), resolved once per snapshot. */
  private serviceByRef(ref: string, t: number): ServiceInfo | undefined {
    const cached = this.byRef.get(ref);
    if (cached !== undefined || this.byRef.has(ref)) return cached;
    const found = this.snapshot.serviceByRef(ref, t);
    const address = found?.resources.find((r) => r.includes('/'));
    const info: ServiceInfo | undefined =
      found && address
        ? {
            id: found.service.id,
            ref: found.service.ref,
            kind: found.service.kind,
            customerRef: found.customer.ref,
            t: this.config.thresholds(found.service.kind),
            kindIndex: SERVICE_KINDS.indexOf(found.service.kind),
            anyAddress: address.slice(0, address.indexOf('/')),
          }
        : undefined;
    this.byRef.set(ref, info);
    return info;
  }

  private report(
    source: SourceState,
    detector: DetectorName,
    now: number,
    pps: number,
    bps: number,
    flows: number,
    destinations: number,
    details: Record<string, string | number | boolean | null>,
    r?: FlowRecord,
    target?: string,
    force = false,
  ): void {
    const i = detectorIndex[detector];
    if (!force && source.reported[i]! > 0 && now - source.reported[i]! < this.config.realertMs) return;
    if (source.reported[i] === 0 || now - source.reported[i]! > 2 * this.config.realertMs)
      source.started[i] = now;
    source.reported[i] = now;
    this.emit(
      source,
      detector,
      now,
      source.started[i]!,
      pps,
      bps,
      flows,
      destinations,
      details,
      r ? protoName(r.protocol) : undefined,
      target,
    );
  }

  private emit(
    source: SourceState,
    detector: DetectorName,
    now: number,
    started: number,
    pps: number,
    bps: number,
    flows: number,
    destinations: number,
    details: Record<string, string | number | boolean | null>,
    protocol?: Detection['protocol'],
    target?: string,
    port?: number,
  ): void {
    const sample = this.sampleOf(source);
    const window =
      detector === 'smtp-burst'
        ? this.config.smtpWindowMs
        : detector === 'port-scan'
          ? this.config.windowMs
          : this.config.floodWindowMs;
    const targets = target ? [target] : [...new Set(sample.map((f) => f.dst))].slice(0, 32);
    const detection: Detection = {
      detector,
      sourceIp: source.address,
      serviceRef: source.service!.ref,
      serviceKind: source.service!.kind,
      customerRef: source.service!.customerRef,
      windowStart: new Date(Math.max(started, now - window)),
      detectedAt: new Date(now),
      pps: Math.round(pps),
      bps: Math.round(bps),
      flows: Math.round(flows),
      destinations: Math.round(destinations),
      classification: classificationOf[detector],
      ...(protocol ? { protocol } : {}),
      ...(target ? { destinationIp: target } : {}),
      ...(port !== undefined ? { destinationPort: port } : {}),
      targets,
      details,
      sample,
    };
    this.detections++;
    this.onDetection(detection);
  }

  private sampleOf(source: SourceState): SampledFlow[] {
    const out: SampledFlow[] = [];
    const n = Math.min(source.sampleAt, SAMPLE);
    for (let k = 0; k < n; k++) {
      const o = ((source.sampleAt - n + k) % SAMPLE) * SAMPLE_FIELDS;
      const sm = source.sample;
      out.push({
        at: new Date(sm[o]!).toISOString(),
        src: source.address,
        dst: sm[o + 1]! >= 0 ? formatV4(sm[o + 1]!) : '(IPv6)',
        protocol: sm[o + 4]!,
        srcPort: sm[o + 2]!,
        dstPort: sm[o + 3]!,
        tcpFlags: sm[o + 5]!,
        packets: sm[o + 6]!,
        bytes: sm[o + 7]!,
        exporter: '',
      });
    }
    return out;
  }

  /** Drop state idle for five minutes (memory stays proportional to the sources active now). */
  private sweep(now: number): void {
    this.lastSweep = now;
    const hot = this.sources.hot;
    this.sources.sweep(
      (slot) => now - hot[slot * STRIDE + ROW_SEEN]! <= IDLE_MS,
      (st) => (st.v4 >= 0 ? st.v4 : null),
      (st) => (st.v4 < 0 ? st.address : null),
    );
    for (const [k, s] of this.targets)
      if (now - s.lastSeen > this.config.floodWindowMs * 4) this.targets.delete(k);
    for (const [k, s] of this.mail)
      if (now - s.lastSeen > 2 * this.config.smtpWindowMs + IDLE_MS) this.mail.delete(k);
  }
}

function protoName(p: number): Detection['protocol'] {
  return p === PROTO_TCP ? 'tcp' : p === PROTO_UDP ? 'udp' : p === 1 || p === 58 ? 'icmp' : 'other';
}
