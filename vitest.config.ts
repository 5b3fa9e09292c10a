import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: one test file per core. Engine state (the TFJS backend) is per process.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
