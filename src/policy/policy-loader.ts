import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AupError, isAupError } from '../errors.js';
import {
  duplicateKeyProblems,
  issueProblems,
  type PolicyProblem,
  parseYaml,
  ROOT_PATH,
  sortProblems,
  yamlSyntaxProblems,
} from './policy-problems.js';
import { type PolicyDocument, policyDocumentSchema } from './policy-schema.js';

export type { PolicyProblem } from './policy-problems.js';
export { formatProblem } from './policy-problems.js';

/** A validated policy document together with the exact source it came from. */
export interface LoadedPolicy {
  /** Where it was read from (a path, or `store:<provider>/<version>`). */
  readonly file: string;
  readonly document: PolicyDocument;
  /** The YAML exactly as written. */
  readonly source: string;
  /** sha256 (hex) of the source's UTF-8 bytes. */
  readonly sha256: string;
}

/** All versions of one provider's policy, ordered by `effective_at` (then `published_at`). */
export interface PolicyHistory {
  readonly provider: string;
  readonly versions: readonly LoadedPolicy[];
}

/**
 * Parse and validate a policy document. Throws `AUP_ERR_POLICY_YAML_SYNTAX` when the text is not YAML and
 * `AUP_ERR_POLICY_INVALID` when it breaks the schema; either way `details.problems` lists every problem
 * found (file, line, column, path, message, expected).
 */
export function parsePolicySource(source: string, fileName: string): LoadedPolicy {
  const { doc, lines } = parseYaml(source);
  const syntax = yamlSyntaxProblems(doc, lines, source, fileName);
  if (syntax.length > 0) {
    throw policyError('AUP_ERR_POLICY_YAML_SYNTAX', fileName, syntax);
  }
  const problems = duplicateKeyProblems(doc, lines, fileName);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) {
    problems.push({ file: fileName, line: 1, column: 1, path: ROOT_PATH, message: 'the file is empty' });
    throw policyError('AUP_ERR_POLICY_INVALID', fileName, problems);
  }
  const parsed = policyDocumentSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(...issueProblems(issue, doc, lines, fileName, value));
  }
  if (problems.length > 0 || !parsed.success) {
    throw policyError('AUP_ERR_POLICY_INVALID', fileName, problems);
  }
  return { file: fileName, document: parsed.data, source, sha256: sha256Hex(source) };
}

/** Read and validate one policy file (see `parsePolicySource`). */
export async function loadPolicyFile(file: string): Promise<LoadedPolicy> {
  let source: string;
  try {
    const bytes = await readFile(file);
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    const reason = error instanceof TypeError ? 'not valid UTF-8' : describeFsError(error);
    throw policyError('AUP_ERR_POLICY_FILE_UNREADABLE', file, [
      { file, line: 1, column: 1, path: ROOT_PATH, message: `cannot read the file: ${reason}` },
    ]);
  }
  return parsePolicySource(source, file);
}

/**
 * Load `policies/<provider>/*.yaml` into the provider's history. Beyond each file's own validity, the layout
 * is checked: the folder name is the provider id, each file is named `<version>.yaml`, no two versions take
 * effect at the same instant, and `supersedes` names an earlier version. Every problem of every file is
 * collected before throwing `AUP_ERR_POLICY_INVALID` (or the first file's syntax/unreadable code when those
 * are the only problems).
 */
export async function loadPolicyDirectory(dir: string): Promise<PolicyHistory> {
  const files = await policyFilesIn(dir);
  const provider = path.basename(path.resolve(dir));
  if (files.length === 0) {
    throw policyError('AUP_ERR_POLICY_FILE_UNREADABLE', dir, [
      { file: dir, line: 1, column: 1, path: ROOT_PATH, message: 'no policy files (*.yaml) in this folder' },
    ]);
  }
  const loaded: LoadedPolicy[] = [];
  const problems: PolicyProblem[] = [];
  const codes = new Set<PolicyErrorCode>();
  for (const file of files) {
    try {
      loaded.push(await loadPolicyFile(file));
    } catch (error) {
      if (!isAupError(error)) throw error;
      codes.add(error.code as PolicyErrorCode);
      problems.push(...problemsOf(error));
    }
  }
  const layout = layoutProblems(provider, loaded);
  if (problems.length > 0 || layout.length > 0) {
    // One kind of failure keeps its code (a syntax error stays a syntax error); mixed ones are "invalid".
    const [only] = codes;
    const code = codes.size === 1 && layout.length === 0 && only ? only : 'AUP_ERR_POLICY_INVALID';
    throw policyError(code, dir, [...problems, ...layout]);
  }
  return createPolicyHistory(provider, loaded);
}

/**
 * Load every provider under a policies root (`policies/` → one history per sub-folder, sorted by provider
 * id). Problems of all providers are collected before throwing.
 */
export async function loadPolicyTree(root: string): Promise<PolicyHistory[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: unknown) => {
    throw policyError('AUP_ERR_POLICY_FILE_UNREADABLE', root, [
      {
        file: root,
        line: 1,
        column: 1,
        path: ROOT_PATH,
        message: `cannot read the folder: ${describeFsError(error)}`,
      },
    ]);
  });
  const histories: PolicyHistory[] = [];
  const problems: PolicyProblem[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    try {
      histories.push(await loadPolicyDirectory(path.join(root, entry.name)));
    } catch (error) {
      if (!isAupError(error)) throw error;
      problems.push(...problemsOf(error));
    }
  }
  if (problems.length > 0) throw policyError('AUP_ERR_POLICY_INVALID', root, problems);
  return histories;
}

/** The `*.yaml` / `*.yml` files directly in a folder, sorted by name. */
export async function policyFilesIn(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw policyError('AUP_ERR_POLICY_FILE_UNREADABLE', dir, [
      { file: dir, line: 1, column: 1, path: ROOT_PATH, message: 'not a folder' },
    ]);
  }
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/**
 * Order versions and check they form one history: one provider, distinct versions, distinct effective
 * instants (otherwise "the version in force" would be ambiguous), `supersedes` pointing backwards.
 */
export function createPolicyHistory(provider: string, versions: readonly LoadedPolicy[]): PolicyHistory {
  const problems = historyProblems(provider, versions);
  if (problems.length > 0) throw policyError('AUP_ERR_POLICY_INVALID', provider, problems);
  return { provider, versions: [...versions].sort(compareVersions) };
}

function compareVersions(a: LoadedPolicy, b: LoadedPolicy): number {
  return (
    Date.parse(a.document.effective_at) - Date.parse(b.document.effective_at) ||
    Date.parse(a.document.published_at) - Date.parse(b.document.published_at) ||
    a.document.version.localeCompare(b.document.version)
  );
}

function layoutProblems(provider: string, loaded: readonly LoadedPolicy[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const policy of loaded) {
    const line = lineOfKey(policy.source, 'version');
    const expectedName = `${policy.document.version}.yaml`;
    const actualName = path.basename(policy.file).replace(/\.yml$/, '.yaml');
    if (actualName !== expectedName) {
      problems.push({
        file: policy.file,
        line,
        column: 1,
        path: 'version',
        message: `the file name must be the version: "${policy.document.version}" belongs in ${expectedName}`,
        expected: expectedName,
      });
    }
    if (policy.document.provider.id !== provider) {
      problems.push({
        file: policy.file,
        line: lineOfKey(policy.source, 'id'),
        column: 1,
        path: 'provider.id',
        message: `provider id "${policy.document.provider.id}" does not match its folder "${provider}"`,
        expected: provider,
      });
    }
  }
  return problems.concat(historyProblems(provider, loaded, false));
}

function historyProblems(
  provider: string,
  versions: readonly LoadedPolicy[],
  checkProvider = true,
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const byVersion = new Map<string, LoadedPolicy>();
  const byEffective = new Map<number, LoadedPolicy>();
  for (const policy of [...versions].sort(compareVersions)) {
    const doc = policy.document;
    if (checkProvider && doc.provider.id !== provider) {
      problems.push(
        at(policy, 'provider.id', `provider "${doc.provider.id}" in the history of "${provider}"`),
      );
    }
    if (byVersion.has(doc.version)) {
      problems.push(
        at(
          policy,
          'version',
          `version "${doc.version}" appears twice (also ${byVersion.get(doc.version)?.file})`,
        ),
      );
    }
    const effective = Date.parse(doc.effective_at);
    const clash = byEffective.get(effective);
    if (clash) {
      problems.push(
        at(
          policy,
          'effective_at',
          `takes effect at the same instant as version "${clash.document.version}"; the version in force would be ambiguous`,
        ),
      );
    }
    if (doc.supersedes !== undefined) {
      const previous = byVersion.get(doc.supersedes);
      if (!previous) {
        problems.push(
          at(
            policy,
            'supersedes',
            `supersedes "${doc.supersedes}", which is not an earlier version of ${provider}`,
          ),
        );
      }
    }
    byVersion.set(doc.version, policy);
    byEffective.set(effective, policy);
  }
  return problems;
}

function at(policy: LoadedPolicy, documentPath: string, message: string): PolicyProblem {
  const key = documentPath.split('.').pop() ?? documentPath;
  return { file: policy.file, line: lineOfKey(policy.source, key), column: 1, path: documentPath, message };
}

/** Line of the first `key:` in the source (top-level layout checks point there). */
function lineOfKey(source: string, key: string): number {
  const index = source.split('\n').findIndex((l) => new RegExp(`^\\s*${key}\\s*:`).test(l));
  return index < 0 ? 1 : index + 1;
}

type PolicyErrorCode =
  | 'AUP_ERR_POLICY_FILE_UNREADABLE'
  | 'AUP_ERR_POLICY_YAML_SYNTAX'
  | 'AUP_ERR_POLICY_INVALID';

function policyError(code: PolicyErrorCode, where: string, problems: PolicyProblem[]): AupError {
  const sorted = sortProblems(problems);
  const first = sorted[0];
  const summary = first
    ? `${first.file}:${first.line}:${first.column}: ${first.path}: ${first.message}`
    : `${where}: invalid policy`;
  const more =
    sorted.length > 1 ? ` (and ${sorted.length - 1} more problem${sorted.length > 2 ? 's' : ''})` : '';
  return new AupError(code, `${summary}${more}`, { details: { file: where, problems: sorted } });
}

/** The problems carried by a policy error (empty for other errors). */
export function problemsOf(error: unknown): PolicyProblem[] {
  if (!isAupError(error)) return [];
  const problems = error.details?.problems;
  return Array.isArray(problems) ? (problems as PolicyProblem[]) : [];
}

export function sha256Hex(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
