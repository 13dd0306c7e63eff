import { defineConfig } from 'vitest/config';

/**
 * The browser journeys (tests/e2e, `npm run test:e2e`) take minutes and need Chromium: they are a project
 * only when PN_E2E is set (scripts/test-e2e.sh sets it), so `vitest run` and `npm test` leave them out.
 */
const e2e = process.env['PN_E2E']
  ? [
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node' as const,
          testTimeout: 240_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['tests/integration/global-setup.ts'],
        },
      },
    ]
  : [];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['tests/integration/global-setup.ts'],
        },
      },
      ...e2e,
    ],
  },
});
