import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    globalSetup: ['test/support/pglite-template.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Three worker processes on two cores: files that wait (desks and CLIs in child processes, SMTP and HTTP
    // round trips) leave a core idle that a third worker fills (whole suite on both stores 476 s with two,
    // 438 s with three, the same machine and hour). The workers are kept from file
    // to file (isolate: false): a fresh process per file cost ~2.7 s of start-up and module loading each,
    // about 430 of the suite's 1,150 worker-seconds. Test files therefore leave no global state behind:
    // each opens its own store (its own schema or data directory) and restores any environment variable
    // it sets.
    poolOptions: { forks: { maxForks: 3, minForks: 1, isolate: false } },
  },
});
