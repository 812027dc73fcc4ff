import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openStore, pgliteDirFor, type Store } from '../../src/store/database.js';
import { freshSchemaName } from './store-backends.js';

/**
 * CLI commands through main() against a durable store the test and the CLI open in turn: a PGlite data
 * directory, and when DATABASE_URL is set a fresh PostgreSQL schema the CLI reaches through the URL's
 * search_path.
 *
 * With `holdOpen` (or `holdEmbeddedStore` for a test's own data directory), the file's store is opened once
 * and held until the file ends: `open()` and every `runCli` on that data directory (and DATABASE_URL) use
 * it, and their `close()` leaves it open. Opening the
 * embedded store costs about half a second (PGlite starting its WebAssembly Postgres), which a CLI test paid
 * per command; the commands still run through main() with the store handed to them (MainOptions.store),
 * as an embedding process would. A file whose commands must open the store themselves, or that starts
 * another process on the directory (which needs the store's lock), leaves `holdOpen` off.
 */
export interface CliBackend {
  readonly name: string;
  /** Environment the CLI runs with (undefined: unset). */
  readonly env: Record<string, string | undefined>;
  readonly dataDir: string;
  open(): Promise<Store>;
}

interface HeldStore {
  readonly open: () => Promise<Store>;
  store?: Promise<Store>;
}

/** Stores held for their files' CLI runs, by the DATABASE_URL (none: the embedded store) and data directory. */
const held = new Map<string, HeldStore>();

function heldKey(databaseUrl: string | undefined, dataDir: string): string {
  return `${databaseUrl ?? 'embedded'}\n${path.resolve(dataDir)}`;
}

/** The held store, opened on first use, as a lease whose close() keeps it open. */
async function lease(entry: HeldStore): Promise<Store> {
  if (!entry.store) {
    entry.store = entry.open();
    entry.store.catch(() => {
      entry.store = undefined;
    });
  }
  const store = await entry.store;
  return { ...store, close: async () => undefined };
}

export async function cliBackends(
  prefix = 'aupdesk-cli-',
  options: { readonly holdOpen?: boolean } = {},
): Promise<CliBackend[]> {
  // Registered before the first await, so the hook belongs to the suite being collected when this is called.
  const holding = options.holdOpen ? storeHolder() : undefined;
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
  if (!holding) return list;
  return list.map((backend) => ({
    ...backend,
    open: holding.hold(backend.dataDir, backend.env.DATABASE_URL, backend.open),
  }));
}

/**
 * Holds the embedded store of `dataDir` open for the rest of the file (the suite being collected when
 * this is called): every `runCli` on that directory without DATABASE_URL uses it. Returns its opener,
 * whose stores' close() leaves it open.
 */
export function holdEmbeddedStore(dataDir: string): () => Promise<Store> {
  return storeHolder().hold(dataDir, undefined, () => openStore({ pgliteDir: pgliteDirFor(dataDir) }));
}

/** An afterAll hook, registered now, that closes the stores `hold` registers. */
function storeHolder() {
  const mine: Array<{ key: string; dataDir: string }> = [];
  afterAll(async () => {
    for (const { key, dataDir } of mine) {
      const entry = held.get(key);
      held.delete(key);
      const store = await entry?.store?.catch(() => undefined);
      // A test may have removed the data directory already; the embedded store cannot write its shutdown
      // checkpoint there then, and there is nothing left to keep.
      await store?.close().catch((error: unknown) => {
        if (existsSync(dataDir)) throw error;
      });
    }
  });
  return {
    hold(dataDir: string, databaseUrl: string | undefined, open: () => Promise<Store>) {
      const key = heldKey(databaseUrl, dataDir);
      const entry: HeldStore = { open };
      held.set(key, entry);
      mine.push({ key, dataDir });
      return () => lease(entry);
    },
  };
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
    const entry = held.get(heldKey(process.env.DATABASE_URL, dataDir));
    const code = await main(['--data', dataDir, ...args], entry ? { ...io, store: () => lease(entry) } : io);
    return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
