import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonOf, toJsonValue } from './canonical-json.js';

/** The two-step path `canonicalJsonOf` stands for: its result, or the class of what it threw. */
function twoSteps(value: unknown): string {
  try {
    return canonicalJson(toJsonValue(value));
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`;
  }
}

function oneWalk(value: unknown): string {
  try {
    return canonicalJsonOf(value);
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`;
  }
}

/** Values as the pipeline hands them over: JSON, and what JSON.stringify has rules for. */
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue(),
    fc.date({ noInvalidDate: false }),
    fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 5e-324),
    fc.string({ unit: 'binary' }),
    fc.constant(() => 1),
    fc.constant(Symbol('s')),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 5 }),
}));

describe('canonicalJsonOf', () => {
  it('is canonicalJson(toJsonValue(value)) in one walk, for any value (property)', () => {
    fc.assert(
      fc.property(jsonish.value, (value) => {
        expect(oneWalk(value)).toBe(twoSteps(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes a date as its ISO string, an invalid one as null, and leaves out undefined members', () => {
    expect(
      canonicalJsonOf({
        b: new Date('2025-03-01T12:00:00Z'),
        a: [undefined, new Date(Number.NaN)],
        c: undefined,
      }),
    ).toBe('{"a":[null,null],"b":"2025-03-01T12:00:00.000Z"}');
  });

  it('calls toJSON with the member key, as JSON.stringify does', () => {
    const keyed = { toJSON: (key: string) => `at ${key}` };
    expect(canonicalJsonOf({ x: keyed, y: [keyed] })).toBe('{"x":"at x","y":["at 0"]}');
    expect(canonicalJsonOf({ x: keyed })).toBe(twoSteps({ x: keyed }));
  });

  it('gives the two-step answer for boxed primitives, bigints, deep nesting and cycles', () => {
    const boxed = { n: new Number(3), s: new String('x'), b: new Boolean(false) };
    expect(canonicalJsonOf(boxed)).toBe('{"b":false,"n":3,"s":"x"}');
    let deep: unknown = 1;
    for (let i = 0; i < 500; i++) deep = [deep];
    expect(canonicalJsonOf(deep)).toBe(twoSteps(deep));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJsonOf(cyclic)).toThrow(TypeError);
    expect(() => canonicalJsonOf({ n: 10n })).toThrow(TypeError);
    expect(() => canonicalJsonOf(undefined)).toThrow(TypeError);
  });
});
