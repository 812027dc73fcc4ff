import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Whether dist/ holds a build of the checkout's current sources, so a test that needs the CLI in a child
 * process can run `node bin/aupdesk.js` instead of the sources through tsx.
 *
 * From source every child compiles the CLI's modules on start, and each of a served process's parse threads
 * compiles the parsers again (tsx's loader in the thread): about 1.2 s more of CPU per process than the
 * build, on a suite that is CPU-bound on two cores. The README's test command and CI build first, so there
 * the build is used; a developer who edited a source since the last build gets the sources, never a stale
 * build. Fresh means every emitted file is at least as new as every source and build setting: a build still
 * being written, or one that left files of a deleted source behind, is not fresh.
 */

const root = path.resolve(import.meta.dirname, '../..');

/** The newest and the oldest modification time (ms) of the files under `dir` whose names pass `keep`. */
function mtimes(
  dir: string,
  keep: (name: string) => boolean,
): { newest: number; oldest: number; files: number } {
  let newest = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let files = 0;
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && keep(entry.name)) {
        const ms = statSync(full).mtimeMs;
        newest = Math.max(newest, ms);
        oldest = Math.min(oldest, ms);
        files += 1;
      }
    }
  };
  walk(dir);
  return { newest, oldest, files };
}

export function builtCliIsFresh(): boolean {
  try {
    const sources = mtimes(
      path.join(root, 'src'),
      (name) => name.endsWith('.ts') && !name.endsWith('.test.ts'),
    );
    const settings = ['tsconfig.json', 'tsconfig.build.json', 'package.json'].map(
      (name) => statSync(path.join(root, name)).mtimeMs,
    );
    const built = mtimes(path.join(root, 'dist'), (name) => name.endsWith('.js'));
    return built.files > 0 && built.oldest >= Math.max(sources.newest, ...settings);
  } catch {
    // No dist/ (never built), or a file gone while it was read: the sources, then.
    return false;
  }
}

/**
 * Node's arguments that run `aupdesk <args>` from the sources through tsx (what the build runs, compiled on
 * the fly). The benchmarks use these always: they measure the checkout as it is, built or not.
 */
export function sourceLaunchArgs(): string[] {
  const launch = `const { main } = await import(${JSON.stringify(path.join(root, 'src/cli/main.ts'))}); process.exitCode = await main(process.argv.slice(1));`;
  return ['--import', 'tsx', '--input-type=module', '-e', launch, '--'];
}

/** Node's arguments that run `aupdesk <args>`: the build when it is fresh, else `sourceLaunchArgs`. */
export function cliLaunchArgs(): string[] {
  return builtCliIsFresh() ? [path.join(root, 'bin/aupdesk.js')] : sourceLaunchArgs();
}
