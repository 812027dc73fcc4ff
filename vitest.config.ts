import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    globalSetup: ['test/support/pglite-template.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores on CI: more workers only add PGlite start-up contention. The two worker processes are kept
    // from file to file (isolate: false): a fresh process per file cost ~2.7 s of start-up and module loading
    // each, about 430 of the suite's 1,150 worker-seconds. Test files therefore leave no global state
    // behind: each opens its own store (its own schema or data directory) and restores any environment
    // variable it sets.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
  },
});
