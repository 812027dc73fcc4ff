import type { ServiceKind } from '../store/tables/registry.table.js';
import type { Thresholds } from './detect-config.js';
import { WindowedHyperLogLog } from './hyperloglog.js';
import { BUCKETS } from './source-table.js';

/**
 * The detectors' state objects and the Ring window (flow-detectors.ts uses them): what a source, a target,
 * a service's mail and a customer-facing interface keep between flows. A source's flood counters are not
 * here but in its row of the SourceTable (source-table.ts), which every flow touches.
 */
export const SAMPLE = 16;
/** Per sampled flow: time, dst (v4 or hash), sport, dport, proto, flags, packets, bytes. */
export const SAMPLE_FIELDS = 8;
export const REFLECTOR_PORTS = new Set([53, 123, 161, 1900, 11211]);
export const IDLE_MS = 5 * 60_000;
export const RECHECK_MS = 10_000;

export interface ServiceInfo {
  readonly id: number;
  readonly ref: string;
  readonly kind: ServiceKind;
  readonly customerRef: string;
  readonly t: Thresholds;
  /** Index of the kind in SERVICE_KINDS (what a source's row keeps). */
  readonly kindIndex: number;
  /** An address the service holds (the network address of the assignment first seen), for accountability. */
  readonly anyAddress: string;
}

/**
 * Counters over a window of BUCKETS buckets, kept as running sums, in one Float64Array: the buckets, then
 * the sums, then the current bucket number. One array, not three, because with tens of thousands of
 * sources every flow touches a different source and each separate object is another cache miss.
 */
export class Ring {
  readonly data: Float64Array;
  private readonly sumsAt: number;
  private readonly epochAt: number;

  constructor(
    private readonly width: number,
    private readonly bucketMs: number,
  ) {
    this.sumsAt = width * BUCKETS;
    this.epochAt = this.sumsAt + width;
    this.data = new Float64Array(this.epochAt + 1);
    this.data[this.epochAt] = -1;
  }

  /** Advance to `now`; returns the current bucket's offset. */
  at(now: number): number {
    const d = this.data;
    const e = Math.floor(now / this.bucketMs);
    const epoch = d[this.epochAt]!;
    if (e !== epoch) {
      const w = this.width;
      if (epoch < 0 || e - epoch >= BUCKETS) d.fill(0, 0, this.epochAt);
      else {
        for (let x = epoch + 1; x <= e; x++) {
          const b = (x % BUCKETS) * w;
          for (let k = 0; k < w; k++) {
            d[this.sumsAt + k]! -= d[b + k]!;
            d[b + k] = 0;
          }
        }
      }
      d[this.epochAt] = e;
    }
    return (e % BUCKETS) * this.width;
  }

  add(bucket: number, k: number, v: number): void {
    this.data[bucket + k]! += v;
    this.data[this.sumsAt + k]! += v;
  }

  sum(k: number): number {
    return this.data[this.sumsAt + k]!;
  }
}

export const F_PKTS = 0;
export const F_BYTES = 1;
export const F_FLOWS = 2;
export const F_AMP_PKTS = 3;
export const F_AMP_BYTES = 4;

/**
 * A source of ours: what is not updated by every flow (service, scan sketches, evidence sample). Its flood
 * counters live in its row of the SourceTable (source-table.ts).
 */
export class SourceState {
  scan: WindowedHyperLogLog | null = null;
  scanPorts: WindowedHyperLogLog | null = null;
  scanEpoch = -1;
  scanFlows = 0;
  readonly sample = new Float64Array(SAMPLE * SAMPLE_FIELDS);
  sampleAt = 0;
  slot = -1;
  /** When each detector last reported this source (0: never), by detector index. */
  readonly reported = new Float64Array(5);
  readonly started = new Float64Array(5);

  constructor(
    readonly address: string,
    /** The IPv4 address, or -1 for IPv6. */
    readonly v4: number,
    /** Null once the address is no longer held (kept until swept, so it is not looked up on every flow). */
    public service: ServiceInfo | null,
  ) {}
}

export class TargetState {
  readonly ring: Ring;
  /** Contributing sources (state objects) with their packets in the window, up to 8. */
  readonly contributors: SourceState[] = [];
  lastSeen = 0;
  reported = 0;
  started = 0;
  constructor(
    readonly address: string,
    bucketMs: number,
  ) {
    this.ring = new Ring(2, bucketMs);
  }
}

export class ServiceMailState {
  readonly ring: Ring;
  readonly destinations = new WindowedHyperLogLog(8, 4);
  hllEpoch = -1;
  baseline: number;
  windowEpoch = -1;
  reported = 0;
  started = 0;
  lastSource: SourceState;
  lastSeen = 0;
  constructor(bucketMs: number, baseline: number, source: SourceState) {
    this.ring = new Ring(1, bucketMs);
    this.baseline = baseline;
    this.lastSource = source;
  }
}

export class SpoofState {
  readonly ring: Ring;
  reported = 0;
  started = 0;
  lastSpoofed = '';
  ingress = '';
  sample = '';
  constructor(bucketMs: number) {
    this.ring = new Ring(2, bucketMs);
  }
}
