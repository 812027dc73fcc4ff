/**
 * The time dimension of an index: for each node (a distinct prefix or registered domain) its tenancies
 * sorted by start, and the node's parent (the next less specific prefix, or registered parent domain).
 *
 * Flat typed arrays, not objects: a million nodes as objects would cost hundreds of megabytes and a
 * cache miss per field. Tenancies of one node are contiguous, `[start[n], start[n + 1])`, with their
 * half-open validity as consecutive (from, to) pairs in one Float64Array (one cache line per check);
 * an open end is +Infinity.
 */
export class TenancyTimeline {
  readonly start: Int32Array;
  readonly fromTo: Float64Array;
  /** Global assignment index of each tenancy. */
  readonly assignment: Int32Array;
  readonly parent: Int32Array;

  private constructor(start: Int32Array, fromTo: Float64Array, assignment: Int32Array, parent: Int32Array) {
    this.start = start;
    this.fromTo = fromTo;
    this.assignment = assignment;
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
    const assignment = new Int32Array(m);
    const fromTo = new Float64Array(2 * m);
    for (let k = 0; k < m; k++) {
      const a = assignments[k]!;
      const at = fill[nodeOf[k]!]!++;
      assignment[at] = a;
      fromTo[2 * at] = validFrom[a]!;
      fromTo[2 * at + 1] = validTo[a]!;
    }
    // Insertion sort by start within each node: almost every node has one or two tenancies.
    for (let n = 0; n < nodeCount; n++) {
      const lo = start[n]!;
      const hi = start[n + 1]!;
      for (let i = lo + 1; i < hi; i++) {
        const f = fromTo[2 * i]!;
        const t = fromTo[2 * i + 1]!;
        const a = assignment[i]!;
        let j = i - 1;
        while (j >= lo && fromTo[2 * j]! > f) {
          fromTo[2 * j + 2] = fromTo[2 * j]!;
          fromTo[2 * j + 3] = fromTo[2 * j + 1]!;
          assignment[j + 1] = assignment[j]!;
          j--;
        }
        fromTo[2 * j + 2] = f;
        fromTo[2 * j + 3] = t;
        assignment[j + 1] = a;
      }
    }
    return new TenancyTimeline(start, fromTo, assignment, new Int32Array(nodeCount).fill(-1));
  }

  /**
   * The assignment holding `node` or its nearest ancestor at `t` (most specific wins), or -1.
   * Tenancies of one node never overlap (the database refuses it), so the scan stops at the first
   * tenancy starting after `t`.
   */
  find(node: number, t: number): number {
    const start = this.start;
    const fromTo = this.fromTo;
    const parent = this.parent;
    while (node >= 0) {
      const end = start[node + 1]!;
      for (let k = start[node]!; k < end; k++) {
        if (fromTo[2 * k]! > t) break;
        if (t < fromTo[2 * k + 1]!) return this.assignment[k]!;
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
      for (let k = this.start[node]!; k < this.start[node + 1]!; k++) {
        const from = this.fromTo[2 * k]!;
        const to = this.fromTo[2 * k + 1]!;
        if (to <= t && to > beforeTo) {
          beforeTo = to;
          before = this.assignment[k]!;
        } else if (from > t && from < afterFrom) {
          afterFrom = from;
          after = this.assignment[k]!;
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
    return (
      this.start.byteLength + this.fromTo.byteLength + this.assignment.byteLength + this.parent.byteLength
    );
  }
}
