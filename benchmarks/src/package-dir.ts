import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let root: string | undefined;
/**
 * A file of this package (assets/, package.json), found through the package's own name rather than relative to
 * import.meta.url: the built CLI bundles this code into apps/cli/dist, where `../../assets` would miss.
 */
export function packageFile(...parts: string[]): string {
  root ??= dirname(createRequire(import.meta.url).resolve("@dembed/benchmarks/package.json"));
  return join(root, ...parts);
}
