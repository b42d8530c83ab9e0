import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel processes; each test starts its own servers on ephemeral ports.
    pool: 'forks',
    maxWorkers: 2,
  },
});
