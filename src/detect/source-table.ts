/**
 * Where the detectors keep per-source state, laid out for the hot path. With tens of thousands of sources
 * each flow touches a different one, so the cost per flow is cache misses, not instructions: a `Map` and a
 * few objects per source are eight or nine misses a flow. Here an IPv4 source is one probe of an
 * open-addressing table (key and slot side by side) and one row of a shared Float64Array holding what
 * every flow updates (bucket counters, their sums, times): three misses.
 *
 *   row: [0] bucket number, [1] tenancy checked at, [2] last seen, [3] kind index, [4..8] sums,
 *        [ROW_BUCKETS..] BUCKETS buckets of WIDTH counters
 *
 * Slots are reused through a free list; the table is rebuilt when sources are swept (no tombstones).
 */
export const WIDTH = 5;
export const BUCKETS = 10;
export const ROW_EPOCH = 0;
export const ROW_CHECKED = 1;
export const ROW_SEEN = 2;
export const ROW_KIND = 3;
export const ROW_SUMS = 4;
export const ROW_BUCKETS = 14;
export const STRIDE = ROW_BUCKETS + WIDTH * BUCKETS;

export class SourceTable<S> {
  hot: Float64Array;
  readonly states: Array<S | undefined> = [];
  private readonly free: number[] = [];
  private keys: Int32Array;
  private vals: Int32Array;
  private mask: number;
  private used = 0;
  private readonly v6 = new Map<string, number>();

  constructor(initial = 1024) {
    this.hot = new Float64Array(initial * STRIDE);
    const size = 2 * initial;
    this.keys = new Int32Array(size);
    this.vals = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.states.length - this.free.length;
  }

  /** Slot of an IPv4 source, or -1. */
  find4(addr: number): number {
    const key = addr | 0;
    let i = hash(key) & this.mask;
    for (;;) {
      const v = this.vals[i]!;
      if (v === 0) return -1;
      if (this.keys[i] === key) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  find6(key: string): number {
    return this.v6.get(key) ?? -1;
  }

  add4(addr: number, state: S): number {
    const slot = this.allocate(state);
    if ((this.used + 1) * 2 > this.keys.length) this.rehash(this.keys.length * 2);
    this.put(addr | 0, slot);
    return slot;
  }

  add6(key: string, state: S): number {
    const slot = this.allocate(state);
    this.v6.set(key, slot);
    return slot;
  }

  /**
   * Drop the slots `keep` refuses (idle sources) and rebuild the IPv4 table. `v4Of`/`v6Of` give a state's
   * key (null when it has none of that family).
   */
  sweep(keep: (slot: number) => boolean, v4Of: (s: S) => number | null, v6Of: (s: S) => string | null): void {
    for (let slot = 0; slot < this.states.length; slot++) {
      const s = this.states[slot];
      if (s === undefined || keep(slot)) continue;
      this.states[slot] = undefined;
      this.free.push(slot);
      const k6 = v6Of(s);
      if (k6 !== null) this.v6.delete(k6);
    }
    this.keys.fill(0);
    this.vals.fill(0);
    this.used = 0;
    for (let slot = 0; slot < this.states.length; slot++) {
      const s = this.states[slot];
      if (s === undefined) continue;
      const k4 = v4Of(s);
      if (k4 !== null) this.put(k4 | 0, slot);
    }
  }

  private allocate(state: S): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.states.length;
      this.states.push(state);
      if ((slot + 1) * STRIDE > this.hot.length) {
        const grown = new Float64Array(this.hot.length * 2);
        grown.set(this.hot);
        this.hot = grown;
      }
    } else this.states[slot] = state;
    const base = slot * STRIDE;
    this.hot.fill(0, base, base + STRIDE);
    this.hot[base + ROW_EPOCH] = -1;
    return slot;
  }

  private put(key: number, slot: number): void {
    let i = hash(key) & this.mask;
    while (this.vals[i] !== 0) {
      if (this.keys[i] === key) {
        this.vals[i] = slot + 1;
        return;
      }
      i = (i + 1) & this.mask;
    }
    this.keys[i] = key;
    this.vals[i] = slot + 1;
    this.used++;
  }

  private rehash(size: number): void {
    const keys = this.keys;
    const vals = this.vals;
    this.keys = new Int32Array(size);
    this.vals = new Int32Array(size);
    this.mask = size - 1;
    this.used = 0;
    for (let i = 0; i < keys.length; i++) if (vals[i] !== 0) this.put(keys[i]!, vals[i]! - 1);
  }
}

function hash(key: number): number {
  let h = Math.imul(key, 0x9e3779b1);
  h ^= h >>> 15;
  return h;
}
