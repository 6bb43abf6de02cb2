import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Tests never read or fill the user's caches: every run gets a fresh dembed cache, Hugging Face home and XDG cache
// under one temp folder, which tools/vitest-global.ts removes at the end.
const isolated = mkdtempSync(join(tmpdir(), "dembed-test-run-"));
process.env.DEMBED_TEST_RUN_ROOT = isolated;
const hfHome = join(isolated, "hf");

// One vitest run over every workspace package; tests sit beside the code (src/**/*.test.ts)
// and integration suites live in each package's test/ folder.
export default defineConfig({
  test: {
    include: ["packages/*/{src,test}/**/*.test.ts", "apps/*/{src,test}/**/*.test.ts", "benchmarks/{src,test}/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default", "./tools/vitest-summary-reporter.ts"],
    globalSetup: ["./tools/vitest-global.ts"],
    pool: "forks",
    maxWorkers: 2,
    env: {
      // Two test files run at once: one ORT thread each keeps them from contending for the two cores.
      DEMBED_THREADS: "1",
      DEMBED_CACHE: join(isolated, "dembed"),
      HF_HOME: hfHome,
      HF_HUB_CACHE: join(hfHome, "hub"),
      HUGGINGFACE_HUB_CACHE: join(hfHome, "hub"),
      HF_DATASETS_CACHE: join(hfHome, "datasets"),
      XDG_CACHE_HOME: join(isolated, "xdg"),
    },
  },
});
