import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEmbeddedDatabase, openStore } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';

/**
 * A migrated PGlite data directory made once and copied into every test that needs an embedded store.
 *
 * Why: a new PGlite data directory runs initdb inside WebAssembly and then the migrations, 4-5 s on this
 * 2-core machine when idle and well over 10 s when the suite loads both cores; opening a copy of a
 * migrated directory takes a fraction of that. The template is keyed by the migrations and the PGlite
 * version, kept under the system temp directory between runs, and built afresh when either changes.
 * Tests that want an in-memory store load the template's dump (`loadDataDir`) instead of running initdb.
 *
 * The vitest global setup (`pglite-template.global-setup.ts`) builds it before any test file runs and
 * hands its location to the test processes.
 */

export interface PgliteTemplate {
  /** A migrated, cleanly closed PGlite data directory: copy it, never open it in place. */
  readonly dataDir: string;
  /** The same directory as a tarball, for `memory://` stores. */
  readonly dumpFile: string;
}

/** Builds the template if this run's migrations and PGlite version have none yet. */
export async function ensurePgliteTemplate(): Promise<PgliteTemplate> {
  const root = path.join(tmpdir(), `aupdesk-pglite-template-${await templateKey()}`);
  const template: PgliteTemplate = {
    dataDir: path.join(root, 'pglite'),
    dumpFile: path.join(root, 'pglite.tar'),
  };
  if (await exists(template.dumpFile)) return template;

  // Built beside its final place and renamed in: two test runs starting together never see half of one.
  const building = `${root}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  const store = await openStore({ pgliteDir: path.join(building, 'pglite') });
  await store.close();
  const pglite = await openEmbeddedDatabase(path.join(building, 'pglite'));
  try {
    const dump = await pglite.dumpDataDir('none');
    await writeFile(path.join(building, 'pglite.tar'), new Uint8Array(await dump.arrayBuffer()));
  } finally {
    await pglite.close();
  }
  try {
    await rename(building, root);
  } catch (error) {
    // Another run finished first: its template is as good as ours.
    await rm(building, { recursive: true, force: true });
    if (!(await exists(template.dumpFile))) throw error;
  }
  return template;
}

async function templateKey(): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package exports no ./package.json: read it beside its entry point (dist/index.js).
  const packageJson = path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  const pgliteVersion = (JSON.parse(await readFile(packageJson, 'utf8')) as { version: string }).version;
  const hash = createHash('sha256').update(pgliteVersion);
  const migrationsDir = path.resolve(
    path.dirname(new URL(import.meta.url).pathname),
    '../../src/store/migrations',
  );
  for (const name of Object.keys(migrations)) {
    hash.update(name);
    hash.update(await readFile(path.join(migrationsDir, `${name}.ts`)));
  }
  return hash.digest('hex').slice(0, 16);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
