import { TenancyTimeline } from './tenancy-timeline.js';

/**
 * Registered domains, matched on the name itself and its subdomains (`a.b.example.com` → `example.com`),
 * most specific registered name first, then through the time check to its registered parent.
 *
 * An open-addressing table keyed by a hash computed right to left: one pass over the queried name yields
 * the hash of every suffix, and at each label boundary the suffix is probed in place (`startsWith` at
 * an offset) — no substring is allocated and no string is hashed twice, which is what slicing suffixes
 * and calling `Map.get` on each would cost. The last hit in the pass is the longest registered suffix,
 * the most specific name.
 */
export class DomainIndex {
  readonly timeline: TenancyTimeline;
  readonly names: string[];
  private readonly slots: Int32Array;
  private readonly mask: number;

  private constructor(timeline: TenancyTimeline, names: string[], slots: Int32Array) {
    this.timeline = timeline;
    this.names = names;
    this.slots = slots;
    this.mask = slots.length / 2 - 1;
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
    const byName = new Map<string, number>();
    const names: string[] = [];
    const nodeOf = new Int32Array(domains.length);
    for (let k = 0; k < domains.length; k++) {
      const name = domains[k]!;
      let node = byName.get(name);
      if (node === undefined) {
        node = names.length;
        names.push(name);
        byName.set(name, node);
      }
      nodeOf[k] = node;
    }
    const timeline = TenancyTimeline.build(names.length, nodeOf, assignments, validFrom, validTo);
    const capacity = 2 ** Math.max(4, Math.ceil(Math.log2(names.length * 2 + 1)));
    // Slot pairs (node, hash): a probe reads one cache line and touches a name only on a hash match.
    const slots = new Int32Array(2 * capacity).fill(-1);
    for (let node = 0; node < names.length; node++) {
      const name = names[node]!;
      let h = SEED;
      for (let i = name.length - 1; i >= 0; i--) h = step(h, name.charCodeAt(i));
      let slot = finish(h) & (capacity - 1);
      while (slots[2 * slot]! >= 0) slot = (slot + 1) & (capacity - 1);
      slots[2 * slot] = node;
      slots[2 * slot + 1] = h;
    }
    const index = new DomainIndex(timeline, names, slots);
    for (let node = 0; node < names.length; node++) {
      const name = names[node]!;
      const dot = name.indexOf('.');
      timeline.parent[node] = dot < 0 ? -1 : index.cover(name, dot + 1);
    }
    return index;
  }

  /**
   * Most specific registered node for `name` (normalised) or one of its parent names, regardless of
   * time; -1 when none. `from` ignores the labels before that offset (used to find a node's parent).
   * A bare top-level label is never registered, so the probing starts at the first dot from the right.
   */
  cover(name: string, from = 0): number {
    const n = name.length;
    let h = SEED;
    let best = -1;
    let seenDot = false;
    for (let i = n - 1; i >= from; i--) {
      const c = name.charCodeAt(i);
      h = step(h, c);
      if (c === 46) {
        seenDot = true;
        continue;
      }
      if (seenDot && (i === from || name.charCodeAt(i - 1) === 46)) {
        const node = this.probe(h, name, i);
        if (node >= 0) best = node;
      }
    }
    return best;
  }

  private probe(h: number, name: string, offset: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const length = name.length - offset;
    let slot = finish(h) & mask;
    for (;;) {
      const node = slots[2 * slot]!;
      if (node < 0) return -1;
      if (slots[2 * slot + 1] === h) {
        const candidate = this.names[node]!;
        if (candidate.length === length && name.startsWith(candidate, offset)) return node;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Global assignment index holding `name` at `t` (epoch ms); -1 if none. */
  lookup(name: string, t: number): number {
    const node = this.cover(name);
    return node < 0 ? -1 : this.timeline.find(node, t);
  }

  get size(): number {
    return this.names.length;
  }
}

const SEED = 0x811c9dc5 | 0;

function step(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

function finish(h: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
