import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The import graph of `src/` and the two rules it must keep: every import runs down the module order (or
 * stays in its own module), and no file reaches itself through its imports. Pure functions over a graph,
 * so the checker itself can be tested on a made-up graph (import-graph.test.ts).
 *
 * A module is the first path segment under `src/`: `src/cases/case-ref.ts` is in `cases`, a root file
 * `src/errors.ts` (and its test `src/errors.test.ts`) is the module `errors`. Imports of packages, of `node:` and of files outside `src/`
 * (test helpers that unit tests beside the code use) are not arrows of the graph.
 */

/** File (relative to the repository, forward slashes) → the files under `src/` it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const moduleOrderSchema = z
  .object({
    description: z.string().optional(),
    /** Lowest level first; a module imports only from lower levels and its own folder. */
    levels: z.array(
      z
        .object({
          level: z.number().int().min(0),
          modules: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).min(1),
          note: z.string().optional(),
        })
        .strict(),
    ),
    /** Imports between two modules of one level, each allowed by name and with its reason. */
    sameLevel: z
      .array(z.object({ from: z.string(), to: z.string(), why: z.string().min(10) }).strict())
      .default([]),
  })
  .strict();

export interface ModuleOrder {
  readonly levelOf: ReadonlyMap<string, number>;
  readonly sameLevel: ReadonlySet<string>;
}

/** Reads and checks the order: levels rising one by one from 0, each module placed once. */
export function parseModuleOrder(json: unknown): ModuleOrder {
  const order = moduleOrderSchema.parse(json);
  const levelOf = new Map<string, number>();
  order.levels.forEach((entry, index) => {
    if (entry.level !== index) throw new Error(`module order: level ${entry.level} stands at place ${index}`);
    for (const name of entry.modules) {
      if (levelOf.has(name)) throw new Error(`module order: ${name} is placed twice`);
      levelOf.set(name, entry.level);
    }
  });
  const sameLevel = new Set<string>();
  for (const edge of order.sameLevel) {
    const from = levelOf.get(edge.from);
    const to = levelOf.get(edge.to);
    if (from === undefined || to === undefined || from !== to) {
      throw new Error(`module order: sameLevel ${edge.from} -> ${edge.to} names modules not on one level`);
    }
    sameLevel.add(`${edge.from}->${edge.to}`);
  }
  return { levelOf, sameLevel };
}

/** `src/cases/case-ref.ts` → `cases`; `src/errors.ts` → `errors`; outside `src/`: undefined. */
export function moduleOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  // A root file's test (`src/errors.test.ts`) belongs to the module it tests.
  if (parts.length === 2) return parts[1]!.split('.')[0];
  return parts[1];
}

// Static imports and re-exports (`import … from`, `export … from`, `import type … from`), side-effect
// imports, and `import('…')` with a literal specifier (dynamic imports and inline type imports).
const fromClause =
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?\s*from\s*['"]([^'"]+)['"]/gm;
const sideEffect = /^\s*import\s*['"]([^'"]+)['"]/gm;
const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative specifiers a source text imports. */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  for (const pattern of [fromClause, sideEffect, dynamic]) {
    for (const match of source.matchAll(pattern)) found.push(match[1]!);
  }
  return found.filter((s) => s.startsWith('.'));
}

/** The file a relative specifier names (`./x.js` is `./x.ts` in the source tree). */
export function resolveSpecifier(fromFile: string, specifier: string): string {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  return joined.replace(/\.js$/, '.ts');
}

function walk(dir: string, root: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, root, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  }
}

/** Every `src/**\/*.ts` file of the repository at `root` with the `src/` files it imports. */
export function readImportGraph(root: string): ImportGraph {
  const files: string[] = [];
  walk(path.join(root, 'src'), root, files);
  const graph = new Map<string, string[]>();
  for (const file of files.sort()) {
    const source = readFileSync(path.join(root, file), 'utf8');
    const targets = specifiersOf(source)
      .map((s) => resolveSpecifier(file, s))
      .filter((target) => target.startsWith('src/'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** Imports that run against the order: up a level, sideways without leave, or from/to an unplaced module. */
export function directionViolations(graph: ImportGraph, order: ModuleOrder): Violation[] {
  const violations: Violation[] = [];
  for (const [from, targets] of graph) {
    const fromModule = moduleOf(from);
    if (fromModule === undefined) continue;
    const fromLevel = order.levelOf.get(fromModule);
    if (fromLevel === undefined) {
      violations.push({ from, to: from, reason: `module ${fromModule} has no place in the module order` });
      continue;
    }
    for (const to of targets) {
      const toModule = moduleOf(to);
      if (toModule === undefined || toModule === fromModule) continue;
      const toLevel = order.levelOf.get(toModule);
      if (toLevel === undefined) {
        violations.push({ from, to, reason: `module ${toModule} has no place in the module order` });
      } else if (toLevel > fromLevel) {
        violations.push({
          from,
          to,
          reason: `${fromModule} (level ${fromLevel}) imports ${toModule} (level ${toLevel}), which stands above it`,
        });
      } else if (toLevel === fromLevel && !order.sameLevel.has(`${fromModule}->${toModule}`)) {
        violations.push({
          from,
          to,
          reason: `${fromModule} imports ${toModule} on its own level ${fromLevel} without a sameLevel entry`,
        });
      }
    }
  }
  return violations;
}

/** Every set of files that import each other in a loop (strongly connected, two files or more, or a file importing itself). */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative so a deep tree cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = graph.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const to = targets[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && targets.includes(frame.node);
        if (component.length > 1 || selfLoop) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}
