/**
 * The time dimension of an index: for each node (a distinct prefix or registered domain) its tenancies
 * sorted by start, and the node's parent (the next less specific prefix, or registered parent domain).
 *
 * Flat typed arrays, not objects: a million nodes as objects would cost hundreds of megabytes and a
 * cache miss per field. Tenancies of one node are contiguous, `[start[n], start[n + 1])`, each a record
 * (from, to, assignment index) of three consecutive doubles, so a check reads one cache line; an open end
 * is +Infinity.
 */
export class TenancyTimeline {
  readonly start: Int32Array;
  /** Records of three: valid from, valid to (epoch ms), global assignment index. */
  readonly records: Float64Array;
  readonly parent: Int32Array;

  private constructor(start: Int32Array, records: Float64Array, parent: Int32Array) {
    this.start = start;
    this.records = records;
    this.parent = parent;
  }

  /**
   * @param nodeOf node of each tenancy (parallel to `assignments`)
   * @param assignments global assignment index of each tenancy
   * @param validFrom,validTo by global assignment index, epoch ms (validTo +Infinity when open)
   */
  static build(
    nodeCount: number,
    nodeOf: Int32Array,
    assignments: Int32Array,
    validFrom: Float64Array,
    validTo: Float64Array,
  ): TenancyTimeline {
    const m = assignments.length;
    const start = new Int32Array(nodeCount + 1);
    for (let k = 0; k < m; k++) start[nodeOf[k]! + 1]!++;
    for (let n = 0; n < nodeCount; n++) start[n + 1]! += start[n]!;
    const fill = start.slice(0, nodeCount);
    const r = new Float64Array(3 * m);
    for (let k = 0; k < m; k++) {
      const a = assignments[k]!;
      const at = 3 * fill[nodeOf[k]!]!++;
      r[at] = validFrom[a]!;
      r[at + 1] = validTo[a]!;
      r[at + 2] = a;
    }
    // Insertion sort by start within each node: almost every node has one or two tenancies.
    for (let n = 0; n < nodeCount; n++) {
      const lo = start[n]!;
      const hi = start[n + 1]!;
      for (let i = lo + 1; i < hi; i++) {
        const f = r[3 * i]!;
        const t = r[3 * i + 1]!;
        const a = r[3 * i + 2]!;
        let j = i - 1;
        while (j >= lo && r[3 * j]! > f) {
          r.copyWithin(3 * j + 3, 3 * j, 3 * j + 3);
          j--;
        }
        r[3 * j + 3] = f;
        r[3 * j + 4] = t;
        r[3 * j + 5] = a;
      }
    }
    return new TenancyTimeline(start, r, new Int32Array(nodeCount).fill(-1));
  }

  /**
   * The assignment holding `node` or its nearest ancestor at `t` (most specific wins), or -1.
   * Tenancies of one node never overlap (the database refuses it), so the scan stops at the first
   * tenancy starting after `t`.
   */
  find(node: number, t: number): number {
    const start = this.start;
    const r = this.records;
    const parent = this.parent;
    while (node >= 0) {
      const end = 3 * start[node + 1]!;
      for (let k = 3 * start[node]!; k < end; k += 3) {
        if (r[k]! > t) break;
        if (t < r[k + 1]!) return r[k + 2]!;
      }
      node = parent[node]!;
    }
    return -1;
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
    while (node >= 0) {
      for (let k = 3 * this.start[node]!; k < 3 * this.start[node + 1]!; k += 3) {
        const from = this.records[k]!;
        const to = this.records[k + 1]!;
        if (to <= t && to > beforeTo) {
          beforeTo = to;
          before = this.records[k + 2]!;
        } else if (from > t && from < afterFrom) {
          afterFrom = from;
          after = this.records[k + 2]!;
        }
      }
      node = this.parent[node]!;
    }
    return { before, after };
  }

  get nodeCount(): number {
    return this.parent.length;
  }

  get byteLength(): number {
    return this.start.byteLength + this.records.byteLength + this.parent.byteLength;
  }
}
