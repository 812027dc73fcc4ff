import { TenancyTimeline } from './tenancy-timeline.js';

/**
 * Longest-prefix match for IPv6 over a time-aware registry: one open-addressing hash table keyed by
 * (masked network, length), probed once per distinct prefix length present, longest first.
 *
 * Why not the IPv4 scheme: IPv6 registries are sparse and clustered (everything under a few /32s), so a
 * direct table over the top bits is useless and a binary search over 128-bit boundaries costs ~20
 * dependent cache misses. Hosting registries use a handful of lengths (/128, /64, /56, /48, …), so a
 * lookup is a few probes, each touching one slot and one node key. A set of the top 32 bits of all
 * prefixes of length ≥ 32 rejects addresses outside our space in one probe. The cost grows with the
 * number of distinct lengths: a registry using dozens of lengths would want binary search on lengths
 * with markers (Waldvogel et al.), which this design leaves room for.
 */
export class Ipv6PrefixTable {
  readonly timeline: TenancyTimeline;
  /** Node keys, four words per node (masked network), and lengths. */
  readonly nodeWords: Uint32Array;
  readonly nodeLength: Uint8Array;
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Distinct lengths, longest first, with the four word masks of each. */
  private readonly lengths: Int32Array;
  private readonly lengthMasks: Uint32Array;
  /** Lengths < 32 come after `longCount` entries and are probed without the /32 pre-check. */
  private readonly longCount: number;
  private readonly top: Uint32Array;
  private readonly topUsed: Uint8Array;
  private readonly topMask: number;

  private constructor(init: {
    timeline: TenancyTimeline;
    nodeWords: Uint32Array;
    nodeLength: Uint8Array;
    slots: Int32Array;
    lengths: Int32Array;
    top: Uint32Array;
    topUsed: Uint8Array;
  }) {
    this.timeline = init.timeline;
    this.nodeWords = init.nodeWords;
    this.nodeLength = init.nodeLength;
    this.slots = init.slots;
    this.mask = init.slots.length - 1;
    this.lengths = init.lengths;
    this.lengthMasks = new Uint32Array(4 * init.lengths.length);
    let longCount = 0;
    for (let i = 0; i < init.lengths.length; i++) {
      const length = init.lengths[i]!;
      if (length >= 32) longCount++;
      for (let k = 0; k < 4; k++) this.lengthMasks[4 * i + k] = maskBits(length - 32 * k);
    }
    this.longCount = longCount;
    this.top = init.top;
    this.topUsed = init.topUsed;
    this.topMask = init.top.length - 1;
  }

  /**
   * @param words four words per tenancy (networks with host bits clear), `lengths` one per tenancy
   * @param assignments global assignment index per tenancy
   */
  static build(
    words: Uint32Array,
    lengths: Uint8Array,
    assignments: Int32Array,
    validFrom: Float64Array,
    validTo: Float64Array,
  ): Ipv6PrefixTable {
    const m = assignments.length;
    const capacity = 2 ** Math.max(4, Math.ceil(Math.log2(m * 2 + 1)));
    const slots = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    const nodeWords = new Uint32Array(4 * m);
    const nodeLength = new Uint8Array(m);
    const nodeOf = new Int32Array(m);
    const seenLength = new Uint8Array(129);
    let n = 0;
    // Dedupe through the hash table itself: one probe sequence per tenancy, no sort.
    for (let k = 0; k < m; k++) {
      const w0 = words[4 * k]!;
      const w1 = words[4 * k + 1]!;
      const w2 = words[4 * k + 2]!;
      const w3 = words[4 * k + 3]!;
      const length = lengths[k]!;
      let h = hash(w0, w1, w2, w3, length) & mask;
      for (;;) {
        const s = slots[h]!;
        if (s < 0) {
          slots[h] = n;
          nodeWords[4 * n] = w0;
          nodeWords[4 * n + 1] = w1;
          nodeWords[4 * n + 2] = w2;
          nodeWords[4 * n + 3] = w3;
          nodeLength[n] = length;
          nodeOf[k] = n++;
          seenLength[length] = 1;
          break;
        }
        if (
          nodeLength[s] === length &&
          nodeWords[4 * s] === w0 &&
          nodeWords[4 * s + 1] === w1 &&
          nodeWords[4 * s + 2] === w2 &&
          nodeWords[4 * s + 3] === w3
        ) {
          nodeOf[k] = s;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    const lengthList: number[] = [];
    for (let length = 128; length >= 0; length--) if (seenLength[length]) lengthList.push(length);

    const topCapacity = 2 ** Math.max(4, Math.ceil(Math.log2(n * 2 + 1)));
    const top = new Uint32Array(topCapacity);
    const topUsed = new Uint8Array(topCapacity);
    for (let i = 0; i < n; i++) {
      if (nodeLength[i]! < 32) continue;
      insertTop(top, topUsed, nodeWords[4 * i]!);
    }
    const timeline = TenancyTimeline.build(n, nodeOf, assignments, validFrom, validTo);
    const table = new Ipv6PrefixTable({
      timeline,
      nodeWords: nodeWords.slice(0, 4 * n),
      nodeLength: nodeLength.slice(0, n),
      slots,
      lengths: Int32Array.from(lengthList),
      top,
      topUsed,
    });
    // Parent: the longest strictly shorter prefix present that contains the node.
    const parent = timeline.parent;
    for (let i = 0; i < n; i++) {
      parent[i] = table.probeFrom(
        nodeWords[4 * i]!,
        nodeWords[4 * i + 1]!,
        nodeWords[4 * i + 2]!,
        nodeWords[4 * i + 3]!,
        lengthList.indexOf(nodeLength[i]!) + 1,
      );
    }
    return table;
  }

  /** Most specific prefix node containing the address regardless of time, or -1. */
  cover(w0: number, w1: number, w2: number, w3: number): number {
    return this.probeFrom(w0, w1, w2, w3, 0);
  }

  /** Global assignment index holding the address at `t` (epoch ms), most specific first; -1 if none. */
  lookup(w0: number, w1: number, w2: number, w3: number, t: number): number {
    const node = this.probeFrom(w0, w1, w2, w3, 0);
    return node < 0 ? -1 : this.timeline.find(node, t);
  }

  /** Probes lengths from index `first` (longest first) and returns the first node found, or -1. */
  private probeFrom(w0: number, w1: number, w2: number, w3: number, first: number): number {
    const lengths = this.lengths;
    const masks = this.lengthMasks;
    const slots = this.slots;
    const words = this.nodeWords;
    const nodeLength = this.nodeLength;
    const mask = this.mask;
    let i = first;
    if (i < this.longCount && !this.hasTop(w0)) i = this.longCount;
    for (; i < lengths.length; i++) {
      const length = lengths[i]!;
      const m0 = (w0 & masks[4 * i]!) >>> 0;
      const m1 = (w1 & masks[4 * i + 1]!) >>> 0;
      const m2 = (w2 & masks[4 * i + 2]!) >>> 0;
      const m3 = (w3 & masks[4 * i + 3]!) >>> 0;
      let h = hash(m0, m1, m2, m3, length) & mask;
      for (;;) {
        const s = slots[h]!;
        if (s < 0) break;
        if (
          nodeLength[s] === length &&
          words[4 * s] === m0 &&
          words[4 * s + 1] === m1 &&
          words[4 * s + 2] === m2 &&
          words[4 * s + 3] === m3
        ) {
          return s;
        }
        h = (h + 1) & mask;
      }
    }
    return -1;
  }

  private hasTop(w0: number): boolean {
    const top = this.top;
    const used = this.topUsed;
    let h = mix32(w0) & this.topMask;
    while (used[h]) {
      if (top[h] === w0) return true;
      h = (h + 1) & this.topMask;
    }
    return false;
  }

  get byteLength(): number {
    return (
      this.slots.byteLength +
      this.nodeWords.byteLength +
      this.nodeLength.byteLength +
      this.top.byteLength +
      this.topUsed.byteLength +
      this.timeline.byteLength
    );
  }
}

function maskBits(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

function mix32(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function hash(w0: number, w1: number, w2: number, w3: number, length: number): number {
  let h = Math.imul(w0 ^ Math.imul(length, 0x9e3779b1), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w3, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function insertTop(top: Uint32Array, used: Uint8Array, w0: number): void {
  const mask = top.length - 1;
  let h = mix32(w0) & mask;
  while (used[h]) {
    if (top[h] === w0) return;
    h = (h + 1) & mask;
  }
  used[h] = 1;
  top[h] = w0;
}
