import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { Kysely, type MigrationResultSet, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { AupError } from '../errors.js';
import { acquireEmbeddedStoreLock, type EmbeddedStoreLock } from './embedded-store-lock.js';
import { migrations } from './migrations/index.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';
import { StorableTextDialect } from './store-safe-text.js';

export type StoreKind = 'pglite' | 'postgres';

export interface StoreOptions {
  /**
   * PostgreSQL server URL. When absent the embedded PGlite store is used.
   */
  readonly databaseUrl?: string | undefined;
  /**
   * PGlite data directory, or `memory://` for a throw-away in-memory database (tests).
   * Ignored when `databaseUrl` is set.
   */
  readonly pgliteDir?: string;
  /**
   * PGlite only: a data directory dump (`dumpDataDir()`) to start from instead of running initdb, for a
   * new directory or `memory://`. Tests load a migrated template this way (initdb is seconds of WASM).
   */
  readonly pgliteLoadDataDir?: Blob;
  /**
   * PGlite only: a migrated, cleanly closed data directory that a NEW on-disk store is copied from
   * instead of running initdb (seconds of WASM per store). Default: `AUPDESK_PGLITE_TEMPLATE`. The test
   * suite sets it to a template built once per run, so every CLI and serve test, in process or a child,
   * starts from a copy; an existing store is never touched by it.
   */
  readonly pgliteTemplateDir?: string | undefined;
  /**
   * PGlite only: an embedded database already open (`openEmbeddedDatabase`), lent to this store. Closing
   * the store ends its use of it and leaves it open for its owner: the test suite lends one in-memory
   * database to store after store, resetting it in between, instead of starting PostgreSQL in WebAssembly
   * for each (test/support/pglite-template.ts).
   */
  readonly pgliteLent?: PGlite;
  /**
   * PostgreSQL only: the schema to work in (created if missing). Tests use a fresh one per file.
   */
  readonly schema?: string;
  /** Run pending migrations on open (default true: "automatic on start"). */
  readonly migrate?: boolean;
  /** PostgreSQL pool size. */
  readonly poolSize?: number;
}

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /**
   * True when this process has the store to itself (the embedded store, held under its lock): every claim
   * (lease) found in it was left by a process that is gone. False on PostgreSQL, shared by any number of
   * processes.
   */
  readonly exclusive: boolean;
  /** Apply pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  /**
   * Calls `onNotify` whenever a transaction that ran `notifyWork(trx)` commits, in any process sharing the
   * store (PostgreSQL `LISTEN` on a connection of its own, re-established after it drops). Resolves once
   * listening, to a function that stops. On the embedded store, which one process holds, it never calls:
   * the stages of that process wake each other directly.
   */
  listenForWork(onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * Tells the processes listening (`Store.listenForWork`) that committed work waits for them, when `trx`
 * commits (PostgreSQL delivers a NOTIFY at commit, never for a rolled-back transaction). Nobody listens on
 * the embedded store; the statement is harmless there.
 */
export async function notifyWork(trx: Kysely<Database>): Promise<void> {
  await sql`select pg_notify('aupdesk_work_' || left(coalesce(current_schema(), 'public'), 40), '')`.execute(
    trx,
  );
}

/** One channel per schema (as notifyWork names it): test schemas sharing a server do not wake each other. */
function workChannel(schema: string | null): string {
  return `aupdesk_work_${(schema ?? 'public').slice(0, 40)}`;
}

async function currentSchema(db: Kysely<Database>): Promise<string | null> {
  const rows = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows.rows[0]?.schema ?? null;
}

/**
 * LISTEN on a client of its own (a pooled connection cannot hold a LISTEN). When the connection drops (a
 * server restart), it reconnects after a pause and wakes the listener once, since notifications sent in
 * between were lost; until then the listener's own poll covers.
 */
async function listenPostgres(
  url: string,
  schema: string | undefined,
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: url,
      ...(schema ? { options: `-c search_path=${schema},public` } : {}),
    });
    c.on('notification', () => onNotify());
    c.on('error', () => {
      c.end().catch(() => undefined);
      reconnect();
    });
    await c.connect();
    await c.query(`listen "${channel.replace(/"/g, '""')}"`);
    client = c;
  };
  const reconnect = (): void => {
    if (stopped) return;
    retry = setTimeout(() => {
      connect().then(onNotify, reconnect);
    }, 1_000);
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}

const MIGRATION_TABLE = 'aupdesk_migration';
const MIGRATION_LOCK_TABLE = 'aupdesk_migration_lock';

/**
 * The one store factory: everything else receives a `Store` and never asks which backend it is.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { db, kind, lock } = options.databaseUrl
    ? {
        ...(await openPostgres(options.databaseUrl, options.schema, options.poolSize ?? 10)),
        lock: undefined,
      }
    : options.pgliteLent
      ? { db: embeddedKysely(options.pgliteLent, { lent: true }), kind: 'pglite' as const, lock: undefined }
      : await openPGlite(
          options.pgliteDir ?? 'memory://',
          options.pgliteLoadDataDir,
          'pgliteTemplateDir' in options ? options.pgliteTemplateDir : process.env.AUPDESK_PGLITE_TEMPLATE,
        );
  const close = async (): Promise<void> => {
    try {
      await db.destroy();
    } finally {
      await lock?.release();
    }
  };

  const store: Store = {
    db,
    kind,
    exclusive: kind === 'pglite',
    migrate: () => migrateToLatest(db, options.schema),
    listenForWork: async (onNotify) =>
      options.databaseUrl && kind === 'postgres'
        ? listenPostgres(options.databaseUrl, options.schema, workChannel(await currentSchema(db)), onNotify)
        : async () => undefined,
    close,
  };
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (error) {
      await close();
      throw error;
    }
  }
  return store;
}

/** Directory of the embedded database inside the aupdesk data directory. */
export function pgliteDirFor(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

/**
 * Starts the embedded PostgreSQL (with the extensions the migrations need) on a data directory, or
 * `memory://`, optionally loaded from a dump instead of running initdb. No lock, no migrations:
 * `openStore` adds those.
 */
export function openEmbeddedDatabase(dir: string, loadDataDir?: Blob): Promise<PGlite> {
  return PGlite.create(dir, { extensions: { btree_gist }, ...(loadDataDir ? { loadDataDir } : {}) });
}

/** Kysely over an embedded database, owned (closed with it) or lent. */
function embeddedKysely(pglite: PGlite, options: { readonly lent?: boolean } = {}): Kysely<Database> {
  return new Kysely<Database>({ dialect: new StorableTextDialect(new PGliteDialect(pglite, options)) });
}

async function openPGlite(
  dir: string,
  loadDataDir: Blob | undefined,
  templateDir: string | undefined,
): Promise<{ db: Kysely<Database>; kind: StoreKind; lock: EmbeddedStoreLock | undefined }> {
  const inMemory = dir.startsWith('memory://');
  let lock: EmbeddedStoreLock | undefined;
  if (!inMemory) {
    const resolved = path.resolve(dir);
    await mkdir(resolved, { recursive: true });
    // Before PGlite touches the directory: it would open it beside another process without complaint.
    lock = await acquireEmbeddedStoreLock(resolved);
    if (templateDir && !loadDataDir && (await readdir(resolved)).length === 0) {
      await cp(templateDir, resolved, { recursive: true });
    }
  }
  let pglite: PGlite;
  try {
    pglite = await openEmbeddedDatabase(dir, loadDataDir);
  } catch (error) {
    await lock?.release();
    throw new AupError('AUP_ERR_STORE_UNAVAILABLE', `cannot open the embedded database at ${dir}`, {
      cause: error,
    });
  }
  return {
    db: embeddedKysely(pglite),
    kind: 'pglite',
    lock,
  };
}

async function openPostgres(
  url: string,
  schema: string | undefined,
  poolSize: number,
): Promise<{ db: Kysely<Database>; kind: StoreKind }> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new AupError('AUP_ERR_CONFIG_INVALID', `schema name "${schema}" must match [a-z_][a-z0-9_]*`);
  }
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    try {
      await admin.connect();
      await admin.query(`create schema if not exists ${schema}`);
    } catch (error) {
      // Processes started together on a fresh schema race here: "if not exists" still lets a concurrent
      // creator win with a unique violation (23505) or duplicate_schema (42P06). The schema exists then.
      const code = (error as { code?: unknown }).code;
      if (code !== '23505' && code !== '42P06') {
        throw new AupError('AUP_ERR_STORE_UNAVAILABLE', `cannot reach PostgreSQL at ${redactUrl(url)}`, {
          cause: error,
        });
      }
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Extensions such as btree_gist live in public; a test schema still sees them.
    ...(schema ? { options: `-c search_path=${schema},public` } : {}),
  });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new StorableTextDialect(new PostgresDialect({ pool })) });
  let current: string | null;
  try {
    current = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]!
      .schema;
  } catch (error) {
    await db.destroy();
    throw new AupError('AUP_ERR_STORE_UNAVAILABLE', `cannot reach PostgreSQL at ${redactUrl(url)}`, {
      cause: error,
    });
  }
  if (current === null) {
    // A search_path (from the URL's options or the role's settings) naming only schemas that do not exist:
    // the migrations would fail on their first table with a message that hides why.
    await db.destroy();
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      'PostgreSQL has no schema to work in: its search_path names none that exists; create the schema, or ' +
        'name it in AUPDESK_DB_SCHEMA (created if missing)',
    );
  }
  return { db, kind: 'postgres' };
}

async function migrateToLatest(db: Kysely<Database>, schema: string | undefined): Promise<string[]> {
  if (await upToDate(db, schema)) return [];
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let result: MigrationResultSet = await migrator.migrateToLatest();
  for (let attempt = 1; attempt < 8 && droppedUnderTheIntrospector(result, schema); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    result = await migrator.migrateToLatest();
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    // No failed migration means the migrator could not start (no schema to create its tables in, no
    // permission): the database's own words are then all the operator has to go on.
    throw new AupError(
      'AUP_ERR_STORE_MIGRATION_FAILED',
      failed ? `migration ${failed} failed: ${reason}` : `the migrations could not start: ${reason}`,
      { cause: result.error, details: { migration: failed ?? null } },
    );
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The Migrator could not start because ANOTHER schema's objects vanished while its introspector listed every
 * table and column of every schema: another desk or test run dropping its own between the catalogue scan's
 * steps. PostgreSQL then names what vanished: a schema (3F000), a table (42P01), a column of a table being
 * dropped (42703, from `pg_get_serial_sequence`, seen in a test run), or a relation whose catalogue entry went
 * (XX000, "cache lookup failed" / "could not open relation"). Nothing of ours went wrong — no migration ran —
 * and the same call a moment later succeeds. An error naming our own schema is never taken for this.
 */
export function droppedUnderTheIntrospector(result: MigrationResultSet, schema: string | undefined): boolean {
  if (!result.error || result.results?.some((r) => r.status === 'Error')) return false;
  const error = result.error as { code?: unknown; message?: unknown };
  if (typeof error.message !== 'string') return false;
  const vanished =
    error.code === '3F000' ||
    error.code === '42P01' ||
    error.code === '42703' ||
    (error.code === 'XX000' && /cache lookup failed|could not open relation/.test(error.message));
  return vanished && (schema === undefined || !error.message.includes(`"${schema}"`));
}

/**
 * True when the migrations table lists exactly the migrations this build knows: nothing to do. Checked
 * before Kysely's Migrator, which asks whether its tables exist through the introspector, and that lists
 * every table and column of every schema on the server: seconds on a server with many schemas (a shared
 * PostgreSQL, a test database), paid by every CLI command. Anything else (no table yet, a migration
 * missing, one this build does not know) goes to the Migrator, which applies or refuses it.
 */
async function upToDate(db: Kysely<Database>, schema: string | undefined): Promise<boolean> {
  const table = schema ? sql.table(`${schema}.${MIGRATION_TABLE}`) : sql.table(MIGRATION_TABLE);
  let applied: string[];
  try {
    applied = (await sql<{ name: string }>`select name from ${table}`.execute(db)).rows.map((r) => r.name);
  } catch {
    return false;
  }
  const known = Object.keys(migrations);
  return applied.length === known.length && known.every((name) => applied.includes(name));
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
