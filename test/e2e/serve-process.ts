import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { cliLaunchArgs } from '../support/built-cli.js';

/**
 * `aupdesk serve` as a child process, for the tests that need a real process (split roles, kill -9). It runs
 * the build when dist/ is fresh (test/support/built-cli.ts), else the CLI from source through tsx, so these
 * tests never depend on a build of the shared checkout nor run a stale one.
 */

const root = path.resolve(import.meta.dirname, '../..');

export interface ServeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** The test's environment without the channel settings a developer's shell may carry, plus `overrides`. */
export function serveEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['AUPDESK_DROP_DIR', 'AUPDESK_FEEDS', 'AUPDESK_IMAP_HOST', 'AUPDESK_PUBLIC_URL']) {
    delete env[name];
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Node's flags for a CPU profile of a spawned process into AUPDESK_PROFILE_DIR, for finding where a
 * benchmark's time goes (served processes here; the pipeline benchmark's ingest).
 */
export function profiled(): string[] {
  const dir = process.env.AUPDESK_PROFILE_DIR;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/** `aupdesk <args>` (args start with `--data <dir> serve …`), its output collected. */
export function spawnServe(name: string, args: readonly string[], env: NodeJS.ProcessEnv): ServeProcess {
  const child = spawn(process.execPath, [...profiled(), ...cliLaunchArgs(), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: ServeProcess = {
    name,
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    proc.stdout += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    proc.stderr += c;
  });
  return proc;
}

/** Resolves once the process printed where to go (it listens then); throws if it exits or hangs first. */
export async function serveReady(proc: ServeProcess, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!proc.stdout.includes('Stop with Ctrl-C.')) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited early (${proc.child.exitCode}): ${proc.stderr.slice(-3000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} did not start: ${proc.stderr.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The SMTP port and HTTP base URL a started desk printed. */
export function servedAt(proc: ServeProcess): { smtpPort: number | undefined; httpUrl: string | undefined } {
  const smtp = /SMTP intake: +127\.0\.0\.1:(\d+)/.exec(proc.stdout)?.[1];
  return {
    smtpPort: smtp === undefined ? undefined : Number(smtp),
    httpUrl: /JSON API: +(http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(proc.stdout)?.[1],
  };
}

/** Polls `probe` every 100 ms until it gives a value; on timeout throws with the processes' last logs. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  procs: readonly ServeProcess[],
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = procs.map((p) => `--- ${p.name}\n${p.stderr.slice(-1500)}`).join('\n');
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
