import { sharedBuffer, sharedInt32, sharedUint32 } from './shared-array.js';
import { findTenancy, TenancyTimeline } from './tenancy-timeline.js';

/**
 * Longest-prefix match for IPv6 over a time-aware registry: one open-addressing hash table keyed by
 * (masked network, length), probed once per distinct prefix length present, longest first.
 *
 * Why not the IPv4 scheme: IPv6 registries are sparse and clustered (everything under a few /32s), so a
 * direct table over the top bits is useless and a binary search over 128-bit boundaries costs ~20
 * dependent cache misses. Hosting registries use a handful of lengths (/128, /64, /56, /48, …), so a
 * lookup is a few probes. Two things keep a probe cheap:
 * - the slot *is* the node: 64 bytes holding its tenancy record (see TenancyTimeline) and its key, so a
 *   hit reads one cache line (linear probing moves to the adjacent one);
 * - a Bloom filter (about 12 bits per prefix, two bits in one 32-bit word, so one read; under 1 MB and
 *   cache resident) answers "no such prefix of this length" for ~98% of the absent ones, so probing an
 *   absent length, which is most probes, touches no table memory at all.
 * The cost grows with the number of distinct lengths (a filter check each): a registry using dozens of
 * lengths would want binary search on lengths with markers (Waldvogel et al.).
 */
export class Ipv6PrefixTable {
  readonly timeline: TenancyTimeline;
  /** The slots as words: key w0..w3 at KEY, length + 1 at KEY + 4 (0: empty slot). */
  private readonly words: Uint32Array;
  /** The same slots as doubles (tenancy records), and the runs of multi-tenancy nodes. */
  private readonly records: Float64Array;
  private readonly extra: Float64Array;
  private readonly mask: number;
  private readonly slotShift: number;
  /** Distinct lengths, longest first, with the four word masks of each. */
  private readonly lengths: Int32Array;
  private readonly lengthMasks: Uint32Array;
  private readonly filter: Int32Array;
  private readonly filterShift: number;

  private constructor(init: {
    timeline: TenancyTimeline;
    words: Uint32Array;
    lengths: Int32Array;
    filter: Int32Array;
  }) {
    this.timeline = init.timeline;
    this.words = init.words;
    this.records = init.timeline.records;
    this.extra = init.timeline.extra;
    const capacity = init.words.length / WORDS;
    this.mask = capacity - 1;
    this.slotShift = 32 - Math.log2(capacity);
    this.lengths = init.lengths;
    this.lengthMasks = new Uint32Array(4 * init.lengths.length);
    for (let i = 0; i < init.lengths.length; i++) {
      const length = init.lengths[i]!;
      for (let k = 0; k < 4; k++) this.lengthMasks[4 * i + k] = maskBits(length - 32 * k);
    }
    this.filter = init.filter;
    this.filterShift = 32 - Math.log2(init.filter.length);
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
    // At most 70% full when every tenancy is a distinct prefix: with recycling it is less.
    const capacity = 2 ** Math.max(4, Math.ceil(Math.log2(m / 0.7 + 1)));
    const buffer = sharedBuffer(capacity * SLOT_BYTES);
    const slotWords = new Uint32Array(buffer);
    const slotShift = 32 - Math.log2(capacity);
    const nodeOf = sharedInt32(m);
    const seenLength = new Uint8Array(129);
    const hashes = sharedUint32(m);
    let n = 0;
    // Dedupe through the hash table itself: one probe sequence per tenancy, no sort.
    for (let k = 0; k < m; k++) {
      const w0 = words[4 * k]!;
      const w1 = words[4 * k + 1]!;
      const w2 = words[4 * k + 2]!;
      const w3 = words[4 * k + 3]!;
      const length = lengths[k]!;
      const h = hash(w0, w1, w2, w3, length);
      let slot = Math.imul(h, GOLDEN) >>> slotShift;
      for (;;) {
        const o = WORDS * slot + KEY;
        if (slotWords[o + 4] === 0) {
          slotWords[o] = w0;
          slotWords[o + 1] = w1;
          slotWords[o + 2] = w2;
          slotWords[o + 3] = w3;
          slotWords[o + 4] = length + 1;
          nodeOf[k] = slot;
          seenLength[length] = 1;
          hashes[n++] = h;
          break;
        }
        if (
          slotWords[o + 4] === length + 1 &&
          slotWords[o] === w0 &&
          slotWords[o + 1] === w1 &&
          slotWords[o + 2] === w2 &&
          slotWords[o + 3] === w3
        ) {
          nodeOf[k] = slot;
          break;
        }
        slot = (slot + 1) & (capacity - 1);
      }
    }
    const lengthList: number[] = [];
    for (let length = 128; length >= 0; length--) if (seenLength[length]) lengthList.push(length);

    const filter = sharedInt32(2 ** Math.max(5, Math.ceil(Math.log2((n * FILTER_BITS_PER_KEY) / 32))));
    const filterShift = 32 - Math.log2(filter.length);
    for (let i = 0; i < n; i++) filter[hashes[i]! >>> filterShift]! |= filterBits(hashes[i]!);

    const timeline = TenancyTimeline.build(
      new Float64Array(buffer),
      RECORD,
      n,
      nodeOf,
      assignments,
      validFrom,
      validTo,
    );
    const table = new Ipv6PrefixTable({
      timeline,
      words: slotWords,
      lengths: Int32Array.from(lengthList),
      filter,
    });
    // Parent: the longest strictly shorter prefix present that contains the node.
    for (let slot = 0; slot < capacity; slot++) {
      const o = WORDS * slot + KEY;
      const length = slotWords[o + 4]! - 1;
      if (length < 0) continue;
      timeline.setParent(
        slot,
        table.probeFrom(
          slotWords[o]!,
          slotWords[o + 1]!,
          slotWords[o + 2]!,
          slotWords[o + 3]!,
          lengthList.indexOf(length) + 1,
        ),
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
    return node < 0 ? -1 : findTenancy(this.records, this.extra, RECORD, node, t);
  }

  /** Probes lengths from index `first` (longest first) and returns the first node found, or -1. */
  private probeFrom(w0: number, w1: number, w2: number, w3: number, first: number): number {
    const lengths = this.lengths;
    const masks = this.lengthMasks;
    const words = this.words;
    const filter = this.filter;
    const filterShift = this.filterShift;
    const mask = this.mask;
    for (let i = first; i < lengths.length; i++) {
      const length = lengths[i]!;
      const m0 = (w0 & masks[4 * i]!) >>> 0;
      const m1 = (w1 & masks[4 * i + 1]!) >>> 0;
      const m2 = (w2 & masks[4 * i + 2]!) >>> 0;
      const m3 = (w3 & masks[4 * i + 3]!) >>> 0;
      const h = hash(m0, m1, m2, m3, length);
      const bits = filterBits(h);
      if ((filter[h >>> filterShift]! & bits) !== bits) continue;
      let slot = Math.imul(h, GOLDEN) >>> this.slotShift;
      for (;;) {
        const o = WORDS * slot + KEY;
        const stored = words[o + 4]!;
        if (stored === 0) break;
        if (
          stored === length + 1 &&
          words[o] === m0 &&
          words[o + 1] === m1 &&
          words[o + 2] === m2 &&
          words[o + 3] === m3
        ) {
          return slot;
        }
        slot = (slot + 1) & mask;
      }
    }
    return -1;
  }

  get byteLength(): number {
    return this.words.byteLength + this.filter.byteLength + this.timeline.extra.byteLength;
  }
}

/** A slot: the tenancy record (four doubles, 32 bytes), then the key words; one 64-byte line. */
const SLOT_BYTES = 64;
const WORDS = SLOT_BYTES / 4;
/** The slot stride in doubles, for the tenancy records. */
const RECORD = SLOT_BYTES / 8;
/** Word offset of the key inside a slot. */
const KEY = 8;
const GOLDEN = 0x9e3779b1 | 0;
/** About 2% false positives with two bits per key in one word. */
const FILTER_BITS_PER_KEY = 12;

function filterBits(h: number): number {
  return (1 << (h & 31)) | (1 << ((h >>> 5) & 31));
}

function maskBits(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

function hash(w0: number, w1: number, w2: number, w3: number, length: number): number {
  let h = Math.imul(w0 ^ Math.imul(length, 0x9e3779b1), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w3, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
