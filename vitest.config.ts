import { configDefaults, defineConfig } from 'vitest/config'

// The AWS SDK warns once per process that its 2027 releases will need Node 22; on Node 20 (our
// engine) that repeats in every worker and buries test output. Workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

export default defineConfig({
  test: {
    // Integration tests start processes and wait for the JVM; unit tests finish long before.
    testTimeout: 20_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
    // Two cores, shared with the DynamoDB Local JVM: more workers only add contention.
    pool: 'forks',
    maxWorkers: 2,
    // Two projects so that a unit-only run never starts the JVM: Vitest runs a project's
    // globalSetup only when at least one of its files is selected.
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
          // One in-memory DynamoDB Local per run, shared by every file through inject().
          globalSetup: 'test/global-setup.ts',
        },
      },
    ],
  },
})
