import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { AupError, isAupError } from '../../errors.js';
import { bindingVersion } from '../../policy/policy-binding.js';
import { diffPolicies, type FieldChange, type PolicyDiff } from '../../policy/policy-diff.js';
import {
  formatProblem,
  type LoadedPolicy,
  loadPolicyDirectory,
  loadPolicyFile,
  type PolicyHistory,
  type PolicyProblem,
  policyFilesIn,
  problemsOf,
} from '../../policy/policy-loader.js';
import { type RenderFormat, renderPolicy } from '../../policy/policy-render.js';
import {
  listPolicyVersions,
  loadPolicyHistoryFromStore,
  publishPolicyVersion,
} from '../../policy/policy-repository.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING, EXIT_USAGE } from '../exit.js';

/**
 * `aupdesk policy …`: the policy-as-code tools. validate, render, diff and binding work on files and never
 * open the store; publish and list use it (binding too with `--provider`).
 */
export function registerPolicyCommands(program: Command, context: () => CliContext): void {
  const policy = program
    .command('policy')
    .description('policy documents: validate, render, diff, binding, publish');

  policy
    .command('validate')
    .description('validate policy files, provider folders or a whole policies/ tree')
    .argument('<paths...>', 'policy files (.yaml), provider folders (policies/<provider>) or a policies root')
    .action(async (paths: string[]) => {
      const ctx = context();
      let failed = false;
      for (const target of paths) {
        for (const line of await validateTarget(target)) {
          if (!line.startsWith('ok ')) failed = true;
          ctx.out.write(`${line}\n`);
        }
      }
      if (failed) throw new CliExit(EXIT_FINDING);
    });

  policy
    .command('render')
    .description('render a policy as a publishable AUP page')
    .argument('<file>', 'policy file')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'html']).default('md'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (file: string, options: { format: RenderFormat; out?: string }) => {
      const ctx = context();
      const loaded = await loadOrReport(ctx, file);
      const page = renderPolicy(loaded.document, options.format);
      if (options.out) await writeFile(options.out, page);
      else ctx.out.write(page);
    });

  policy
    .command('diff')
    .description('compare two versions: clauses, terms, obligations, and whether the change is material')
    .argument('<old>', 'the earlier policy file')
    .argument('<new>', 'the later policy file')
    .option('--json', 'print the diff as JSON')
    .action(async (oldFile: string, newFile: string, options: { json?: boolean }) => {
      const ctx = context();
      const before = await loadOrReport(ctx, oldFile);
      const after = await loadOrReport(ctx, newFile);
      if (before.document.provider.id !== after.document.provider.id) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `the files belong to different providers (${before.document.provider.id}, ${after.document.provider.id})`,
        );
      }
      const diff = diffPolicies(before.document, after.document);
      ctx.out.write(options.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
    });

  policy
    .command('binding')
    .description('which version of a policy binds a customer at a time')
    .option('--policy <dir>', 'provider folder (policies/<provider>)')
    .option('--provider <id>', 'use the versions published in the store instead of a folder')
    .option('--customer-accepted <version>', 'the version the customer accepted')
    .option('--accepted-at <time>', 'when the customer accepted (ISO 8601)')
    .option('--waived <version>', 'a version waived for this customer (repeatable)', collect, [] as string[])
    .requiredOption('--at <time>', 'the time in question (ISO 8601 date or date-time with offset)')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        policy?: string;
        provider?: string;
        customerAccepted?: string;
        acceptedAt?: string;
        waived: string[];
        at: string;
        json?: boolean;
      }) => {
        const ctx = context();
        let history: PolicyHistory;
        if (options.policy) {
          history = await historyOrReport(ctx, options.policy);
        } else if (options.provider) {
          const store = await ctx.openStore();
          try {
            history = await loadPolicyHistoryFromStore(store.db, options.provider);
          } finally {
            await store.close();
          }
        } else {
          throw new AupError('AUP_ERR_INPUT_INVALID', 'give --policy <dir> or --provider <id>');
        }
        const result = bindingVersion(history, {
          at: options.at,
          waivedVersions: options.waived,
          ...(options.customerAccepted ? { acceptedVersion: options.customerAccepted } : {}),
          ...(options.acceptedAt ? { acceptedAt: options.acceptedAt } : {}),
        });
        if (options.json) {
          const { document: _document, ...rest } = result;
          ctx.out.write(`${JSON.stringify({ provider: history.provider, ...rest }, null, 2)}\n`);
        } else {
          ctx.out.write(`${history.provider} ${result.version}\n${result.reason}\n`);
        }
      },
    );

  policy
    .command('publish')
    .description('publish policy versions into the store (immutable; identical re-publishing is a no-op)')
    .argument('<paths...>', 'policy files, provider folders or a policies root')
    .action(async (paths: string[]) => {
      const ctx = context();
      const policies: LoadedPolicy[] = [];
      for (const target of paths) {
        for (const dir of await providerFolders(target)) {
          if (dir === undefined) policies.push(await loadOrReport(ctx, target));
          else policies.push(...(await historyOrReport(ctx, dir)).versions);
        }
      }
      const store = await ctx.openStore();
      try {
        for (const loaded of policies) {
          const result = await publishPolicyVersion(store.db, loaded);
          ctx.out.write(`${result.status} ${result.provider} ${result.version} ${result.sha256}\n`);
        }
      } finally {
        await store.close();
      }
    });

  policy
    .command('list')
    .description('list the policy versions published in the store')
    .option('--provider <id>', 'only this provider')
    .action(async (options: { provider?: string }) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        for (const v of await listPolicyVersions(store.db, options.provider)) {
          ctx.out.write(`${v.provider} ${v.version} effective ${v.effectiveAt} sha256 ${v.sha256}\n`);
        }
      } finally {
        await store.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

/** `ok …` for each valid file, one line per problem otherwise. */
async function validateTarget(target: string): Promise<string[]> {
  const lines: string[] = [];
  let folders: Array<string | undefined>;
  try {
    folders = await providerFolders(target);
  } catch (error) {
    if (!isAupError(error)) throw error;
    return problemsOf(error).map(formatProblem);
  }
  for (const dir of folders) {
    if (dir === undefined) {
      try {
        lines.push(okLine(await loadPolicyFile(target)));
      } catch (error) {
        if (!isAupError(error)) throw error;
        lines.push(...problemsOf(error).map(formatProblem));
      }
      continue;
    }
    try {
      const history = await loadPolicyDirectory(dir);
      lines.push(...history.versions.map(okLine).sort());
    } catch (error) {
      if (!isAupError(error)) throw error;
      const problems = problemsOf(error);
      const failing = new Set(problems.map((p: PolicyProblem) => p.file));
      for (const file of await policyFilesIn(dir).catch(() => [])) {
        if (!failing.has(file)) lines.push(okLine(await loadPolicyFile(file)));
      }
      lines.push(...problems.map(formatProblem));
    }
  }
  return lines;
}

function okLine(policy: LoadedPolicy): string {
  const doc = policy.document;
  const n = doc.clauses.length;
  return `ok ${policy.file} (${doc.provider.id} ${doc.version}, ${n} clause${n === 1 ? '' : 's'})`;
}

/**
 * What a path names: a file (`[undefined]`), a provider folder (it holds *.yaml), or a policies root (its
 * sub-folders that hold *.yaml, in name order).
 */
async function providerFolders(target: string): Promise<Array<string | undefined>> {
  const info = await stat(target).catch(() => undefined);
  if (!info) {
    throw new AupError('AUP_ERR_POLICY_FILE_UNREADABLE', `${target}: no such file or folder`, {
      details: {
        problems: [
          { file: target, line: 1, column: 1, path: '(document)', message: 'no such file or folder' },
        ],
      },
    });
  }
  if (!info.isDirectory()) return [undefined];
  if ((await policyFilesIn(target)).length > 0) return [target];
  const entries = await readdir(target, { withFileTypes: true });
  const folders: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(target, entry.name);
    if ((await policyFilesIn(dir)).length > 0) folders.push(dir);
  }
  if (folders.length === 0) {
    throw new AupError('AUP_ERR_POLICY_FILE_UNREADABLE', `${target}: no policy files found`, {
      details: {
        problems: [
          { file: target, line: 1, column: 1, path: '(document)', message: 'no policy files (*.yaml) found' },
        ],
      },
    });
  }
  return folders;
}

async function loadOrReport(ctx: CliContext, file: string): Promise<LoadedPolicy> {
  try {
    return await loadPolicyFile(file);
  } catch (error) {
    reportProblems(ctx, error);
    throw error;
  }
}

async function historyOrReport(ctx: CliContext, dir: string): Promise<PolicyHistory> {
  try {
    return await loadPolicyDirectory(dir);
  } catch (error) {
    reportProblems(ctx, error);
    throw error;
  }
}

/** Every problem of an invalid policy, then exit 2 (the input was unusable). */
function reportProblems(ctx: CliContext, error: unknown): void {
  const problems = problemsOf(error);
  if (problems.length === 0) return;
  for (const problem of problems) ctx.err.write(`${formatProblem(problem)}\n`);
  throw new CliExit(EXIT_USAGE);
}

export function formatDiff(diff: PolicyDiff): string {
  const out: string[] = [`${diff.provider} ${diff.from} → ${diff.to}`];
  const changeLine = (c: FieldChange): string =>
    `    ${c.material ? '!' : ' '} ${c.path}: ${show(c.old)} → ${show(c.new)} (${c.note})`;
  const section = (title: string, lines: string[]): void => {
    if (lines.length > 0) out.push('', `${title}:`, ...lines);
  };
  section(
    'clauses added',
    diff.clauses.added.map((c) => `  + ${c.id} (${c.title})`),
  );
  section(
    'clauses removed',
    diff.clauses.removed.map((c) => `  - ${c.id} (${c.title})`),
  );
  section(
    'clauses changed',
    diff.clauses.changed.flatMap((c) => [`  ~ ${c.id} (${c.title})`, ...c.changes.map(changeLine)]),
  );
  if (diff.clauses.reordered) section('clause order', ['  clauses reordered']);
  section('terms changed', diff.terms.map(changeLine));
  section(
    'obligations added',
    diff.obligations.added.map((c) => `  + ${c.id} (${c.title})`),
  );
  section(
    'obligations removed',
    diff.obligations.removed.map((c) => `  - ${c.id} (${c.title})`),
  );
  section(
    'obligations changed',
    diff.obligations.changed.flatMap((c) => [`  ~ ${c.id} (${c.title})`, ...c.changes.map(changeLine)]),
  );
  section('document', diff.document.map(changeLine));
  out.push('');
  if (diff.verdict.material) {
    out.push('verdict: material change', ...diff.verdict.reasons.map((r) => `  - ${r}`));
  } else {
    out.push(
      'verdict: not material',
      ...(diff.verdict.editorial.length > 0
        ? diff.verdict.editorial.map((r) => `  - ${r}`)
        : ['  - no differences']),
    );
  }
  return `${out.join('\n')}\n`;
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return text.length > 70 ? `${text.slice(0, 67)}…` : text;
}
