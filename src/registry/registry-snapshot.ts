import { type Kysely, sql } from 'kysely';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';
import { DomainIndex } from './domain-index.js';
import {
  type IpPrefix,
  isV4Mapped,
  maskWords,
  parseIPv4,
  parseIPv6Into,
  parsePrefix,
  tryParsePrefix,
  wordMask,
} from './ip-address.js';
import { Ipv4PrefixTable } from './ipv4-prefix-table.js';
import { Ipv6PrefixTable } from './ipv6-prefix-table.js';
import { sharedFloat64, sharedInt32, sharedUint8, sharedUint32 } from './shared-array.js';

/**
 * The in-memory registry attribution runs on: immutable, built from the tables in one read, replaced
 * (never mutated) when the registry changes, so a lookup in flight always sees one consistent state.
 */

export interface SnapshotCustomer {
  readonly id: number;
  readonly ref: string;
  readonly name: string;
  readonly emails: readonly string[];
  readonly country: string | null;
  readonly status: RegistryStatus;
}

export interface SnapshotService {
  readonly id: number;
  readonly ref: string;
  readonly customerId: number;
  readonly kind: ServiceKind;
  readonly status: RegistryStatus;
  readonly provisioningRef: string | null;
}

/** One assignment as the snapshot builder takes it: `resource` is a prefix (`a/n`) or a domain name. */
export interface SnapshotAssignmentRow {
  readonly id: number;
  readonly serviceId: number;
  readonly resource: string;
  readonly validFrom: Date | number;
  readonly validTo: Date | number | null;
}

/**
 * The assignments as columns, the form the builder works on: a loader fills these from a query result
 * or cursor without keeping a million row objects alive through the build (each full garbage collection
 * would have to mark them).
 */
export interface SnapshotAssignmentColumns {
  readonly id: Int32Array;
  readonly serviceId: Int32Array;
  /** A prefix (`a/n`) or a domain name, as in `SnapshotAssignmentRow`. */
  readonly resource: readonly string[];
  /** Epoch milliseconds. */
  readonly validFrom: Float64Array;
  /** Epoch milliseconds; +Infinity when open-ended. */
  readonly validTo: Float64Array;
}

export interface RegistrySnapshotInput {
  readonly customers: readonly SnapshotCustomer[];
  readonly services: readonly SnapshotService[];
  readonly assignments: readonly SnapshotAssignmentRow[] | SnapshotAssignmentColumns;
  /** The `registry_revision` the rows were read at (null when not read from a database). */
  readonly revision?: string | null;
}

export interface HeldAssignment {
  readonly id: number;
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo: Date | null;
  readonly service: SnapshotService;
  readonly customer: SnapshotCustomer;
}

export class RegistrySnapshot {
  readonly revision: string | null;
  readonly builtAt: Date;
  readonly v4: Ipv4PrefixTable;
  readonly v6: Ipv6PrefixTable;
  readonly domains: DomainIndex;
  private readonly customers: readonly SnapshotCustomer[];
  private readonly customerIndex: IdIndex;
  private readonly services: readonly SnapshotService[];
  private readonly assignmentId: Int32Array;
  private readonly assignmentService: Int32Array;
  private readonly resource: readonly string[];
  private readonly validFrom: Float64Array;
  private readonly validTo: Float64Array;
  private prefixes: ReadonlyArray<IpPrefix | null> | undefined;

  private constructor(init: {
    revision: string | null;
    v4: Ipv4PrefixTable;
    v6: Ipv6PrefixTable;
    domains: DomainIndex;
    customers: readonly SnapshotCustomer[];
    customerIndex: IdIndex;
    services: readonly SnapshotService[];
    assignmentId: Int32Array;
    assignmentService: Int32Array;
    resource: readonly string[];
    validFrom: Float64Array;
    validTo: Float64Array;
  }) {
    this.revision = init.revision;
    this.builtAt = new Date();
    this.v4 = init.v4;
    this.v6 = init.v6;
    this.domains = init.domains;
    this.customers = init.customers;
    this.customerIndex = init.customerIndex;
    this.services = init.services;
    this.assignmentId = init.assignmentId;
    this.assignmentService = init.assignmentService;
    this.resource = init.resource;
    this.validFrom = init.validFrom;
    this.validTo = init.validTo;
  }

  static build(input: RegistrySnapshotInput): RegistrySnapshot {
    const customerIndex = IdIndex.of(input.customers);
    const serviceIndex = IdIndex.of(input.services);
    for (const s of input.services) {
      if (customerIndex.get(s.customerId) < 0) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `service ${s.ref} names unknown customer ${s.customerId}`,
        );
      }
    }

    const columns = isColumns(input.assignments) ? input.assignments : assignmentColumns(input.assignments);
    const { id: assignmentId, resource, validFrom, validTo } = columns;
    const n = assignmentId.length;
    // Count per family first so every array is allocated once at its exact size: with a large heap each
    // surplus megabyte of typed arrays brings the next full garbage collection closer.
    let v4Rows = 0;
    let v6Rows = 0;
    for (let a = 0; a < n; a++) {
      const text = resource[a]!;
      if (text.indexOf('/') < 0) continue;
      if (text.indexOf(':') < 0 || text.startsWith('::ffff:')) v4Rows++;
      else v6Rows++;
    }
    const assignmentService = sharedInt32(n);
    // Per-family tenancy lists, sized for the worst case and trimmed by count.
    const v4Net = sharedUint32(v4Rows);
    const v4Length = sharedUint8(v4Rows);
    const v4Assignment = sharedInt32(v4Rows);
    let v4Count = 0;
    const v6Words = sharedUint32(4 * v6Rows);
    const v6Length = sharedUint8(v6Rows);
    const v6Assignment = sharedInt32(v6Rows);
    let v6Count = 0;
    const domainNames: string[] = [];
    const domainAssignment = sharedInt32(n - v4Rows - v6Rows);
    const words = new Uint32Array(4);

    for (let a = 0; a < n; a++) {
      const service = serviceIndex.get(columns.serviceId[a]!);
      if (service < 0) {
        throw new AupError(
          'AUP_ERR_REGISTRY_UNKNOWN_SERVICE',
          `assignment ${assignmentId[a]} names unknown service ${columns.serviceId[a]}`,
        );
      }
      assignmentService[a] = service;
      const text = resource[a]!;
      const slash = text.indexOf('/');
      if (slash < 0) {
        domainAssignment[domainNames.length] = a;
        domainNames.push(text);
        continue;
      }
      const length = parseLength(text, slash + 1);
      const v4 = parseIPv4(text, 0, slash);
      if (v4 >= 0 && length <= 32 && (v4 & ~wordMask(length)) >>> 0 === 0) {
        v4Net[v4Count] = v4;
        v4Length[v4Count] = length;
        v4Assignment[v4Count++] = a;
      } else if (
        parseIPv6Into(text, words, 0, slash) &&
        length >= 0 &&
        !isV4Mapped(words) &&
        hostBitsClear(words, length) &&
        v6Count < v6Rows
      ) {
        v6Words.set(words, 4 * v6Count);
        v6Length[v6Count] = length;
        v6Assignment[v6Count++] = a;
      } else {
        // Slow path: IPv4-mapped IPv6 becomes IPv4; anything else throws with the reason.
        const parsed = parsePrefix(text);
        if (parsed.family !== 4 || v4Count >= v4Rows) {
          throw new AupError('AUP_ERR_INPUT_INVALID', `bad prefix "${text}"`);
        }
        v4Net[v4Count] = parsed.v4;
        v4Length[v4Count] = parsed.length;
        v4Assignment[v4Count++] = a;
      }
    }

    return new RegistrySnapshot({
      revision: input.revision ?? null,
      v4: Ipv4PrefixTable.build(
        v4Net.subarray(0, v4Count),
        v4Length.subarray(0, v4Count),
        v4Assignment.subarray(0, v4Count),
        validFrom,
        validTo,
      ),
      v6: Ipv6PrefixTable.build(
        v6Words.subarray(0, 4 * v6Count),
        v6Length.subarray(0, v6Count),
        v6Assignment.subarray(0, v6Count),
        validFrom,
        validTo,
      ),
      domains: DomainIndex.build(domainNames, domainAssignment, validFrom, validTo),
      customers: input.customers,
      customerIndex,
      services: input.services,
      assignmentId,
      assignmentService,
      resource,
      validFrom,
      validTo,
    });
  }

  /** Hot path: global assignment index holding the IPv4 address (uint32) at `t` (epoch ms), or -1. */
  lookupV4(addr: number, t: number): number {
    return this.v4.lookup(addr, t);
  }

  /** Hot path: as `lookupV4` for an IPv6 address given as four words. */
  lookupV6(w0: number, w1: number, w2: number, w3: number, t: number): number {
    return this.v6.lookup(w0, w1, w2, w3, t);
  }

  /** Hot path: as `lookupV4` for a normalised domain name (see `normalizeDomain`). */
  lookupDomain(name: string, t: number): number {
    return this.domains.lookup(name, t);
  }

  /** The full record of an assignment index returned by a lookup. */
  assignment(index: number): HeldAssignment {
    const service = this.services[this.assignmentService[index]!]!;
    const to = this.validTo[index]!;
    return {
      id: this.assignmentId[index]!,
      resource: this.resource[index]!,
      validFrom: new Date(this.validFrom[index]!),
      validTo: to === Number.POSITIVE_INFINITY ? null : new Date(to),
      service,
      customer: this.customers[this.customerIndex.get(service.customerId)]!,
    };
  }

  /**
   * A service by its ref, with its customer and the resources it holds at `t` (epoch ms). Not a hot path:
   * the flow detectors ask it once per customer-facing interface, to know whose addresses are whose.
   */
  serviceByRef(
    ref: string,
    t: number,
  ): { service: SnapshotService; customer: SnapshotCustomer; resources: string[] } | undefined {
    const index = this.services.findIndex((s) => s.ref === ref);
    if (index < 0) return undefined;
    const service = this.services[index]!;
    const resources: string[] = [];
    for (let a = 0; a < this.assignmentService.length; a++) {
      if (this.assignmentService[a] === index && this.validFrom[a]! <= t && t < this.validTo[a]!)
        resources.push(this.resource[a]!);
    }
    return { service, customer: this.customers[this.customerIndex.get(service.customerId)]!, resources };
  }

  /**
   * Every assignment held at time `t` whose prefix overlaps `network` (inside it, or containing it): what a
   * blocklist entry naming a whole network is about. A scan over the assignments (network events are rare,
   * and a prefix table answers covers, not "everything inside"); prefixes are parsed once and kept.
   */
  heldOverlapping(network: IpPrefix, t: number): number[] {
    this.prefixes ??= this.resource.map((r) =>
      r.includes(':') || /^[0-9.]+(\/[0-9]+)?$/.test(r) ? tryParsePrefix(r) : null,
    );
    const out: number[] = [];
    for (let i = 0; i < this.prefixes.length; i++) {
      const prefix = this.prefixes[i];
      if (!prefix || prefix.family !== network.family) continue;
      if (!(this.validFrom[i]! <= t && t < this.validTo[i]!)) continue;
      if (prefixesOverlap(prefix, network)) out.push(i);
    }
    return out;
  }

  get stats(): {
    customers: number;
    services: number;
    assignments: number;
    v4Prefixes: number;
    v6Prefixes: number;
    domains: number;
    indexBytes: number;
  } {
    return {
      customers: this.customers.length,
      services: this.services.length,
      assignments: this.assignmentId.length,
      v4Prefixes: this.v4.timeline.nodeCount,
      v6Prefixes: this.v6.timeline.nodeCount,
      domains: this.domains.size,
      indexBytes:
        this.v4.byteLength +
        this.v6.byteLength +
        this.domains.byteLength +
        this.assignmentId.byteLength * 2 +
        this.validFrom.byteLength * 2,
    };
  }
}

/** Rows → columns (times to epoch ms, an open end to +Infinity). */
export function assignmentColumns(rows: readonly SnapshotAssignmentRow[]): SnapshotAssignmentColumns {
  const n = rows.length;
  const columns = {
    id: sharedInt32(n),
    serviceId: sharedInt32(n),
    resource: new Array<string>(n),
    validFrom: sharedFloat64(n),
    validTo: sharedFloat64(n),
  };
  for (let a = 0; a < n; a++) {
    const row = rows[a]!;
    columns.id[a] = row.id;
    columns.serviceId[a] = row.serviceId;
    columns.resource[a] = row.resource;
    columns.validFrom[a] = typeof row.validFrom === 'number' ? row.validFrom : row.validFrom.getTime();
    columns.validTo[a] =
      row.validTo === null
        ? Number.POSITIVE_INFINITY
        : typeof row.validTo === 'number'
          ? row.validTo
          : row.validTo.getTime();
  }
  return columns;
}

function isColumns(
  assignments: readonly SnapshotAssignmentRow[] | SnapshotAssignmentColumns,
): assignments is SnapshotAssignmentColumns {
  return !Array.isArray(assignments);
}

/**
 * Id → position in a list. Database ids are dense in practice, so a typed array indexed by id (no
 * hundreds of thousands of Map entries on the heap); a Map when they are not.
 */
class IdIndex {
  private constructor(
    private readonly dense: Int32Array | null,
    private readonly sparse: Map<number, number> | null,
  ) {}

  static of(items: readonly { readonly id: number }[]): IdIndex {
    let max = -1;
    let integral = true;
    for (const item of items) {
      if (!Number.isInteger(item.id) || item.id < 0) integral = false;
      else if (item.id > max) max = item.id;
    }
    if (integral && max < 4 * items.length + 1024) {
      const dense = sharedInt32(max + 1).fill(-1);
      items.forEach((item, i) => {
        dense[item.id] = i;
      });
      return new IdIndex(dense, null);
    }
    const sparse = new Map<number, number>();
    items.forEach((item, i) => {
      sparse.set(item.id, i);
    });
    return new IdIndex(null, sparse);
  }

  /** Position of `id`, or -1. */
  get(id: number): number {
    if (this.dense) return (id | 0) === id && id >= 0 && id < this.dense.length ? this.dense[id]! : -1;
    return this.sparse!.get(id) ?? -1;
  }
}

function hostBitsClear(w: Uint32Array, length: number): boolean {
  for (let k = 0; k < 4; k++) if ((w[k]! & ~wordMask(length - 32 * k)) >>> 0 !== 0) return false;
  return true;
}

/** Digits after the slash → length, or -1. */
function parseLength(text: string, from: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3) return -1;
  let value = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value <= 128 ? value : -1;
}

/**
 * Reads the whole registry in one repeatable-read transaction (so rows and revision agree) and builds
 * the snapshot. Domain assignments keep their normalised name as the resource; prefixes their
 * canonical `cidr` text.
 */
export async function loadRegistrySnapshot(db: Kysely<Database>): Promise<RegistrySnapshot> {
  const input = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const revision = await sql<{
        revision: string;
      }>`select revision::text as revision from registry_revision`
        .execute(trx)
        .then((r) => r.rows[0]?.revision ?? null);
      const customers = await trx
        .selectFrom('customers')
        .select(['id', 'ref', 'name', 'emails', 'country', 'status'])
        .execute();
      const services = await trx
        .selectFrom('services')
        .select(['id', 'ref', 'customer_id', 'kind', 'status', 'provisioning_ref'])
        .execute();
      const assignments = await trx
        .selectFrom('assignments')
        .select([
          'id',
          'service_id',
          sql<string>`coalesce(prefix::text, domain)`.as('resource'),
          // Epoch milliseconds, not Date objects: two million Dates would only be converted back.
          sql<string>`(extract(epoch from valid_from) * 1000)::float8`.as('from_ms'),
          sql<string | null>`(extract(epoch from valid_to) * 1000)::float8`.as('to_ms'),
        ])
        .execute();
      return { revision, customers, services, assignments };
    });
  return RegistrySnapshot.build({
    revision: input.revision,
    customers: input.customers.map((c) => ({
      id: c.id,
      ref: c.ref,
      name: c.name,
      emails: c.emails,
      country: c.country,
      status: c.status,
    })),
    services: input.services.map((s) => ({
      id: s.id,
      ref: s.ref,
      customerId: s.customer_id,
      kind: s.kind,
      status: s.status,
      provisioningRef: s.provisioning_ref,
    })),
    assignments: toColumns(input.assignments),
  });
}

/** Query rows straight into columns: no second array of row objects next to the driver's. */
function toColumns(
  rows: readonly {
    id: number;
    service_id: number;
    resource: string;
    from_ms: string;
    to_ms: string | null;
  }[],
): SnapshotAssignmentColumns {
  const n = rows.length;
  const columns = {
    id: sharedInt32(n),
    serviceId: sharedInt32(n),
    resource: new Array<string>(n),
    validFrom: sharedFloat64(n),
    validTo: sharedFloat64(n),
  };
  for (let a = 0; a < n; a++) {
    const row = rows[a]!;
    columns.id[a] = row.id;
    columns.serviceId[a] = row.service_id;
    columns.resource[a] = row.resource;
    columns.validFrom[a] = Number(row.from_ms);
    columns.validTo[a] = row.to_ms === null ? Number.POSITIVE_INFINITY : Number(row.to_ms);
  }
  return columns;
}

/** The current `registry_revision` (bumped by trigger on every registry write). */
export async function readRegistryRevision(db: Kysely<Database>): Promise<string> {
  const r = await sql<{ revision: string }>`select revision::text as revision from registry_revision`.execute(
    db,
  );
  return r.rows[0]?.revision ?? '0';
}

/**
 * Holds the current snapshot for a long-running process. Lookups read `current` synchronously (no query
 * per event); `refresh()` costs one tiny query and rebuilds only when the revision moved, so callers
 * run it after their own registry writes and on a timer (`start`) to pick up other processes' writes.
 * Concurrent refreshes share one rebuild.
 */
export class RegistrySnapshotHolder {
  private snapshot: RegistrySnapshot | undefined;
  private inFlight: Promise<RegistrySnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** The snapshot; throws until the first `refresh()` has completed. */
  get current(): RegistrySnapshot {
    if (!this.snapshot) {
      throw new AupError('AUP_ERR_STORE_UNAVAILABLE', 'the registry snapshot has not been loaded yet');
    }
    return this.snapshot;
  }

  /** Rebuilds when the registry changed since the snapshot was read (or none is loaded). */
  async refresh(): Promise<RegistrySnapshot> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      const revision = await readRegistryRevision(this.db);
      if (this.snapshot && this.snapshot.revision === revision) return this.snapshot;
      this.snapshot = await loadRegistrySnapshot(this.db);
      return this.snapshot;
    })();
    try {
      return await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Polls for changes every `intervalMs`; errors keep the previous snapshot and go to `onError`. */
  start(intervalMs: number, onError: (error: unknown) => void = () => undefined): void {
    this.stop();
    this.timer = setInterval(() => {
      this.refresh().catch(onError);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Whether two prefixes of one family share an address (then one contains the other). */
export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  const length = Math.min(a.length, b.length);
  if (a.family === 4 && b.family === 4)
    return (a.v4 & wordMask(length)) >>> 0 === (b.v4 & wordMask(length)) >>> 0;
  if (a.family === 6 && b.family === 6) {
    const x = maskWords(a.v6, length);
    const y = maskWords(b.v6, length);
    return x[0] === y[0] && x[1] === y[1] && x[2] === y[2] && x[3] === y[3];
  }
  return false;
}
