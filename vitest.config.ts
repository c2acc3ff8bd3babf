import { defineConfig } from 'vitest/config';

/**
 * One test command for the whole repo, in three projects:
 *   unit         pure logic next to the code (`src/**\/*.test.ts`) and static checks of the k6 scripts and the
 *                deploy files (docker-compose.yml, deploy/k8s), no I/O
 *   integration  one subgraph in-process (`createServer` on port 0) against real MariaDB/Redis/RabbitMQ,
 *                and `tests/deploy/*.live.test.ts`: deploy settings tried on a real server of the test's own
 *   e2e          the whole supergraph through the router, services as real child processes
 * Integration files run in parallel (each uses its own databases); e2e files run one at a time
 * because each starts a full stack and some of them kill services on purpose.
 */
export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'tests/.reports/vitest.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: [
            'packages/*/src/**/*.test.ts',
            'subgraphs/*/src/**/*.test.ts',
            'router/src/**/*.test.ts',
            'schema/src/**/*.test.ts',
            'tests/load/**/*.test.ts',
            'tests/deploy/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', '**/*.live.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: [
            'packages/*/test/**/*.test.ts',
            'subgraphs/*/test/**/*.test.ts',
            'schema/test/**/*.test.ts',
            'router/test/**/*.test.ts',
            'tests/deploy/**/*.live.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
