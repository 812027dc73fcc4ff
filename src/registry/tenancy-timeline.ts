import { sharedFloat64, sharedInt32 } from './shared-array.js';
/**
 * The time dimension of an index: for each node (a distinct prefix or registered domain) its tenancies
 * and its parent (the next less specific prefix, or registered parent domain).
 *
 * Flat typed arrays, not objects: a million nodes as objects would cost hundreds of megabytes and a
 * cache miss per field. Each node has a record of `stride` doubles at `stride * node` in `records`,
 * whose first four are (from, to, assignment, parent). About nine nodes in ten have a single tenancy:
 * it sits in the record itself, so the time check reads the cache line the lookup already touched. A node
 * with several tenancies has (+Infinity, count, -(first + 1), parent) instead, and its tenancies are
 * `count` triples (from, to, assignment) sorted by start in `extra` from triple `first`. The indexes put
 * their own key next to the four doubles (stride > 4) so that one line holds key and tenancy. An open end
 * is +Infinity.
 */
export class TenancyTimeline {
  readonly records: Float64Array;
  readonly stride: number;
  readonly extra: Float64Array;
  /** Number of nodes (records in use; with a hashed index they are spread over the slots). */
  readonly nodeCount: number;

  private constructor(records: Float64Array, stride: number, extra: Float64Array, nodeCount: number) {
    this.records = records;
    this.stride = stride;
    this.extra = extra;
    this.nodeCount = nodeCount;
  }

  /**
   * Fills the tenancy part of the node records (parents start at -1; set them with `setParent`).
   * @param records `stride` doubles per node slot; only the first four of a slot are written
   * @param nodeOf node of each tenancy (parallel to `assignments`)
   * @param assignments global assignment index of each tenancy
   * @param validFrom,validTo by global assignment index, epoch ms (validTo +Infinity when open)
   */
  static build(
    records: Float64Array,
    stride: number,
    nodeCount: number,
    nodeOf: Int32Array,
    assignments: Int32Array,
    validFrom: Float64Array,
    validTo: Float64Array,
  ): TenancyTimeline {
    const m = assignments.length;
    const slots = records.length / stride;
    const count = sharedInt32(slots);
    for (let k = 0; k < m; k++) count[nodeOf[k]!]!++;
    // Multi-tenancy nodes get a run of triples in `extra`, in order of first appearance.
    let extraCount = 0;
    for (let k = 0; k < m; k++) {
      const c = count[nodeOf[k]!]!;
      if (c > 1) extraCount++;
    }
    const extra = sharedFloat64(3 * extraCount);
    const fill = sharedInt32(slots).fill(-1);
    let used = 0;
    for (let k = 0; k < m; k++) {
      const node = nodeOf[k]!;
      const a = assignments[k]!;
      const o = stride * node;
      const c = count[node]!;
      if (c === 1) {
        records[o] = validFrom[a]!;
        records[o + 1] = validTo[a]!;
        records[o + 2] = a;
        records[o + 3] = -1;
        continue;
      }
      if (fill[node]! < 0) {
        fill[node] = used;
        records[o] = Number.POSITIVE_INFINITY;
        records[o + 1] = c;
        records[o + 2] = -(used + 1);
        records[o + 3] = -1;
        used += c;
      }
      const at = 3 * fill[node]!++;
      extra[at] = validFrom[a]!;
      extra[at + 1] = validTo[a]!;
      extra[at + 2] = a;
    }
    // Insertion sort by start within each run: almost every run has two or three tenancies.
    for (let node = 0; node < slots; node++) {
      if (count[node]! < 2) continue;
      const hi = fill[node]!;
      const lo = hi - count[node]!;
      for (let i = lo + 1; i < hi; i++) {
        const f = extra[3 * i]!;
        const t = extra[3 * i + 1]!;
        const a = extra[3 * i + 2]!;
        let j = i - 1;
        while (j >= lo && extra[3 * j]! > f) {
          extra.copyWithin(3 * j + 3, 3 * j, 3 * j + 3);
          j--;
        }
        extra[3 * j + 3] = f;
        extra[3 * j + 4] = t;
        extra[3 * j + 5] = a;
      }
    }
    return new TenancyTimeline(records, stride, extra, nodeCount);
  }

  parent(node: number): number {
    return this.records[this.stride * node + 3]! | 0;
  }

  setParent(node: number, parent: number): void {
    this.records[this.stride * node + 3] = parent;
  }

  /**
   * The assignment holding `node` or its nearest ancestor at `t` (most specific wins), or -1.
   * Tenancies of one node never overlap (the database refuses it), so the scan stops at the first
   * tenancy starting after `t`.
   */
  find(node: number, t: number): number {
    return findTenancy(this.records, this.extra, this.stride, node, t);
  }

  /**
   * The tenancies around `t` over `node` and its ancestors: the one that ended last at or before `t`
   * and the one that starts first after it (assignment indices, -1 when none). Used to explain a
   * "not held at that time" answer.
   */
  neighbours(node: number, t: number): { before: number; after: number } {
    let before = -1;
    let beforeTo = Number.NEGATIVE_INFINITY;
    let after = -1;
    let afterFrom = Number.POSITIVE_INFINITY;
    const r = this.records;
    const x = this.extra;
    while (node >= 0) {
      const o = this.stride * node;
      const a = r[o + 2]!;
      // One triple inline, or a run in `extra`: visit both the same way.
      const [list, lo, hi] =
        a >= 0 ? ([r, o, o + 3] as const) : ([x, 3 * (-a - 1), 3 * (-a - 1 + r[o + 1]!)] as const);
      for (let k = lo; k < hi; k += 3) {
        const from = list[k]!;
        const to = list[k + 1]!;
        if (to <= t && to > beforeTo) {
          beforeTo = to;
          before = list[k + 2]!;
        } else if (from > t && from < afterFrom) {
          afterFrom = from;
          after = list[k + 2]!;
        }
      }
      node = r[o + 3]! | 0;
    }
    return { before, after };
  }

  get byteLength(): number {
    return this.records.byteLength + this.extra.byteLength;
  }
}

/**
 * `TenancyTimeline.find` on the arrays themselves: the indexes' hot paths call it with their records,
 * `extra` and a literal stride, so that once inlined there is no object to chase and the record offset
 * is a shift.
 */
export function findTenancy(
  records: Float64Array,
  extra: Float64Array,
  stride: number,
  node: number,
  t: number,
): number {
  while (node >= 0) {
    const o = stride * node;
    const a = records[o + 2]!;
    if (a >= 0) {
      if (records[o]! <= t && t < records[o + 1]!) return a | 0;
    } else {
      const end = 3 * (-a - 1 + records[o + 1]!);
      for (let k = 3 * (-a - 1); k < end; k += 3) {
        if (extra[k]! > t) break;
        if (t < extra[k + 1]!) return extra[k + 2]! | 0;
      }
    }
    node = records[o + 3]! | 0;
  }
  return -1;
}
