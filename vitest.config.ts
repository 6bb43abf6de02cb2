import { defineConfig } from "vitest/config";

// One vitest run over every workspace package; tests sit beside the code (src/**/*.test.ts)
// and integration suites live in each package's test/ folder.
export default defineConfig({
  test: {
    include: ["packages/*/{src,test}/**/*.test.ts", "apps/*/{src,test}/**/*.test.ts", "benchmarks/{src,test}/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default", "./tools/vitest-summary-reporter.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Two test files run at once: one ORT thread each keeps them from contending for the two cores.
    env: { DEMBED_THREADS: "1" },
  },
});
