import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  directionViolations,
  importCycles,
  moduleOf,
  parseModuleOrder,
  readImportGraph,
} from './import-graph.js';

/**
 * The data flows one way through the house: each module imports only from the modules below it in
 * module-order.json (the design's "Import order" table), and no file reaches itself through its imports.
 * A failure names the import to remove or the module to place.
 */

const root = path.resolve(import.meta.dirname, '../..');
const order = parseModuleOrder(
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'module-order.json'), 'utf8')),
);
const graph = readImportGraph(root);

describe('import direction of src/', () => {
  it('reads the tree (a sanity floor: an empty graph would pass everything)', () => {
    expect(graph.size).toBeGreaterThan(200);
    expect(graph.get('src/cli/main.ts')).toContain('src/cli/commands/index.ts');
  });

  it('places every module of src/ in the order', () => {
    const unplaced = [...new Set([...graph.keys()].map((f) => moduleOf(f)!))].filter(
      (m) => !order.levelOf.has(m),
    );
    expect(unplaced).toEqual([]);
  });

  it('has no import against the module order', () => {
    const violations = directionViolations(graph, order).map((v) => `${v.from} -> ${v.to}: ${v.reason}`);
    expect(violations).toEqual([]);
  });

  it('is the order the README states (its Layout table is read from here, not kept by hand elsewhere)', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) \| ([a-z, -]+?)(?: \(.*\))? \|$/gm)].map(
      (m) =>
        `${m[1]}: ${m[2]!
          .split(',')
          .map((x) => x.trim())
          .join(', ')}`,
    );
    const levels = new Map<number, string[]>();
    for (const [name, level] of order.levelOf) levels.set(level, [...(levels.get(level) ?? []), name]);
    expect(rows).toEqual([...levels].map(([level, names]) => `${level}: ${names.join(', ')}`));
  });

  it('has no import cycle between files', () => {
    expect(importCycles(graph).map((c) => c.join(' <-> '))).toEqual([]);
  });
});
