import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { openStore, pgliteDirFor, type Store } from '../../src/store/database.js';
import { freshSchemaName } from './store-backends.js';

/**
 * CLI commands through main() against a durable store the test and the CLI open in turn: a PGlite data
 * directory, and when DATABASE_URL is set a fresh PostgreSQL schema the CLI reaches through the URL's
 * search_path.
 */
export interface CliBackend {
  readonly name: string;
  /** Environment the CLI runs with (undefined: unset). */
  readonly env: Record<string, string | undefined>;
  readonly dataDir: string;
  open(): Promise<Store>;
}

export async function cliBackends(prefix = 'aupdesk-cli-'): Promise<CliBackend[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  const list: CliBackend[] = [
    {
      name: 'pglite',
      env: { DATABASE_URL: undefined },
      dataDir,
      open: () => openStore({ pgliteDir: pgliteDirFor(dataDir) }),
    },
  ];
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = freshSchemaName();
    const scoped = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
    list.push({
      name: 'postgres',
      env: { DATABASE_URL: scoped },
      dataDir,
      open: () => openStore({ databaseUrl: url, schema, poolSize: 2 }),
    });
  }
  return list;
}

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * `aupdesk --data <dataDir> <args>` with `env` applied to process.env for the call only; `stdin`, when
 * given, is what the command reads from standard input (`--password-stdin` and the like).
 */
export async function runCli(
  env: Record<string, string | undefined>,
  dataDir: string,
  args: string[],
  stdin?: string,
): Promise<CliRun> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  try {
    const io = stdin === undefined ? { out, err } : { out, err, in: Readable.from([stdin]) };
    const code = await main(['--data', dataDir, ...args], io);
    return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
