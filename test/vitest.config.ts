import { defineConfig } from 'vitest/config';

// Test files run in separate processes (forks): servers, agents and stores
// each get their own tmp dirs, so files may run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', '**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.test-results.json' }]],
  },
});
