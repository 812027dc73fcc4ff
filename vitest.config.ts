import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    globalSetup: ['test/support/pglite-template.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two worker processes (two cores), kept from file to file (isolate: false): a fresh process per file
    // cost ~2.7 s of start-up and module loading each, some 430 of the suite's 1,150 worker-seconds (the
    // whole suite on both stores: 572 s isolated, 476 s shared, the same machine and hour). minForks equals
    // maxForks: below it tinypool ends an idle worker at once, and with shared workers that raced a file
    // being handed to it (a clean-clone run with minForks 1 ended in "Terminating worker thread", two
    // files not run). Test files therefore leave no global state behind: each opens its own store (its own
    // schema or data directory) and restores any environment variable it sets.
    poolOptions: { forks: { maxForks: 2, minForks: 2, isolate: false } },
  },
});
