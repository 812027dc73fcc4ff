import {
  CST,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  parseDocument,
} from 'yaml';
import { z } from 'zod';
import { eventClasses } from '../taxonomy/taxonomy.js';
import { policyDocumentSchema } from './policy-schema.js';

/**
 * Turning YAML and zod failures into problems a policy author can act on: each names the file, the line and
 * column in it, the path in the document (`clauses[3].covers[0]`), what was wrong and what was expected.
 * zod reports paths in the parsed value; the YAML AST keeps source ranges, so each issue path is looked up
 * in the AST to find where it was written.
 */

export interface PolicyProblem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Path in the document, e.g. `terms.enforcement.cure_period`; `(document)` for the whole file. */
  readonly path: string;
  readonly message: string;
  /** What the schema expected there, when it can be said briefly. */
  readonly expected?: string;
}

export const ROOT_PATH = '(document)';

type PathSegment = string | number;

/** `["clauses", 3, "covers", 0]` → `clauses[3].covers[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? ROOT_PATH : out;
}

/** `<file>:<line>:<column>: <path>: <message>` (the format `aupdesk policy validate` prints). */
export function formatProblem(problem: PolicyProblem): string {
  const expected = problem.expected ? ` (expected ${problem.expected})` : '';
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.path}: ${problem.message}${expected}`;
}

export function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  return problems.sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path),
  );
}

/** Syntax errors the YAML parser found (bad indentation, unclosed quotes, tabs, several documents). */
export function yamlSyntaxProblems(
  doc: Document,
  lines: LineCounter,
  source: string,
  file: string,
): PolicyProblem[] {
  return doc.errors.map((error) => {
    let offset = error.pos[0];
    let message = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
    // An unclosed quote is only noticed at the end of the file; point at where the quote opened.
    if (error.code === 'MISSING_CHAR' && /quote/.test(message)) {
      const opened = unclosedQuoteStart(source, offset);
      if (opened !== undefined) {
        message = `${message}: the quoted value opened here is never closed`;
        offset = opened;
      }
    }
    const pos = lines.linePos(offset);
    return { file, line: pos.line, column: pos.col, path: ROOT_PATH, message: `YAML syntax: ${message}` };
  });
}

function unclosedQuoteStart(source: string, errorOffset: number): number | undefined {
  let found: number | undefined;
  for (const token of new Parser().parse(source)) {
    if (token.type !== 'document') continue;
    CST.visit(token, (item) => {
      for (const t of [item.key, item.value]) {
        if (
          t &&
          (t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar') &&
          t.offset <= errorOffset &&
          errorOffset <= t.offset + t.source.length
        ) {
          found ??= t.offset;
        }
      }
    });
  }
  return found;
}

/**
 * Duplicate keys in a mapping. Parsed with `uniqueKeys: false` so the AST keeps both and the problem can
 * point at the second one with its document path (the YAML parser alone only says "keys must be unique").
 */
export function duplicateKeyProblems(doc: Document, lines: LineCounter, file: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const visit = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      const first = new Map<string, number>();
      for (const pair of node.items) {
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const at = rangeStart(keyNode);
        const seen = first.get(key);
        if (seen !== undefined) {
          const pos = lines.linePos(at ?? 0);
          problems.push({
            file,
            line: pos.line,
            column: pos.col,
            path: formatPath([...path, key]),
            message: `duplicate key "${key}" (first given on line ${lines.linePos(seen).line}); YAML keeps only one of them`,
          });
        } else {
          first.set(key, at ?? 0);
          visit(pair.value, [...path, key]);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        visit(item, [...path, index]);
      });
    }
  };
  visit(doc.contents, []);
  return problems;
}

type Issue = z.core.$ZodIssue;

/** One zod issue → one or more problems located in the YAML source. */
export function issueProblems(
  issue: Issue,
  doc: Document,
  lines: LineCounter,
  file: string,
  value?: unknown,
): PolicyProblem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s === 'string' || typeof s === 'number');
  const at = (segments: PathSegment[], node: unknown, message: string, expected?: string): PolicyProblem => {
    const pos = lines.linePos(rangeStart(node) ?? 0);
    return {
      file,
      line: pos.line,
      column: pos.col,
      path: formatPath(segments),
      message,
      ...(expected ? { expected } : {}),
    };
  };

  if (issue.code === 'unrecognized_keys') {
    const parent = nodeAt(doc, path);
    const known = knownKeysAt(path);
    return issue.keys.map((key) => {
      const keyNode = isMap(parent.node)
        ? parent.node.items.find((p) => isScalar(p.key) && String(p.key.value) === key)?.key
        : undefined;
      const suggestion = nearest(key, known);
      const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
      return at(
        [...path, key],
        keyNode ?? parent.node,
        `unknown key "${key}"${hint}`,
        known.length > 0 ? `one of: ${known.join(', ')}` : undefined,
      );
    });
  }

  const found = nodeAt(doc, path);
  if (!found.exact) {
    // The value is absent: point at the object that should have held it.
    const key = path[found.depth];
    const expected = describeExpected(issue);
    const name = typeof key === 'string' ? `"${key}"` : `item ${String(key)}`;
    return [at(path, found.node, `missing required field ${name}`, expected)];
  }

  const node = found.node;
  switch (issue.code) {
    case 'invalid_type': {
      const actual = describeNode(node);
      if (
        issue.expected === 'string' &&
        isScalar(node) &&
        typeof node.value !== 'string' &&
        value !== undefined
      ) {
        // YAML read `1.1` or `5` as a number. Say "quote it" only when the quoted text would be valid;
        // otherwise say what the string has to look like.
        const asString = stringProblem(value, path, String(node.value));
        const message = asString
          ? `${asString}, got ${actual}`
          : `expected a string, got ${actual} (quote it: "${String(node.value)}")`;
        return [at(path, node, message, 'string')];
      }
      return [at(path, node, `expected ${issue.expected}, got ${actual}`, issue.expected)];
    }
    case 'invalid_value': {
      const value = isScalar(node) ? String(node.value) : describeNode(node);
      const options = issue.values.map(String);
      const suggestion = nearest(value, options);
      const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
      return [at(path, node, `"${value}" is not allowed here${hint}`, `one of: ${options.join(', ')}`)];
    }
    case 'custom': {
      const last = path[path.length - 1];
      const parentKey = path[path.length - 2];
      let message = issue.message;
      if (parentKey === 'covers' && typeof last === 'number' && isScalar(node)) {
        const suggestion = nearest(String(node.value), eventClasses as readonly string[], 6);
        if (suggestion) message += `; did you mean "${suggestion}"?`;
      }
      return [at(path, node, message)];
    }
    case 'too_small':
      return [
        at(
          path,
          node,
          issue.origin === 'array' ? `needs at least ${String(issue.minimum)} item(s)` : issue.message,
          issue.origin === 'array' ? `a list of at least ${String(issue.minimum)}` : undefined,
        ),
      ];
    case 'invalid_union':
      return [at(path, node, issue.message, describeExpected(issue))];
    default:
      return [at(path, node, issue.message, describeExpected(issue))];
  }
}

/** The schema's message for `path` if the value there were the string `text`; undefined when valid. */
function stringProblem(value: unknown, path: PathSegment[], text: string): string | undefined {
  const copy = structuredClone(value) as Record<PathSegment, unknown>;
  let target: Record<PathSegment, unknown> = copy;
  for (const segment of path.slice(0, -1)) target = target[segment] as Record<PathSegment, unknown>;
  const last = path[path.length - 1];
  if (last === undefined) return undefined;
  target[last] = text;
  const result = policyDocumentSchema.safeParse(copy);
  const same = result.error?.issues.find(
    (i) => i.path.length === path.length && i.path.every((s, k) => s === path[k]),
  );
  return same?.message;
}

function describeExpected(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'invalid_value':
      return `one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? undefined : issue.format;
    default:
      return undefined;
  }
}

function describeNode(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'an empty value';
    return `${typeof node.value} ${JSON.stringify(node.value)}`;
  }
  return 'nothing';
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  return undefined;
}

/** The deepest AST node along `path`; `exact` when the whole path exists. */
function nodeAt(doc: Document, path: PathSegment[]): { node: unknown; exact: boolean; depth: number } {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === segment);
      next = pair?.value ?? (pair ? pair.key : undefined);
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined) return { node, exact: false, depth: i };
    node = next;
  }
  return { node, exact: true, depth: path.length };
}

/** The keys the schema allows for the object at `path` (for "did you mean"). */
export function knownKeysAt(path: readonly PathSegment[]): string[] {
  let schema: unknown = policyDocumentSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject && typeof segment === 'string') {
      schema = (schema.shape as Record<string, unknown>)[segment];
    } else if (schema instanceof z.ZodArray && typeof segment === 'number') {
      schema = schema.element;
    } else {
      return [];
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else {
      return current;
    }
  }
  return current;
}

/** The closest candidate by edit distance, if close enough to be a plausible typo. */
export function nearest(
  value: string,
  candidates: readonly string[],
  maxDistance?: number,
): string | undefined {
  const limit = maxDistance ?? Math.max(2, Math.floor(value.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Parse YAML keeping source positions (duplicate keys are kept so they can be reported with a path). */
export function parseYaml(source: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
  return { doc, lines };
}
