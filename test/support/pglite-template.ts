import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { openStore, type Store } from '../../src/store/database.js';
import type { PgliteTemplate } from './pglite-template-build.js';

/**
 * Test-side use of the migrated PGlite template (built once per run, pglite-template-build.ts): in-memory
 * stores load its dump. (New on-disk stores are copied from it by openStore itself, through
 * AUPDESK_PGLITE_TEMPLATE, which the global setup sets for every test process and its children.)
 */

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: PgliteTemplate | null;
  }
}

let dumpBlob: Promise<Blob | undefined> | undefined;

/** The template's dump, read once per test process; undefined outside vitest's global setup. */
function templateDump(): Promise<Blob | undefined> {
  dumpBlob ??= (async () => {
    const template = inject('pgliteTemplate');
    if (!template) return undefined;
    return new Blob([new Uint8Array(await readFile(template.dumpFile))]);
  })();
  return dumpBlob;
}

/** An in-memory embedded store, migrated: loaded from the template rather than initialised. */
export async function openMemoryStore(): Promise<Store> {
  const dump = await templateDump();
  return openStore({ pgliteDir: 'memory://', ...(dump ? { pgliteLoadDataDir: dump } : {}) });
}
