import { describe, expect, it } from 'vitest';
import { parseIpAddress, parsePrefix } from './ip-address.js';
import { generateRegistry, seededRandom, toSnapshotInput } from './registry-generator.js';
import { RegistrySnapshot, type SnapshotAssignmentRow } from './registry-snapshot.js';

const customer = (id: number) =>
  ({ id, ref: `c${id}`, name: `C${id}`, emails: [], country: null, status: 'active' }) as const;
const service = (id: number, customerId: number) =>
  ({ id, ref: `s${id}`, customerId, kind: 'vps', status: 'active', provisioningRef: null }) as const;
const day = (d: string) => new Date(`${d}T00:00:00Z`);

function snapshotOf(assignments: SnapshotAssignmentRow[]): RegistrySnapshot {
  return RegistrySnapshot.build({
    customers: [customer(1), customer(2), customer(3)],
    services: [service(10, 1), service(11, 1), service(20, 2), service(30, 3)],
    assignments,
  });
}

function lookup(snapshot: RegistrySnapshot, ip: string, at: string): number | null {
  const a = parseIpAddress(ip)!;
  const t = day(at).getTime();
  const index = a.family === 4 ? snapshot.lookupV4(a.v4, t) : snapshot.lookupV6(...a.v6, t);
  return index < 0 ? null : snapshot.assignment(index).id;
}

describe('registry snapshot', () => {
  it('picks the most specific prefix held at the time, then falls back to the covering one', () => {
    const s = snapshotOf([
      { id: 1, serviceId: 10, resource: '192.0.2.0/24', validFrom: day('2024-01-01'), validTo: null },
      {
        id: 2,
        serviceId: 11,
        resource: '192.0.2.7/32',
        validFrom: day('2024-06-01'),
        validTo: day('2025-01-01'),
      },
      {
        id: 3,
        serviceId: 20,
        resource: '192.0.2.0/25',
        validFrom: day('2022-01-01'),
        validTo: day('2024-01-01'),
      },
    ]);
    expect(lookup(s, '192.0.2.7', '2024-07-01')).toBe(2);
    expect(lookup(s, '192.0.2.7', '2025-01-01')).toBe(1); // half-open: the /32 ended at that instant
    expect(lookup(s, '192.0.2.7', '2023-01-01')).toBe(3); // recycled: the earlier tenant of the /25
    expect(lookup(s, '192.0.2.200', '2023-01-01')).toBeNull();
    expect(lookup(s, '192.0.3.1', '2024-07-01')).toBeNull();
    expect(lookup(s, '::ffff:192.0.2.7', '2024-07-01')).toBe(2);
  });

  it('handles the edges of the address space and adjacent blocks', () => {
    const s = snapshotOf([
      { id: 1, serviceId: 10, resource: '0.0.0.0/8', validFrom: 0, validTo: null },
      { id: 2, serviceId: 20, resource: '255.255.255.255/32', validFrom: 0, validTo: null },
      { id: 3, serviceId: 30, resource: '10.0.0.0/31', validFrom: 0, validTo: null },
      { id: 4, serviceId: 10, resource: '10.0.0.2/31', validFrom: 0, validTo: null },
      { id: 5, serviceId: 20, resource: '2001:db8::/32', validFrom: 0, validTo: null },
      { id: 6, serviceId: 30, resource: '2001:db8:0:1::/64', validFrom: 0, validTo: null },
      { id: 7, serviceId: 10, resource: '::/0', validFrom: day('2030-01-01'), validTo: null },
    ]);
    expect(lookup(s, '0.255.255.255', '2024-01-01')).toBe(1);
    expect(lookup(s, '1.0.0.0', '2024-01-01')).toBeNull();
    expect(lookup(s, '255.255.255.255', '2024-01-01')).toBe(2);
    expect(lookup(s, '255.255.255.254', '2024-01-01')).toBeNull();
    expect(lookup(s, '10.0.0.1', '2024-01-01')).toBe(3);
    expect(lookup(s, '10.0.0.2', '2024-01-01')).toBe(4);
    expect(lookup(s, '10.0.0.4', '2024-01-01')).toBeNull();
    expect(lookup(s, '2001:db8:0:1::9', '2024-01-01')).toBe(6);
    expect(lookup(s, '2001:db8:0:2::9', '2024-01-01')).toBe(5);
    expect(lookup(s, '2001:db9::1', '2024-01-01')).toBeNull();
    expect(lookup(s, '2001:db9::1', '2031-01-01')).toBe(7);
  });

  it('matches a registered domain and its subdomains, most specific first', () => {
    const s = snapshotOf([
      { id: 1, serviceId: 10, resource: 'example.com', validFrom: day('2024-01-01'), validTo: null },
      {
        id: 2,
        serviceId: 20,
        resource: 'shop.example.com',
        validFrom: day('2024-01-01'),
        validTo: day('2024-02-01'),
      },
    ]);
    const at = (d: string) => day(d).getTime();
    const id = (i: number) => (i < 0 ? null : s.assignment(i).id);
    expect(id(s.lookupDomain('a.b.example.com', at('2024-03-01')))).toBe(1);
    expect(id(s.lookupDomain('www.shop.example.com', at('2024-01-15')))).toBe(2);
    expect(id(s.lookupDomain('www.shop.example.com', at('2024-03-01')))).toBe(1);
    expect(id(s.lookupDomain('notexample.com', at('2024-03-01')))).toBeNull();
    expect(id(s.lookupDomain('com', at('2024-03-01')))).toBeNull();
  });

  it('agrees with a brute-force scan on a generated registry at random addresses and times', () => {
    const customers = generateRegistry({ customers: 300, seed: 7 });
    const input = toSnapshotInput(customers);
    const s = RegistrySnapshot.build(input);
    const prefixes = input.assignments
      .filter((a) => a.resource.includes('/'))
      .map((a) => ({ a, p: parsePrefix(a.resource) }));
    const random = seededRandom(99);
    let hits = 0;
    for (let q = 0; q < 3000; q++) {
      const target = prefixes[Math.floor(random() * prefixes.length)]!;
      const t = Date.UTC(2019, 0, 1) + random() * 7 * 365 * 86_400_000;
      if (target.p.family === 4) {
        const addr = (target.p.v4 + Math.floor(random() * 2 ** (32 - target.p.length))) >>> 0;
        const want = bruteV4(prefixes, addr, t);
        const got = s.lookupV4(addr, t);
        expect(got < 0 ? null : s.assignment(got).id).toBe(want);
        if (want !== null) hits++;
      } else {
        const w = [...target.p.v6] as [number, number, number, number];
        w[3] = (w[3] | Math.floor(random() * 2 ** Math.min(32, 128 - target.p.length))) >>> 0;
        const got = s.lookupV6(w[0], w[1], w[2], w[3], t);
        expect(got < 0 ? null : s.assignment(got).id).toBe(bruteV6(prefixes, w, t));
      }
    }
    expect(hits).toBeGreaterThan(100);
  });
});

type Parsed = { a: SnapshotAssignmentRow; p: ReturnType<typeof parsePrefix> };

function held(a: SnapshotAssignmentRow, t: number): boolean {
  const from = +a.validFrom;
  const to = a.validTo === null ? Number.POSITIVE_INFINITY : +a.validTo;
  return from <= t && t < to;
}

function bruteV4(prefixes: Parsed[], addr: number, t: number): number | null {
  let best: Parsed | null = null;
  for (const x of prefixes) {
    if (x.p.family !== 4 || !held(x.a, t)) continue;
    const size = 2 ** (32 - x.p.length);
    if (addr >= x.p.v4 && addr < x.p.v4 + size && (!best || x.p.length > best.p.length)) best = x;
  }
  return best ? best.a.id : null;
}

function bruteV6(prefixes: Parsed[], w: number[], t: number): number | null {
  let best: Parsed | null = null;
  for (const x of prefixes) {
    if (x.p.family !== 6 || !held(x.a, t)) continue;
    let inside = true;
    for (let k = 0; k < 4 && inside; k++) {
      const bits = Math.max(0, Math.min(32, x.p.length - 32 * k));
      const mask = bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
      inside = (w[k]! & mask) >>> 0 === x.p.v6[k];
    }
    if (inside && (!best || x.p.length > best.p.length)) best = x;
  }
  return best ? best.a.id : null;
}
