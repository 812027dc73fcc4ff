import { describe, expect, it } from 'vitest';
import { DomainIndex } from './domain-index.js';
import { seededRandom } from './registry-generator.js';

/**
 * The domain index against a naive oracle: the longest registered suffix that starts at a label
 * boundary and has at least two labels, then the first tenancy holding it (or a registered parent) at
 * the time. Names are crowded from a few labels so suffixes collide, and include long names (kept out
 * of the slot), odd ones (empty labels, leading or trailing dots) and non-Latin-1 characters.
 */
describe('domain index', () => {
  const LABELS = [
    'a',
    'b',
    'example',
    'shop',
    'co',
    'uk',
    'com',
    'xn--bcher-kva',
    'x'.repeat(30),
    'ü',
    '日本',
  ];

  function oracle(
    registered: readonly { name: string; from: number; to: number; index: number }[],
    name: string,
    t: number,
  ): number {
    const suffixes: string[] = [];
    for (let i = 0; i < name.length; i++) {
      if (i > 0 && name[i - 1] !== '.') continue;
      const suffix = name.slice(i);
      if (suffix.startsWith('.') || !suffix.includes('.')) continue;
      suffixes.push(suffix);
    }
    // Longest first: the most specific registered name, then its registered parents.
    for (const suffix of suffixes) {
      for (const r of registered) if (r.name === suffix && r.from <= t && t < r.to) return r.index;
    }
    return -1;
  }

  it('agrees with a naive suffix scan on crowded random names and times', () => {
    const random = seededRandom(11);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const randomName = () => {
      const labels = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(LABELS));
      return labels.join('.');
    };
    const registered: { name: string; from: number; to: number; index: number }[] = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const name = randomName();
      if (!name.includes('.')) continue;
      // Tenancies of one name never overlap: each starts after the previous one ended.
      const from = (seen.get(name) ?? 0) + Math.floor(random() * 100);
      const to = random() < 0.2 ? Number.POSITIVE_INFINITY : from + 1 + Math.floor(random() * 100);
      seen.set(name, to === Number.POSITIVE_INFINITY ? 1e9 : to);
      registered.push({ name, from, to, index: registered.length });
    }
    const validFrom = Float64Array.from(registered, (r) => r.from);
    const validTo = Float64Array.from(registered, (r) => r.to);
    const index = DomainIndex.build(
      registered.map((r) => r.name),
      Int32Array.from(registered, (r) => r.index),
      validFrom,
      validTo,
    );
    let hits = 0;
    for (let q = 0; q < 5000; q++) {
      let name = randomName();
      const odd = random();
      if (odd < 0.05) name = `.${name}`;
      else if (odd < 0.1) name = `${name}.`;
      else if (odd < 0.15) name = name.replace('.', '..');
      const t = Math.floor(random() * 600);
      const want = oracle(registered, name, t);
      expect(index.lookup(name, t), `${name} at ${t}`).toBe(want);
      if (want >= 0) hits++;
    }
    expect(hits).toBeGreaterThan(500);
    expect(index.size).toBe(seen.size);
  });

  it('tells apart names whose suffix hashes and lengths collide', () => {
    // Found by search: the same 32-bit suffix hash and length, so only the byte comparison separates them.
    const a = 'clzug.example';
    const b = 'cpa25.example';
    const long = `${'l'.repeat(40)}.${a}`;
    const index = DomainIndex.build(
      [a, long],
      Int32Array.of(0, 1),
      Float64Array.of(0, 0),
      Float64Array.of(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
    );
    expect(index.lookup(`www.${a}`, 1)).toBe(0);
    expect(index.lookup(`www.${b}`, 1)).toBe(-1);
    expect(index.lookup(b, 1)).toBe(-1);
    expect(index.lookup(`x.${long}`, 1)).toBe(1);
    expect(index.lookup(`x.${'l'.repeat(40)}.${b}`, 1)).toBe(-1);
  });
});
