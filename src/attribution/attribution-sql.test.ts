import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { formatIPv4, formatIPv6 } from '../registry/ip-address.js';
import { seededRandom } from '../registry/registry-generator.js';
import { importRegistry } from '../registry/registry-import.js';
import type { RawRegistryRow } from '../registry/registry-row.js';
import { loadRegistrySnapshot } from '../registry/registry-snapshot.js';
import { attribute } from './attribute.js';

/**
 * Property: on random registries crowded into a small address space (so prefixes nest, recycle and
 * collide), the in-memory attribution gives exactly the SQL answer — `inet >>=`, `tstzrange @>`,
 * most specific prefix first — at random addresses and times.
 */

const YEAR = 365 * 86_400_000;
const T0 = Date.UTC(2020, 0, 1);

function randomRegistry(seed: number): RawRegistryRow[] {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const rows: RawRegistryRow[] = [];
  const period = () => {
    const from = T0 + Math.floor(random() * 5 * YEAR);
    const to = random() < 0.3 ? null : from + Math.floor(random() * 2 * YEAR) + 1000;
    return {
      valid_from: new Date(from).toISOString(),
      valid_to: to === null ? '' : new Date(to).toISOString(),
    };
  };
  for (let i = 0; i < 500; i++) {
    const customer = `C${int(1, 6)}`;
    const service = `${customer}-S${int(1, 3)}`;
    let resource: string;
    const kind = random();
    if (kind < 0.55) {
      const length = int(20, 32);
      const host = int(0, 2 ** 12 - 1) << 0;
      const net = ((0x0a000000 + host) & (0xffffffff << (32 - length))) >>> 0;
      resource = `${formatIPv4(net)}/${length}`;
    } else if (kind < 0.85) {
      const length = [56, 60, 64, 96, 112, 120, 127, 128][int(0, 7)]!;
      const w: [number, number, number, number] = [
        0x20010db8,
        int(0, 1),
        random() < 0.5 ? 0 : int(0, 3) << 28,
        int(0, 255),
      ];
      for (let k = 0; k < 4; k++) {
        const bits = Math.max(0, Math.min(32, length - 32 * k));
        w[k] = (w[k]! & (bits === 0 ? 0 : bits === 32 ? 0xffffffff : 0xffffffff << (32 - bits))) >>> 0;
      }
      resource = `${formatIPv6(w)}/${length}`;
    } else {
      resource = ['a.example', 'b.a.example', 'c.b.a.example', 'x.test', 'y.x.test'][int(0, 4)]!;
    }
    rows.push({
      location: `[${i}]`,
      fields: {
        customer,
        email: `noc@${customer.toLowerCase()}.example`,
        service,
        kind: 'vps',
        resource,
        ...period(),
      },
    });
  }
  return rows;
}

describeEachBackend('attribution against SQL', (ctx) => {
  it('agrees with the SQL answer on random registries at random addresses and times', async () => {
    const db = ctx.store.db;
    const summary = await importRegistry(db, randomRegistry(2024));
    // Plenty go in; plenty are refused by the exclusion constraints (a crowded space).
    expect(summary.assignments.created).toBeGreaterThan(100);
    expect(summary.errors.some((e) => e.code === 'AUP_ERR_REGISTRY_OVERLAP')).toBe(true);
    const snapshot = await loadRegistrySnapshot(db);

    const random = seededRandom(7);
    const queries: { ip?: string; domain?: string; at: Date }[] = [];
    for (let q = 0; q < 900; q++) {
      const at = new Date(T0 - YEAR / 2 + Math.floor(random() * 7 * YEAR));
      const r = random();
      if (r < 0.45)
        queries.push({ ip: formatIPv4((0x0a000000 + Math.floor(random() * 2 ** 12.2)) >>> 0), at });
      else if (r < 0.85) {
        const w = [
          0x20010db8,
          Math.floor(random() * 2),
          Math.floor(random() * 4) << 28,
          Math.floor(random() * 300),
        ];
        queries.push({ ip: random() < 0.1 ? `[${formatIPv6(w)}]` : formatIPv6(w), at });
      } else {
        const name = [
          'a.example',
          'www.b.a.example',
          'c.b.a.example',
          'deep.c.b.a.example',
          'x.test',
          'y.x.test',
          'z.test',
        ][Math.floor(random() * 7)]!;
        queries.push({ domain: name, at });
      }
    }

    const ips = queries.filter((q) => q.ip !== undefined);
    const ipAnswers = await sql<{ i: string; id: number | null }>`
      select q.i, (
        select a.id from assignments a
        where a.prefix >>= q.ip and tstzrange(a.valid_from, a.valid_to, '[)') @> q.at
        order by masklen(a.prefix) desc limit 1
      ) as id
      from unnest(${ips.map((q) => q.ip!.replace(/^\[|\]$/g, ''))}::inet[], ${ips.map((q) => q.at.toISOString())}::timestamptz[])
        with ordinality as q(ip, at, i)
      order by q.i`.execute(db);
    const names = queries.filter((q) => q.domain !== undefined);
    const domainAnswers = await sql<{ i: string; id: number | null }>`
      select q.i, (
        select a.id from assignments a
        where (q.name = a.domain or q.name like '%.' || a.domain)
          and tstzrange(a.valid_from, a.valid_to, '[)') @> q.at
        order by length(a.domain) desc limit 1
      ) as id
      from unnest(${names.map((q) => q.domain!)}::text[], ${names.map((q) => q.at.toISOString())}::timestamptz[])
        with ordinality as q(name, at, i)
      order by q.i`.execute(db);

    let held = 0;
    const check = (query: { ip?: string; domain?: string; at: Date }, expected: number | null) => {
      const got = attribute(
        snapshot,
        query.ip !== undefined ? { ip: query.ip, at: query.at } : { domain: query.domain!, at: query.at },
      );
      expect({ query, id: got.ours ? got.assignment.id : null }).toEqual({ query, id: expected });
      if (got.ours) held++;
    };
    for (const [k, q] of ips.entries()) check(q, ipAnswers.rows[k]!.id);
    for (const [k, q] of names.entries()) check(q, domainAnswers.rows[k]!.id);
    // Non-trivial on both sides: many held, many not.
    expect(held).toBeGreaterThan(150);
    expect(held).toBeLessThan(queries.length - 150);
  });
});
