import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated PGlite data directory, copied by every test that needs an embedded store.
    globalSetup: ['test/support/pglite-template.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores on CI: more workers only add PGlite start-up contention.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
