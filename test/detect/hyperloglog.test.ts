import { describe, expect, it } from 'vitest';
import { mix32, mixPair, WindowedHyperLogLog } from '../../src/detect/hyperloglog.js';

describe('windowed HyperLogLog', () => {
  it('estimates distinct counts within about two standard errors (p = 8: 6.5%), small ones by linear counting', () => {
    for (const n of [10, 64, 1_000, 100_000]) {
      const h = new WindowedHyperLogLog(8, 4);
      for (let i = 0; i < n; i++) h.add(i % 4, mix32(0x0a000000 + i));
      // Repeats change nothing.
      for (let i = 0; i < n; i++) h.add(0, mix32(0x0a000000 + i));
      const error = Math.abs(h.estimate() - n) / n;
      expect(error, `n = ${n}`).toBeLessThan(n <= 64 ? 0.12 : 0.15);
    }
  });

  it('reports whether a register grew, and forgets a sub-window when it is cleared', () => {
    const h = new WindowedHyperLogLog(8, 4);
    expect(h.add(0, mix32(1))).toBe(true);
    expect(h.add(0, mix32(1))).toBe(false);
    for (let i = 0; i < 500; i++) h.add(1, mixPair(i, 22));
    const both = h.estimate();
    h.clearSlot(1);
    expect(h.estimate()).toBeLessThan(3);
    expect(both).toBeGreaterThan(400);
  });
});
