import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    // And the run's PostgreSQL test schemas, dropped at its end.
    globalSetup: ['test/support/pglite-template.global-setup.ts', 'test/support/pg-schemas.global-setup.ts'],
    // Passwords hashed at a test cost (src/accounts/password-hasher.ts: only with NODE_ENV=test, which vitest
    // sets): the suite's ~350 hashes and logins cost about half a minute of CPU at the production cost.
    env: { AUPDESK_TEST_PASSWORD_HASH: 'fast' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Worker processes kept from file to file (isolate: false): a fresh process per file
    // cost ~2.7 s of start-up and module loading each, some 430 of the suite's 1,150 worker-seconds (the
    // whole suite on both stores: 572 s isolated, 476 s shared, the same machine and hour).
    // minForks equals maxForks: tinypool ends a worker that is idle while more than minForks run (its
    // idleTimeout is 0), and a clean-clone run with shared workers and minForks 1 ended in its "Terminating
    // worker thread" with two files not run; a task handed to a worker being ended is the likely race.
    // Test files therefore leave no global state behind: each opens its own store (its own schema or data
    // directory, or an in-memory database reset to the template: test/support/pglite-template.ts) and
    // restores any environment variable it sets.
    //
    // Three of them on the two cores: part of the suite waits (on child processes, on PostgreSQL, on the
    // browser), and a third worker fills those waits. Whole suite on both stores, a two-core Intel Xeon, the
    // same commit minutes apart: 330 s with two workers and 308 s with three, at the same CPU time (7 min 12 s
    // and 7 min 13 s of user time); an hour before, on the commit before: 310 s and 303 s.
    poolOptions: { forks: { maxForks: 3, minForks: 3, isolate: false } },
  },
});
