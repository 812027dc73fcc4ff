import { type AppConfig, loadConfig } from '../config.js';
import { openStore, pgliteDirFor, type Store } from '../store/database.js';

/**
 * What every CLI command may need: the configuration and a way to open the store. Commands open the store
 * lazily so pure commands (policy validate/render/diff, parse) never start a database.
 */
export interface CliContext {
  readonly config: AppConfig;
  openStore(): Promise<Store>;
  /** Output streams, injectable for tests. */
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Standard input, injectable for tests (`--password-stdin`). */
  readonly in: NodeJS.ReadableStream;
}

export function createCliContext(options: {
  dataDir?: string;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  in?: NodeJS.ReadableStream | undefined;
  /** A store the embedding process holds (MainOptions.store), used instead of opening the configured one. */
  store?: (() => Promise<Store>) | undefined;
}): CliContext {
  const config = loadConfig(process.env, options.dataDir ? { dataDir: options.dataDir } : {});
  return {
    config,
    out: options.out ?? process.stdout,
    err: options.err ?? process.stderr,
    in: options.in ?? process.stdin,
    openStore:
      options.store ??
      (() =>
        openStore({
          databaseUrl: config.databaseUrl,
          pgliteDir: pgliteDirFor(config.dataDir),
          ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
        })),
  };
}
