import { describe, expect, it } from 'vitest';
import {
  directionViolations,
  type ImportGraph,
  importCycles,
  moduleOf,
  parseModuleOrder,
  resolveSpecifier,
  specifiersOf,
} from './import-graph.js';

/** The checker on made-up graphs: it must see a back-arrow, a sideways arrow and a loop, or it proves nothing. */

const order = parseModuleOrder({
  levels: [
    { level: 0, modules: ['errors', 'store'] },
    { level: 1, modules: ['intake', 'policy'] },
    { level: 2, modules: ['cases'] },
  ],
  sameLevel: [{ from: 'store', to: 'errors', why: 'store failures are catalogued errors' }],
});

function graphOf(edges: Record<string, string[]>): ImportGraph {
  return new Map(Object.entries(edges));
}

describe('directionViolations', () => {
  it('passes imports that run down the order, inside a module, and along an allowed same-level edge', () => {
    const graph = graphOf({
      'src/cases/case.ts': ['src/intake/report.ts', 'src/store/db.ts', 'src/cases/ref.ts'],
      'src/cases/ref.ts': [],
      'src/intake/report.ts': ['src/errors.ts'],
      'src/store/db.ts': ['src/errors.ts'],
      'src/errors.ts': [],
    });
    expect(directionViolations(graph, order)).toEqual([]);
  });

  it('fails an import that runs back up, one sideways on a level, and one into an unplaced module', () => {
    const graph = graphOf({
      'src/intake/report.ts': ['src/cases/case.ts'],
      'src/policy/policy.ts': ['src/intake/report.ts'],
      'src/errors.ts': ['src/store/db.ts'],
      'src/cases/case.ts': ['src/dmca/notice.ts'],
    });
    const found = directionViolations(graph, order).map((v) => `${v.from} -> ${v.to}`);
    expect(found).toEqual([
      'src/intake/report.ts -> src/cases/case.ts',
      'src/policy/policy.ts -> src/intake/report.ts',
      'src/errors.ts -> src/store/db.ts',
      'src/cases/case.ts -> src/dmca/notice.ts',
    ]);
  });
});

describe('importCycles', () => {
  it('finds a loop of three files, a file importing itself, and nothing in a tree', () => {
    const graph = graphOf({
      'src/cli/main.ts': ['src/cli/commands/index.ts', 'src/errors.ts'],
      'src/cli/commands/index.ts': ['src/cli/commands/audit.ts'],
      'src/cli/commands/audit.ts': ['src/cli/main.ts', 'src/errors.ts'],
      'src/errors.ts': [],
      'src/store/self.ts': ['src/store/self.ts'],
    });
    expect(importCycles(graph)).toEqual([
      ['src/cli/commands/audit.ts', 'src/cli/commands/index.ts', 'src/cli/main.ts'],
      ['src/store/self.ts'],
    ]);
    expect(importCycles(graphOf({ 'src/a.ts': ['src/b.ts'], 'src/b.ts': [] }))).toEqual([]);
  });
});

describe('reading imports', () => {
  it('sees multi-line, type-only, re-exported, side-effect and dynamic imports, and no package', () => {
    const source = [
      "import { z } from 'zod';",
      "import type { Database } from '../store/schema.js';",
      'import {',
      '  a,',
      '  type B,',
      "} from './multi.js';",
      "import Default, { c } from './both.js';",
      "import * as ns from './ns.js';",
      "export { d } from './reexport.js';",
      "export type * from './types.js';",
      "import './side-effect.js';",
      "const lazy = await import('./lazy.js');",
      "import { readFile } from 'node:fs/promises';",
    ].join('\n');
    expect(specifiersOf(source).sort()).toEqual(
      [
        '../store/schema.js',
        './both.js',
        './lazy.js',
        './multi.js',
        './ns.js',
        './reexport.js',
        './side-effect.js',
        './types.js',
      ].sort(),
    );
  });

  it('resolves a specifier to the source file and a file to its module', () => {
    expect(resolveSpecifier('src/cases/case.ts', '../store/schema.js')).toBe('src/store/schema.ts');
    expect(resolveSpecifier('src/cli/commands/a.ts', '../../errors.js')).toBe('src/errors.ts');
    expect(moduleOf('src/cases/case-ref.ts')).toBe('cases');
    expect(moduleOf('src/errors.ts')).toBe('errors');
    expect(moduleOf('src/errors.test.ts')).toBe('errors');
    expect(moduleOf('test/factories.ts')).toBeUndefined();
  });
});

describe('parseModuleOrder', () => {
  it('refuses a module placed twice, a level out of turn, and a same-level leave across levels', () => {
    expect(() => parseModuleOrder({ levels: [{ level: 0, modules: ['a', 'a'] }] })).toThrow(/placed twice/);
    expect(() => parseModuleOrder({ levels: [{ level: 1, modules: ['a'] }] })).toThrow(/level 1/);
    expect(() =>
      parseModuleOrder({
        levels: [
          { level: 0, modules: ['a'] },
          { level: 1, modules: ['b'] },
        ],
        sameLevel: [{ from: 'b', to: 'a', why: 'not on one level at all' }],
      }),
    ).toThrow(/not on one level/);
  });
});
