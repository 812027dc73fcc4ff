import { domainToASCII } from 'node:url';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';
import { formatIPv4, formatIPv6 } from './ip-address.js';
import type {
  RegistrySnapshotInput,
  SnapshotAssignmentRow,
  SnapshotCustomer,
  SnapshotService,
} from './registry-snapshot.js';

/**
 * A realistic demo registry, deterministic for a seed: customers sign up over the years, buy VPSes,
 * dedicated servers, colocation blocks, shared hosting, streaming and mail; some services end and their
 * addresses go back to the pool and are recycled to later customers (the case attribution-by-time
 * exists for); a few colocation customers have one of their own VPS /32s nested in their block.
 *
 * Two modes: `customers: N` (the CLI's `registry generate`) or `targets` (the benchmark: keep going
 * until so many IPv4 prefixes, IPv6 prefixes and domains exist, emitting only what is still wanted).
 */

export interface GeneratedAssignment {
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo: Date | null;
}

export interface GeneratedService {
  readonly ref: string;
  readonly kind: ServiceKind;
  readonly status: RegistryStatus;
  readonly provisioningRef: string;
  readonly assignments: GeneratedAssignment[];
}

export interface GeneratedCustomer {
  readonly ref: string;
  readonly name: string;
  readonly emails: string[];
  readonly country: string;
  status: RegistryStatus;
  readonly policyProvider: string | null;
  readonly policyVersion: string | null;
  readonly policyAcceptedAt: Date | null;
  readonly services: GeneratedService[];
}

export interface GenerateOptions {
  readonly seed?: number;
  /** Number of customers (ignored when `targets` is given). */
  readonly customers?: number;
  readonly targets?: { readonly v4: number; readonly v6: number; readonly domains: number };
  readonly start?: Date;
  readonly end?: Date;
  /** The AUP customers accepted, written into every customer (omitted when absent). */
  readonly policy?: { readonly provider: string; readonly version: string };
}

/** A small fast PRNG (sfc32) so a seed gives the same registry on every machine. */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162;
  let d = 1;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

const SYLLABLES =
  'ka ro mi tel nex vor sa lin dra qu bel tor zen mar lu fi gra no pe tri vel ost han sol ber rix al ven cor da ly mo ter un quo fa ni sto gel pra ix';
const SYL = SYLLABLES.split(' ');
const TLDS = [
  'com',
  'net',
  'org',
  'de',
  'nl',
  'fr',
  'io',
  'co.uk',
  'eu',
  'info',
  'shop',
  'ae',
  'in',
  'com.br',
];
const COUNTRIES = ['DE', 'NL', 'FR', 'GB', 'US', 'AE', 'IN', 'BR', 'PL', 'SE', 'ES', 'IT', 'CA', 'SG', 'ZA'];
const COMPANY = ['GmbH', 'B.V.', 'Ltd', 'LLC', 'SARL', 'AB', 'S.L.', 'Pvt Ltd', 'Inc.', 'FZ-LLC'];
const IDN_WORDS = ['bücher', 'café', 'straße', 'mañana', 'smörgås', 'ıstanbul'];
const V4_FIRST_OCTETS = [
  5, 31, 37, 46, 51, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 109, 141,
  145, 151, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217,
];
/** IPv4 prefix lengths and their share: VPS /32s dominate, dedicated /29s, colocation /28-/23. */
const V4_LENGTHS: readonly [number, number][] = [
  [32, 0.62],
  [31, 0.01],
  [30, 0.03],
  [29, 0.14],
  [28, 0.08],
  [27, 0.04],
  [26, 0.03],
  [25, 0.02],
  [24, 0.025],
  [23, 0.005],
];
/** IPv6: a /64 per server, /56 and /48 per colocation/dedicated site, /128 for single-address VPSes. */
const V6_LENGTHS: readonly [number, number][] = [
  [128, 0.15],
  [64, 0.55],
  [56, 0.2],
  [48, 0.1],
];

const DAY = 86_400_000;
/**
 * Share of services that end (their prefixes go back to the pool and are recycled): tuned so that about
 * 10% of the prefixes have two or more tenants over the generated span.
 */
const END_SHARE = 0.2;
/** Chance that a take reuses a released block when one is free at that time. */
const REUSE_SHARE = 0.85;

export function generateRegistry(options: GenerateOptions): GeneratedCustomer[] {
  const random = seededRandom(options.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const weighted = (table: readonly [number, number][]): number => {
    let r = random();
    for (const [value, weight] of table) {
      r -= weight;
      if (r < 0) return value;
    }
    return table[table.length - 1]![0];
  };
  const start = (options.start ?? new Date('2019-01-01T00:00:00Z')).getTime();
  const end = (options.end ?? new Date('2026-01-01T00:00:00Z')).getTime();
  const targets = options.targets;
  const customerCount = targets ? Number.POSITIVE_INFINITY : (options.customers ?? 100);
  // Customers sign up in order; in target mode the span is spread over an estimate of the count.
  const expected = targets ? Math.max(1, Math.round((targets.v4 + targets.v6) / 3)) : customerCount;
  const counts = { v4: 0, v6: 0, domains: 0 };
  const want = (family: 'v4' | 'v6' | 'domains') => !targets || counts[family] < targets[family];

  const v4 = new V4Allocator(random);
  const v6 = new V6Allocator(random);
  const usedNames = new Set<string>();
  const nestedSeen = new Set<string>();
  const word = (min: number, max: number) => {
    let w = '';
    for (let i = int(min, max); i > 0; i--) w += pick(SYL);
    return w;
  };
  const newDomain = (): string => {
    for (;;) {
      const base = random() < 0.01 ? `${pick(IDN_WORDS)}${word(1, 2)}` : word(2, 4);
      const name = domainToASCII(`${base}${random() < 0.2 ? int(1, 99) : ''}.${pick(TLDS)}`);
      if (!usedNames.has(name)) {
        usedNames.add(name);
        counts.domains++;
        return name;
      }
    }
  };
  // Targets count distinct prefixes (the registry's size); a recycled block adds a tenancy, not a prefix.
  const v4Prefix = (length: number, at: number) => {
    const taken = v4.take(length, at);
    if (taken.fresh) counts.v4++;
    return taken.resource;
  };
  const v6Prefix = (length: number, at: number) => {
    const taken = v6.take(length, at);
    if (taken.fresh) counts.v6++;
    return taken.resource;
  };

  const customers: GeneratedCustomer[] = [];
  let serviceSeq = 0;
  for (let c = 0; c < customerCount; c++) {
    if (targets && !want('v4') && !want('v6') && !want('domains')) break;
    const signup = Math.min(
      end - DAY,
      start + Math.floor(((c + random()) / expected) * (end - start) * 0.95),
    );
    const company = `${capitalise(word(2, 3))} ${pick(COMPANY)}`;
    const mailDomain = `${company.split(' ')[0]!.toLowerCase()}.${pick(TLDS)}`;
    const customer: GeneratedCustomer = {
      ref: `C${String(c + 1).padStart(6, '0')}`,
      name: company,
      emails: random() < 0.5 ? [`noc@${mailDomain}`, `abuse@${mailDomain}`] : [`admin@${mailDomain}`],
      country: pick(COUNTRIES),
      status: 'active',
      policyProvider: options.policy?.provider ?? null,
      policyVersion: options.policy?.version ?? null,
      policyAcceptedAt: options.policy ? new Date(signup) : null,
      services: [],
    };
    const profile = random();
    const serviceCount = profile < 0.1 ? int(3, 8) : int(1, 3);
    for (let s = 0; s < serviceCount; s++) {
      const kind = pickKind(random(), profile);
      const from = Math.min(end - DAY, signup + int(0, 120) * DAY);
      const ends = random() < END_SHARE;
      const to = ends ? Math.min(end, from + int(30, 900) * DAY) : null;
      const assignments: GeneratedAssignment[] = [];
      const add = (resource: string | null) => {
        if (resource)
          assignments.push({
            resource,
            validFrom: new Date(from),
            validTo: to === null ? null : new Date(to),
          });
      };
      const v4Length =
        kind === 'colocation'
          ? weighted(V4_LENGTHS.filter(([l]) => l <= 29))
          : kind === 'dedicated'
            ? weighted(V4_LENGTHS.filter(([l]) => l >= 28))
            : 32;
      const v6Length =
        kind === 'colocation'
          ? pick([48, 56])
          : kind === 'dedicated'
            ? pick([56, 64])
            : kind === 'vps'
              ? weighted(V6_LENGTHS.filter(([l]) => l >= 64))
              : 64;
      if (kind === 'shared-hosting') {
        for (let d = int(1, 12); d > 0 && want('domains'); d--) add(newDomain());
      } else {
        if (want('v4')) add(v4Prefix(targets ? weighted(V4_LENGTHS) : v4Length, from));
        if (want('v6') && (kind !== 'mail' || random() < 0.5)) {
          add(v6Prefix(targets ? weighted(V6_LENGTHS) : v6Length, from));
        }
        if (want('domains') && (kind === 'mail' || kind === 'streaming' || random() < 0.3)) add(newDomain());
        // A colocation customer's own VPS /32 carved out of its block: same customer, so nesting is allowed.
        const block = assignments[0]?.resource;
        const blockLength = block === undefined ? 32 : Number(block.split('/')[1]);
        // Only from blocks with host addresses to spare (/30 or shorter): carving a /32 out of a /31 or
        // /32 would land on the block itself or on a neighbour's address.
        if (kind === 'colocation' && block && blockLength <= 30 && random() < 0.05 && !block.includes(':')) {
          const [net, length] = block.split('/') as [string, string];
          const inside = ipv4ToInt(net) + int(1, 2 ** (32 - Number(length)) - 2);
          customer.services.push({
            ref: `S${String(++serviceSeq).padStart(7, '0')}`,
            kind: 'vps',
            status: to === null ? 'active' : 'terminated',
            provisioningRef: `vm-${serviceSeq}`,
            assignments: [
              {
                resource: `${formatIPv4(inside >>> 0)}/32`,
                validFrom: new Date(from),
                validTo: to === null ? null : new Date(to),
              },
            ],
          });
          // A recycled block can get the same carve-out again: that is a second tenancy, not a new prefix.
          const nested = `${formatIPv4(inside >>> 0)}/32`;
          if (!nestedSeen.has(nested)) {
            nestedSeen.add(nested);
            counts.v4++;
          }
        }
      }
      if (to !== null) {
        for (const a of assignments)
          if (a.resource.includes('/')) (a.resource.includes(':') ? v6 : v4).release(a.resource, to);
      }
      if (assignments.length === 0) continue;
      serviceSeq++;
      customer.services.push({
        ref: `S${String(serviceSeq).padStart(7, '0')}`,
        kind,
        status: to !== null ? 'terminated' : random() < 0.03 ? 'suspended' : 'active',
        provisioningRef: `${kind === 'shared-hosting' ? 'acct' : 'srv'}-${serviceSeq}`,
        assignments,
      });
    }
    if (customer.services.length === 0) continue;
    if (customer.services.every((s) => s.status === 'terminated')) customer.status = 'terminated';
    else if (customer.services.some((s) => s.status === 'suspended') && random() < 0.3)
      customer.status = 'suspended';
    customers.push(customer);
  }
  return customers;
}

function pickKind(r: number, profile: number): ServiceKind {
  if (profile < 0.05) return r < 0.7 ? 'colocation' : 'dedicated';
  if (r < 0.42) return 'vps';
  if (r < 0.62) return 'shared-hosting';
  if (r < 0.8) return 'dedicated';
  if (r < 0.86) return 'streaming';
  if (r < 0.93) return 'mail';
  if (r < 0.97) return 'colocation';
  return 'other';
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function ipv4ToInt(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** A released block free at `at`, taken out of the pool (most of the time when there is one), or null. */
function takeReleased(
  pool: { resource: string; at: number }[] | undefined,
  at: number,
  random: () => number,
): string | null {
  if (!pool || pool.length === 0 || random() >= REUSE_SHARE) return null;
  // Look at the oldest few releases only: scanning the whole pool would make generation quadratic.
  for (let i = 0; i < Math.min(16, pool.length); i++) {
    if (pool[i]!.at <= at) return pool.splice(i, 1)[0]!.resource;
  }
  return null;
}

/**
 * Hands out aligned IPv4 blocks per length from provider /16s, and recycles released ones: about one
 * take in ten reuses a block whose previous tenancy ended before the new one starts.
 */
class V4Allocator {
  private readonly cursor = new Map<number, { base: number; next: number }>();
  private readonly released = new Map<number, { resource: string; at: number }[]>();
  private readonly usedBlocks = new Set<number>();

  constructor(private readonly random: () => number) {}

  take(length: number, at: number): { resource: string; fresh: boolean } {
    const reused = takeReleased(this.released.get(length), at, this.random);
    if (reused !== null) return { resource: reused, fresh: false };
    const size = 2 ** (32 - length);
    let c = this.cursor.get(length);
    if (!c || c.next + size > c.base + 65536 * Math.max(1, size / 65536)) {
      c = { base: this.newBlock(), next: 0 };
      c.next = c.base;
      this.cursor.set(length, c);
    }
    const net = c.next;
    c.next += size;
    return { resource: `${formatIPv4(net >>> 0)}/${length}`, fresh: true };
  }

  release(resource: string, at: number): void {
    const length = Number(resource.split('/')[1]);
    const pool = this.released.get(length) ?? [];
    this.released.set(length, pool);
    pool.push({ resource, at });
  }

  private newBlock(): number {
    for (;;) {
      const first = V4_FIRST_OCTETS[Math.floor(this.random() * V4_FIRST_OCTETS.length)]!;
      const block = first * 256 + Math.floor(this.random() * 256);
      if (!this.usedBlocks.has(block)) {
        this.usedBlocks.add(block);
        return block * 65536;
      }
    }
  }
}

/** IPv6: each length gets its own provider /32s; networks are numbered upwards inside them. */
class V6Allocator {
  private readonly cursor = new Map<number, { w0: number; next: number }>();
  private readonly released = new Map<number, { resource: string; at: number }[]>();
  private readonly usedTop = new Set<number>();

  constructor(private readonly random: () => number) {}

  take(length: number, at: number): { resource: string; fresh: boolean } {
    const reused = takeReleased(this.released.get(length), at, this.random);
    if (reused !== null) return { resource: reused, fresh: false };
    const limit = length <= 64 ? 2 ** (length - 32) : 2 ** 32;
    let c = this.cursor.get(length);
    if (!c || c.next >= limit) {
      c = { w0: this.newTop(), next: 0 };
      this.cursor.set(length, c);
    }
    const index = c.next++;
    const words: [number, number, number, number] =
      length <= 64 ? [c.w0, (index * 2 ** (64 - length)) >>> 0, 0, 0] : [c.w0, 0, 0, index >>> 0];
    return { resource: `${formatIPv6(words)}/${length}`, fresh: true };
  }

  release(resource: string, at: number): void {
    const length = Number(resource.split('/')[1]);
    const pool = this.released.get(length) ?? [];
    this.released.set(length, pool);
    pool.push({ resource, at });
  }

  private newTop(): number {
    for (;;) {
      // 2a0X:XXXX::/32 — RIPE-style provider allocations.
      const top = (0x2a000000 + Math.floor(this.random() * 0x100000)) >>> 0;
      if (!this.usedTop.has(top)) {
        this.usedTop.add(top);
        return top;
      }
    }
  }
}

/**
 * Generated customers as snapshot input with synthetic ids (1, 2, …), for building a snapshot without a
 * database (the benchmark, pure tests).
 */
export function toSnapshotInput(
  customers: readonly GeneratedCustomer[],
  options: { epochMs?: boolean } = {},
): RegistrySnapshotInput & { readonly assignments: readonly SnapshotAssignmentRow[] } {
  const time = (d: Date | null) => (d === null ? null : options.epochMs ? d.getTime() : d);
  const out = {
    customers: [] as SnapshotCustomer[],
    services: [] as SnapshotService[],
    assignments: [] as SnapshotAssignmentRow[],
  };
  let serviceId = 0;
  let assignmentId = 0;
  customers.forEach((c, i) => {
    const customerId = i + 1;
    out.customers.push({
      id: customerId,
      ref: c.ref,
      name: c.name,
      emails: c.emails,
      country: c.country,
      status: c.status,
    });
    for (const s of c.services) {
      serviceId++;
      out.services.push({
        id: serviceId,
        ref: s.ref,
        customerId,
        kind: s.kind,
        status: s.status,
        provisioningRef: s.provisioningRef,
      });
      for (const a of s.assignments) {
        out.assignments.push({
          id: ++assignmentId,
          serviceId,
          resource: a.resource,
          validFrom: options.epochMs ? a.validFrom.getTime() : a.validFrom,
          validTo: time(a.validTo),
        });
      }
    }
  });
  return out;
}
