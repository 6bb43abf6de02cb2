import { rmSync } from "node:fs";

// Removes the run's private cache folder (made in vitest.config.ts) once every test file is done.
export default function setup(): () => void {
  return () => {
    const root = process.env.DEMBED_TEST_RUN_ROOT;
    if (root !== undefined && root.includes("dembed-test-run-")) rmSync(root, { recursive: true, force: true });
  };
}
