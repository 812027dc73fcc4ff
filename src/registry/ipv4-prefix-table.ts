import { sharedFloat64, sharedInt32, sharedUint8, sharedUint32 } from './shared-array.js';
import { findTenancy, TenancyTimeline } from './tenancy-timeline.js';

/**
 * Longest-prefix match for IPv4 over a time-aware registry, in the spirit of DIR-24-8.
 *
 * The distinct prefixes are flattened into elementary intervals (sorted boundaries, each mapped to the
 * most specific prefix covering it, or -1). A direct table indexed by the top 16 bits answers lookups
 * outside our space in one memory access: an entry ≥ 0 means the whole bucket lies in one interval
 * (entry - 1 is its node). A bucket with boundaries inside is either sparse (at most SPARSE boundaries:
 * the entry points at the first, and a forward scan over one cache line of (start, node + 1) pairs
 * finishes) or dense (the entry points at a 256-entry chunk indexed by the next 8 bits, recursively).
 * Chunks exist only for dense buckets, so memory stays bounded by the number of boundaries, not by how
 * scattered the prefixes are. Time is then checked on the node's record (one cache line holding its
 * tenancy when it has one, the common case), walking to less specific prefixes when the most specific
 * one was not held at that moment. A hit costs the chunk or scan line and the record line.
 */
export class Ipv4PrefixTable {
  readonly timeline: TenancyTimeline;
  /** Prefixes by node: network and length. */
  readonly nodeNet: Uint32Array;
  readonly nodeLength: Uint8Array;
  private readonly level1: Int32Array;
  private readonly pool: Int32Array;
  private readonly records: Float64Array;
  private readonly extra: Float64Array;
  /** Boundaries as pairs (start, node + 1), sorted by start. */
  private readonly bounds: Uint32Array;
  private readonly boundaryCount: number;

  private constructor(init: {
    timeline: TenancyTimeline;
    nodeNet: Uint32Array;
    nodeLength: Uint8Array;
    level1: Int32Array;
    pool: Int32Array;
    bounds: Uint32Array;
    boundaryCount: number;
  }) {
    this.timeline = init.timeline;
    this.nodeNet = init.nodeNet;
    this.nodeLength = init.nodeLength;
    this.level1 = init.level1;
    this.pool = init.pool;
    this.records = init.timeline.records;
    this.extra = init.timeline.extra;
    this.bounds = init.bounds;
    this.boundaryCount = init.boundaryCount;
  }

  /**
   * @param nets,lengths one entry per tenancy (prefixes validated, host bits clear)
   * @param assignments global assignment index per tenancy
   * @param validFrom,validTo epoch ms by global assignment index
   */
  static build(
    nets: Uint32Array,
    lengths: Uint8Array,
    assignments: Int32Array,
    validFrom: Float64Array,
    validTo: Float64Array,
  ): Ipv4PrefixTable {
    const m = assignments.length;
    // Distinct prefixes sorted by (network, length): a pre-order walk of the prefix tree. Temporary
    // arrays are kept few: each megabyte of them brings a full collection of a large heap closer.
    const sorted = sharedFloat64(m);
    for (let k = 0; k < m; k++) sorted[k] = nets[k]! * 64 + lengths[k]!;
    sorted.sort();
    let n = 0;
    for (let k = 0; k < m; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[n++] = sorted[k]!;
    const unique = sorted.subarray(0, n);
    const nodeNet = sharedUint32(n);
    const nodeLength = sharedUint8(n);
    for (let i = 0; i < n; i++) {
      const length = unique[i]! % 64;
      nodeNet[i] = (unique[i]! - length) / 64;
      nodeLength[i] = length;
    }
    const nodeEnd = (i: number) => nodeNet[i]! + 2 ** (32 - nodeLength[i]!) - 1;
    const nodeOf = sharedInt32(m);
    for (let k = 0; k < m; k++) nodeOf[k] = lowerBound(unique, nets[k]! * 64 + lengths[k]!);
    const timeline = TenancyTimeline.build(
      sharedFloat64(RECORD * n),
      RECORD,
      n,
      nodeOf,
      assignments,
      validFrom,
      validTo,
    );

    // Elementary intervals (start, node + 1) and parents in one sweep with a stack of open prefixes
    // (depth ≤ 33).
    const bounds = sharedUint32(2 * (2 * n + 1));
    let nb = 0;
    const emit = (start: number, node: number) => {
      if (nb > 0 && bounds[2 * nb - 2] === start) {
        bounds[2 * nb - 1] = node + 1;
      } else if (nb === 0 ? node !== -1 : bounds[2 * nb - 1] !== node + 1) {
        bounds[2 * nb] = start;
        bounds[2 * nb + 1] = node + 1;
        nb++;
      }
    };
    const stack = new Int32Array(34);
    let sp = 0;
    const closeUntil = (limit: number) => {
      while (sp > 0 && nodeEnd(stack[sp - 1]!) < limit) {
        const closed = stack[--sp]!;
        const after = nodeEnd(closed) + 1;
        if (after <= 0xffffffff) emit(after, sp > 0 ? stack[sp - 1]! : -1);
      }
    };
    for (let i = 0; i < n; i++) {
      closeUntil(nodeNet[i]!);
      timeline.setParent(i, sp > 0 ? stack[sp - 1]! : -1);
      emit(nodeNet[i]!, i);
      stack[sp++] = i;
    }
    closeUntil(Number.POSITIVE_INFINITY);

    const { level1, pool } = buildDirectTables(bounds, nb);
    return new Ipv4PrefixTable({
      timeline,
      nodeNet,
      nodeLength,
      level1,
      pool,
      // A view, not a copy: the unused tail costs less than a second array during the build.
      bounds: bounds.subarray(0, 2 * nb),
      boundaryCount: nb,
    });
  }

  /** Most specific prefix node containing `addr` regardless of time, or -1. */
  cover(addr: number): number {
    let shift = ROOT_SHIFT;
    let e = this.level1[addr >>> ROOT_SHIFT]!;
    while (e < 0) {
      const x = -e - 1;
      if ((x & CHUNK) === 0) {
        // At most SPARSE boundaries inside this bucket (plus one at its start): a short forward scan.
        const bounds = this.bounds;
        let j = x;
        const hi = Math.min(x + SPARSE + 1, this.boundaryCount);
        while (j < hi && bounds[2 * j]! <= addr) j++;
        return j > 0 ? (bounds[2 * j - 1]! | 0) - 1 : -1;
      }
      shift -= 8;
      e = this.pool[(x ^ CHUNK) + ((addr >>> shift) & 255)]!;
    }
    return e - 1;
  }

  /** Global assignment index holding `addr` at `t` (epoch ms), most specific prefix first; -1 if none. */
  lookup(addr: number, t: number): number {
    const node = this.cover(addr);
    return node < 0 ? -1 : findTenancy(this.records, this.extra, RECORD, node, t);
  }

  get byteLength(): number {
    return (
      this.level1.byteLength +
      this.pool.buffer.byteLength +
      this.bounds.buffer.byteLength +
      this.nodeNet.byteLength +
      this.nodeLength.byteLength +
      this.timeline.byteLength
    );
  }
}

/** Tag bit of a chunk pointer (entries are -(x + 1); x without the tag is a boundary index). */
const CHUNK = 0x40000000;
/** A bucket with at most this many boundaries inside is scanned (8 pairs: one 64-byte line), with more it gets a chunk. */
const SPARSE = 7;
/** Doubles per node record: from, to, assignment, parent (see TenancyTimeline). */
const RECORD = 4;
/** The root table is indexed by the top 16 bits (256 KB: stays in cache). */
const ROOT_SHIFT = 16;

function buildDirectTables(bounds: Uint32Array, nb: number): { level1: Int32Array; pool: Int32Array } {
  // A 16-bit root (256 KB, stays in cache) with chunks under dense buckets; a fixed 24-bit root would
  // cost 64 MB and, as external memory, trigger full garbage collections of a large heap while building.
  const shift = ROOT_SHIFT;
  const level1 = sharedInt32(2 ** (32 - ROOT_SHIFT));
  let pool = sharedInt32(256 * 64);
  let poolUsed = 0;
  // `j` only moves forward: buckets are filled in address order, chunks depth first.
  let j = 0;
  // Writes go through `inPool` rather than an array reference: a nested fill may grow (replace) the pool.
  const write = (inPool: boolean, index: number, value: number) => {
    if (inPool) pool[index] = value;
    else level1[index] = value;
  };
  const fill = (inPool: boolean, offset: number, count: number, base: number, bucketShift: number) => {
    const size = 2 ** bucketShift;
    for (let b = 0; b < count; b++) {
      const bucketStart = base + b * size;
      const bucketEnd = bucketStart + size - 1;
      while (j < nb && bounds[2 * j]! < bucketStart) j++;
      let cover: number;
      let next: number;
      if (j < nb && bounds[2 * j] === bucketStart) {
        cover = bounds[2 * j + 1]! - 1;
        next = j + 1;
      } else {
        cover = j > 0 ? bounds[2 * (j - 1) + 1]! - 1 : -1;
        next = j;
      }
      let k = next;
      while (k < nb && bounds[2 * k]! <= bucketEnd && k - next <= SPARSE) k++;
      if (k === next) {
        write(inPool, offset + b, cover + 1);
      } else if (k - next <= SPARSE || bucketShift < 8) {
        write(inPool, offset + b, -(j + 1));
      } else {
        if (poolUsed + 256 > pool.length) {
          const grown = sharedInt32(pool.length * 2);
          grown.set(pool);
          pool = grown;
        }
        const chunk = poolUsed;
        poolUsed += 256;
        fill(true, chunk, 256, bucketStart, bucketShift - 8);
        write(inPool, offset + b, -((CHUNK | chunk) + 1));
      }
    }
  };
  fill(false, 0, level1.length, 0, shift);
  return { level1, pool: pool.subarray(0, poolUsed) };
}

function lowerBound(sorted: Float64Array, key: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
