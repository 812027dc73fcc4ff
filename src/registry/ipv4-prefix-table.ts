import { TenancyTimeline } from './tenancy-timeline.js';

/**
 * Longest-prefix match for IPv4 over a time-aware registry, in the spirit of DIR-24-8.
 *
 * The distinct prefixes are flattened into elementary intervals (sorted `starts`, each mapped to the most
 * specific prefix covering it, or -1). A direct table indexed by the top B bits of the address (B = 24 for
 * large registries: 64 MB, fixed; fewer bits for small ones) answers most lookups in one memory access:
 * an entry ≥ 0 means the whole bucket lies in one interval (entry - 1 is its node); a negative entry
 * points at the first interval boundary inside the bucket and a short binary search over at most
 * 2^(32-B) boundaries finishes. Time is then checked on the node's tenancies, walking to less specific
 * prefixes when the most specific one was not held at that moment.
 */
export class Ipv4PrefixTable {
  readonly timeline: TenancyTimeline;
  /** Prefixes by node: network and length. */
  readonly nodeNet: Uint32Array;
  readonly nodeLength: Uint8Array;
  private readonly table: Int32Array;
  private readonly shift: number;
  private readonly bucketSize: number;
  private readonly starts: Uint32Array;
  private readonly at: Int32Array;
  private readonly boundaryCount: number;

  private constructor(init: {
    timeline: TenancyTimeline;
    nodeNet: Uint32Array;
    nodeLength: Uint8Array;
    table: Int32Array;
    shift: number;
    starts: Uint32Array;
    at: Int32Array;
    boundaryCount: number;
  }) {
    this.timeline = init.timeline;
    this.nodeNet = init.nodeNet;
    this.nodeLength = init.nodeLength;
    this.table = init.table;
    this.shift = init.shift;
    this.bucketSize = 2 ** init.shift;
    this.starts = init.starts;
    this.at = init.at;
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
    // Distinct prefixes sorted by (network, length): a pre-order walk of the prefix tree.
    const keys = new Float64Array(m);
    for (let k = 0; k < m; k++) keys[k] = nets[k]! * 64 + lengths[k]!;
    const sorted = keys.slice().sort();
    let n = 0;
    for (let k = 0; k < m; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[n++] = sorted[k]!;
    const unique = sorted.subarray(0, n);
    const nodeNet = new Uint32Array(n);
    const nodeLength = new Uint8Array(n);
    const nodeEnd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const length = unique[i]! % 64;
      const net = (unique[i]! - length) / 64;
      nodeNet[i] = net;
      nodeLength[i] = length;
      nodeEnd[i] = net + 2 ** (32 - length) - 1;
    }
    const nodeOf = new Int32Array(m);
    for (let k = 0; k < m; k++) nodeOf[k] = lowerBound(unique, keys[k]!);
    const timeline = TenancyTimeline.build(n, nodeOf, assignments, validFrom, validTo);
    const parent = timeline.parent;

    // Elementary intervals and parents in one sweep with a stack of open prefixes (depth ≤ 33).
    const starts = new Uint32Array(2 * n + 1);
    const at = new Int32Array(2 * n + 1);
    let nb = 0;
    const emit = (start: number, node: number) => {
      if (nb > 0 && starts[nb - 1] === start) {
        at[nb - 1] = node;
      } else if (nb === 0 ? node !== -1 : at[nb - 1] !== node) {
        starts[nb] = start;
        at[nb++] = node;
      }
    };
    const stack = new Int32Array(34);
    let sp = 0;
    const closeUntil = (limit: number) => {
      while (sp > 0 && nodeEnd[stack[sp - 1]!]! < limit) {
        const closed = stack[--sp]!;
        const after = nodeEnd[closed]! + 1;
        if (after <= 0xffffffff) emit(after, sp > 0 ? stack[sp - 1]! : -1);
      }
    };
    for (let i = 0; i < n; i++) {
      closeUntil(nodeNet[i]!);
      parent[i] = sp > 0 ? stack[sp - 1]! : -1;
      emit(nodeNet[i]!, i);
      stack[sp++] = i;
    }
    closeUntil(Number.POSITIVE_INFINITY);

    // Direct table: large enough that buckets hold few boundaries, small for small registries.
    const bits = Math.max(16, Math.min(24, Math.ceil(Math.log2(Math.max(nb, 1))) + 4));
    const shift = 32 - bits;
    const size = 2 ** shift;
    const table = new Int32Array(2 ** bits);
    let j = 0;
    for (let b = 0; b < table.length; b++) {
      const bucketStart = b * size;
      const bucketEnd = bucketStart + size - 1;
      while (j < nb && starts[j]! < bucketStart) j++;
      let cover: number;
      let next: number;
      if (j < nb && starts[j] === bucketStart) {
        cover = at[j]!;
        next = j + 1;
      } else {
        cover = j > 0 ? at[j - 1]! : -1;
        next = j;
      }
      table[b] = next < nb && starts[next]! <= bucketEnd ? -(j + 1) : cover + 1;
    }
    return new Ipv4PrefixTable({
      timeline,
      nodeNet,
      nodeLength,
      table,
      shift,
      starts: starts.slice(0, nb),
      at: at.slice(0, nb),
      boundaryCount: nb,
    });
  }

  /** Most specific prefix node containing `addr` regardless of time, or -1. */
  cover(addr: number): number {
    const e = this.table[addr >>> this.shift]!;
    if (e >= 0) return e - 1;
    const starts = this.starts;
    let lo = -e - 1;
    let hi = lo + this.bucketSize;
    if (hi > this.boundaryCount) hi = this.boundaryCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? this.at[lo - 1]! : -1;
  }

  /** Global assignment index holding `addr` at `t` (epoch ms), most specific prefix first; -1 if none. */
  lookup(addr: number, t: number): number {
    const node = this.cover(addr);
    return node < 0 ? -1 : this.timeline.find(node, t);
  }

  get byteLength(): number {
    return (
      this.table.byteLength +
      this.starts.byteLength +
      this.at.byteLength +
      this.nodeNet.byteLength +
      this.nodeLength.byteLength +
      this.timeline.byteLength
    );
  }
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
