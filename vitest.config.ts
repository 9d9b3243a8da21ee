import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests run anywhere; *.lab.test.ts need root and run against the two-node lab.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.lab.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/**/*.lab.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
