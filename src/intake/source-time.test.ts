import { describe, expect, it } from 'vitest';
import { parseSourceTime } from './source-time.js';

describe('parseSourceTime', () => {
  it.each([
    ['2026-01-15T12:00:00Z', '2026-01-15T12:00:00.000Z', false],
    ['2026-01-15T14:30:25.123+02:00', '2026-01-15T12:30:25.123Z', false],
    ['2026-01-15 07:00:00 -0500', '2026-01-15T12:00:00.000Z', false],
    ['2026-01-15 12:00:00 UTC', '2026-01-15T12:00:00.000Z', false],
    ['2026-01-15T12:00:00', '2026-01-15T12:00:00.000Z', true],
    ['2026-01-15 12:00', '2026-01-15T12:00:00.000Z', true],
    ['2026-01-15', '2026-01-15T00:00:00.000Z', true],
    ['Thu, 8 Mar 2005 14:00:00 EDT', '2005-03-08T18:00:00.000Z', false],
    ['Thu, 08 Mar 2005 14:00:00 -0400 (EDT)', '2005-03-08T18:00:00.000Z', false],
    ['8 Mar 2005 14:00:00 GMT', '2005-03-08T14:00:00.000Z', false],
    ['Thu, 8 Mar 2005 14:00:00', '2005-03-08T14:00:00.000Z', true],
    ['1768478400', '2026-01-15T12:00:00.000Z', false],
  ])('%s → %s (assumed UTC: %s)', (input, iso, assumedUtc) => {
    expect(parseSourceTime(input)).toEqual({ iso, assumedUtc });
  });

  it('answers undefined for what is not a time', () => {
    for (const bad of [
      '',
      'yesterday',
      '2026-02-31T00:00:00Z',
      '2026-13-01',
      'Thu, 99 Foo 2005 14:00:00 GMT',
      undefined,
    ]) {
      expect(parseSourceTime(bad)).toBeUndefined();
    }
  });
});
