import { TenancyTimeline } from './tenancy-timeline.js';

/**
 * Registered domains, matched on the name itself and its subdomains (`a.b.example.com` → `example.com`),
 * most specific registered name first, then through the time check to its registered parent.
 *
 * A `Map` from normalised name to node: V8's string hash is cached on the string, and the suffixes
 * probed are at most one per label, so the cost is a few hash probes per lookup.
 */
export class DomainIndex {
  readonly timeline: TenancyTimeline;
  readonly names: string[];
  private readonly byName: Map<string, number>;

  private constructor(timeline: TenancyTimeline, names: string[], byName: Map<string, number>) {
    this.timeline = timeline;
    this.names = names;
    this.byName = byName;
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
    const index = new DomainIndex(timeline, names, byName);
    for (let node = 0; node < names.length; node++) {
      const name = names[node]!;
      const dot = name.indexOf('.');
      timeline.parent[node] = dot < 0 ? -1 : index.cover(name, dot + 1);
    }
    return index;
  }

  /**
   * Most specific registered node for `name` (normalised) or one of its parent names, regardless of
   * time; -1 when none. `from` skips leading labels (used to find a node's parent).
   */
  cover(name: string, from = 0): number {
    const byName = this.byName;
    let start = from;
    for (;;) {
      const dot = name.indexOf('.', start);
      // A bare top-level label is never registered: stop before it.
      if (dot < 0) return -1;
      const node = byName.get(start === 0 ? name : name.slice(start));
      if (node !== undefined) return node;
      start = dot + 1;
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
