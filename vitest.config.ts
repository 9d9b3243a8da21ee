import { defineConfig } from 'vitest/config';

const lab = { globalSetup: ['test/lab/global-setup.ts'], fileParallelism: false, hookTimeout: 900_000 };

// Two projects: pure unit tests run anywhere; *.lab.test.ts need root and run against the two-node lab.
// `npm run test:faults` (PGDX_FAULTS=1) adds a third: the whole fault-injection suite, about an hour.
// `npm run test:versions` (PGDX_VERSIONS=1) adds every pair of PostgreSQL majors, each on a lab of its own.
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
          ...lab,
          testTimeout: 120_000,
        },
      },
      ...(process.env.PGDX_FAULTS === '1'
        ? [{ test: { name: 'faults', include: ['test/faults/*.faults.ts'], ...lab, testTimeout: 1_800_000 } }]
        : []),
      ...(process.env.PGDX_VERSIONS === '1'
        ? [
            {
              test: {
                name: 'versions',
                include: ['test/coordinator/versions/*.versions.ts'],
                ...lab,
                globalSetup: ['test/coordinator/versions/global-setup.ts'],
                testTimeout: 600_000,
              },
            },
          ]
        : []),
    ],
  },
});
