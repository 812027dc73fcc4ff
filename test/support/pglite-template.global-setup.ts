import type { TestProject } from 'vitest/node';
import { ensurePgliteTemplate } from './pglite-template-build.js';

/**
 * Once per `vitest run`, before any test file: the migrated PGlite template (see pglite-template-build.ts).
 * In-memory stores load its dump (test/support/pglite-template.ts); every new on-disk store, in a test
 * process or in a desk or CLI process a test spawns, is copied from it through AUPDESK_PGLITE_TEMPLATE,
 * which the test processes inherit from this one. Should building it fail, stores initialise as usual.
 */
export default async function setup(project: TestProject): Promise<void> {
  try {
    const template = await ensurePgliteTemplate();
    process.env.AUPDESK_PGLITE_TEMPLATE = template.dataDir;
    project.provide('pgliteTemplate', template);
  } catch (error) {
    process.stderr.write(`pglite template not built, tests initialise their own stores: ${String(error)}\n`);
    project.provide('pgliteTemplate', null);
  }
}
