import { describe, expect, it } from 'vitest';
import { durationMs } from './policy-schema.js';

describe('durationMs', () => {
  it('reads ISO 8601 durations, months and years as 30 and 365 days', () => {
    expect(durationMs('PT72H')).toBe(72 * 3_600_000);
    expect(durationMs('P1W2DT3H4M5S')).toBe(((9 * 24 + 3) * 60 * 60 + 4 * 60 + 5) * 1000);
    expect(durationMs('P1M')).toBe(30 * 86_400_000);
    expect(durationMs('P1Y')).toBe(365 * 86_400_000);
  });

  it('gives the same answer when asked again (it remembers what it read) and refuses what is not a duration every time', () => {
    for (let i = 0; i < 3; i++) {
      expect(durationMs('P14D')).toBe(14 * 86_400_000);
      expect(() => durationMs('14 days')).toThrow(RangeError);
    }
  });

  it('stays right past the number of durations it keeps', () => {
    for (let h = 1; h <= 2_500; h++) expect(durationMs(`PT${h}H`)).toBe(h * 3_600_000);
    expect(durationMs('PT1H')).toBe(3_600_000);
  });
});
