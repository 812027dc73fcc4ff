import { sharedBuffer, sharedInt32 } from './shared-array.js';
import { findTenancy, TenancyTimeline } from './tenancy-timeline.js';

/**
 * Registered domains, matched on the name itself and its subdomains (`a.b.example.com` → `example.com`),
 * most specific registered name first, then through the time check to its registered parent.
 *
 * An open-addressing table keyed by a hash computed right to left: one pass over the queried name yields
 * the hash of every suffix, and at each label boundary the suffix is looked up in place — no substring
 * is allocated and no string is hashed twice, which is what slicing suffixes and calling `Map.get` on
 * each would cost. The last hit in the pass is the longest registered suffix, the most specific name.
 *
 * Most suffixes of a query are not registered (`com`, `www.example.com` when only `example.com` is),
 * so a Bloom filter (about 12 bits per name, two bits in one 32-bit word, cache resident) rejects ~98%
 * of them without touching the table. The slot *is* the node: 64 bytes holding its tenancy record (see
 * TenancyTimeline), the suffix hash, the length and, for names up to INLINE characters (nearly all),
 * the name's bytes — so a hit is one cache line, compared byte by byte, with no string object to chase.
 */
export class DomainIndex {
  readonly timeline: TenancyTimeline;
  /** The distinct registered names. */
  readonly names: string[];
  /** The slots as words: hash at HASH, length + 1 at HASH + 1 (0: empty), name index (| INLINE_FLAG). */
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  /** The same slots as doubles (tenancy records), and the runs of multi-tenancy nodes. */
  private readonly records: Float64Array;
  private readonly extra: Float64Array;
  private readonly mask: number;
  private readonly filter: Int32Array;
  private readonly filterShift: number;
  private readonly maxLength: number;

  private constructor(
    timeline: TenancyTimeline,
    names: string[],
    buffer: SharedArrayBuffer,
    filter: Int32Array,
  ) {
    this.timeline = timeline;
    this.names = names;
    this.words = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.records = timeline.records;
    this.extra = timeline.extra;
    this.mask = buffer.byteLength / SLOT_BYTES - 1;
    this.filter = filter;
    this.filterShift = 32 - Math.log2(filter.length);
    let maxLength = 0;
    for (const name of names) if (name.length > maxLength) maxLength = name.length;
    this.maxLength = maxLength;
  }

  /**
   * @param domains normalised names, one per tenancy (see `normalizeDomain`), at least two labels
   * @param assignments global assignment index per tenancy
   */
  static build(
    domains: readonly string[],
    assignments: Int32Array,
    validFrom: Float64Array,
    validTo: Float64Array,
  ): DomainIndex {
    const m = domains.length;
    const capacity = 2 ** Math.max(4, Math.ceil(Math.log2(m / 0.7 + 1)));
    const mask = capacity - 1;
    const buffer = sharedBuffer(capacity * SLOT_BYTES);
    const words = new Int32Array(buffer);
    const bytes = new Uint8Array(buffer);
    const names: string[] = [];
    const hashes = sharedInt32(m);
    const nodeOf = sharedInt32(m);
    // Dedupe through the table itself: no Map of names on the heap.
    for (let k = 0; k < m; k++) {
      const name = domains[k]!;
      let h = SEED;
      for (let i = name.length - 1; i >= 0; i--) h = step(h, name.charCodeAt(i));
      let slot = finish(h) & mask;
      for (;;) {
        const o = WORDS * slot + HASH;
        if (words[o + 1] === 0) {
          const inline = name.length <= INLINE && isByteString(name);
          words[o] = h;
          words[o + 1] = name.length + 1;
          words[o + 2] = names.length | (inline ? INLINE_FLAG : 0);
          if (inline)
            for (let i = 0; i < name.length; i++) bytes[SLOT_BYTES * slot + NAME + i] = name.charCodeAt(i);
          hashes[names.length] = h;
          names.push(name);
          break;
        }
        if (
          words[o] === h &&
          words[o + 1] === name.length + 1 &&
          names[words[o + 2]! & ~INLINE_FLAG] === name
        )
          break;
        slot = (slot + 1) & mask;
      }
      nodeOf[k] = slot;
    }
    const filter = sharedInt32(
      2 ** Math.max(5, Math.ceil(Math.log2((names.length * FILTER_BITS_PER_KEY) / 32))),
    );
    const filterShift = 32 - Math.log2(filter.length);
    for (let i = 0; i < names.length; i++) {
      const f = finish(hashes[i]!);
      filter[f >>> filterShift]! |= filterBits(f);
    }
    const timeline = TenancyTimeline.build(
      new Float64Array(buffer),
      RECORD,
      names.length,
      nodeOf,
      assignments,
      validFrom,
      validTo,
    );
    const index = new DomainIndex(timeline, names, buffer, filter);
    for (let slot = 0; slot < capacity; slot++) {
      const o = WORDS * slot + HASH;
      if (words[o + 1] === 0) continue;
      const name = names[words[o + 2]! & ~INLINE_FLAG]!;
      const dot = name.indexOf('.');
      timeline.setParent(slot, dot < 0 ? -1 : index.cover(name, dot + 1));
    }
    return index;
  }

  /**
   * Most specific registered node for `name` (normalised) or one of its parent names, regardless of
   * time; -1 when none. `from` ignores the labels before that offset (used to find a node's parent).
   * A bare top-level label is never registered, so the probing starts at the first dot from the right.
   */
  cover(name: string, from = 0): number {
    let h = SEED;
    let best = -1;
    let seenDot = false;
    // The character to the right of `i`: a suffix is probed when the dot at `i` starts a label there.
    let next = 46;
    // No registered name is longer than `maxLength`: characters further left cannot be part of a match,
    // so long host names (tracking subdomains, random labels) are not hashed in full.
    const stop = Math.max(from, name.length - this.maxLength - 1);
    for (let i = name.length - 1; i >= stop; i--) {
      const c = name.charCodeAt(i);
      if (c === 46) {
        // `h` covers name[i + 1 ..]: a suffix of at least two labels when a dot was seen further right.
        if (seenDot && next !== 46) {
          const node = this.probe(h, name, i + 1);
          if (node >= 0) best = node;
        }
        seenDot = true;
      }
      h = step(h, c);
      next = c;
    }
    if (stop === from && seenDot && next !== 46) {
      const node = this.probe(h, name, from);
      if (node >= 0) best = node;
    }
    return best;
  }

  private probe(h: number, name: string, offset: number): number {
    const f = finish(h);
    const bits = filterBits(f);
    if ((this.filter[f >>> this.filterShift]! & bits) !== bits) return -1;
    const words = this.words;
    const mask = this.mask;
    const length = name.length - offset;
    let slot = f & mask;
    for (;;) {
      const o = WORDS * slot + HASH;
      const stored = words[o + 1]!;
      if (stored === 0) return -1;
      if (words[o] === h && stored === length + 1) {
        const id = words[o + 2]!;
        if ((id & INLINE_FLAG) !== 0) {
          const bytes = this.bytes;
          const at = SLOT_BYTES * slot + NAME - offset;
          let i = offset;
          while (i < name.length && bytes[at + i] === name.charCodeAt(i)) i++;
          if (i === name.length) return slot;
        } else if (name.startsWith(this.names[id]!, offset)) {
          return slot;
        }
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Global assignment index holding `name` at `t` (epoch ms); -1 if none. */
  lookup(name: string, t: number): number {
    const node = this.cover(name);
    return node < 0 ? -1 : findTenancy(this.records, this.extra, RECORD, node, t);
  }

  get size(): number {
    return this.names.length;
  }

  get byteLength(): number {
    return this.words.byteLength + this.filter.byteLength + this.timeline.extra.byteLength;
  }
}

/** A slot: the tenancy record (four doubles, 32 bytes), hash, length, name index, then the name inline. */
const SLOT_BYTES = 64;
const WORDS = SLOT_BYTES / 4;
/** The slot stride in doubles, for the tenancy records. */
const RECORD = SLOT_BYTES / 8;
/** Word offset of the hash inside a slot. */
const HASH = 8;
/** Byte offset of the inline name inside a slot, and the longest name kept inline. */
const NAME = 44;
const INLINE = SLOT_BYTES - NAME;
const INLINE_FLAG = 0x40000000;
/** About 2% false positives with two bits per key in one word. */
const FILTER_BITS_PER_KEY = 12;

const SEED = 0x811c9dc5 | 0;

function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return false;
  return true;
}

function filterBits(f: number): number {
  return (1 << (f & 31)) | (1 << ((f >>> 5) & 31));
}

function step(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

function finish(h: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
