import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One DynamoDB Local + one fauxqs for the whole run; each test file provisions its own
    // tables and queues under a unique prefix, so files never see each other's data.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Powertools as the local runtime runs it: no EMF lines or traces. Handlers run in process by
    // unit tests log errors only; the e2e runtime sets its own level (LOG_LEVEL, default WARN).
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
