import { defineConfig } from 'vitest/config';

// `npm run soak`: the long-running soak test, kept out of the default suite (its files are not *.test.ts).
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
  },
});
