import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    globalSetup: ['test/support/pglite-template.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only add PGlite start-up contention. A fresh process per file costs ~2.7 s of
    // start-up and module loading (some 430 of the suite's 1,150 worker-seconds); keeping the workers from
    // file to file (isolate: false) took the suite from 572 s to 438-476 s here, but one CI run on a clean
    // clone then ended in tinypool's "Terminating worker thread" with two files not run, so the files stay
    // isolated until that is understood.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
