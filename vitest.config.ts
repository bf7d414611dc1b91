import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    // Tests start real loopback servers; two workers match this 2-core machine.
    maxWorkers: 2,
  },
})
