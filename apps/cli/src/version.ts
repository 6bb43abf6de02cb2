import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** `dembed --version`: what a bug report needs — the package version, the git commit, the onnxruntime version. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const here = fileURLToPath(new URL(".", import.meta.url));
  const git = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: here, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: here, encoding: "utf8" });
  const commit = git.status === 0 ? `${git.stdout.trim()}${dirty.stdout.trim() === "" ? "" : " (modified)"}` : "unknown (not a git checkout)";
  let ort = "not installed";
  try {
    const fromOnnx = createRequire(fileURLToPath(import.meta.resolve("@dembed/onnx")));
    ort = (JSON.parse(readFileSync(fromOnnx.resolve("onnxruntime-node/package.json"), "utf8")) as { version: string }).version;
  } catch {
    // reported as not installed
  }
  return `dembed ${pkg.version}\ncommit ${commit}\nonnxruntime-node ${ort}\nnode ${process.versions.node}\n`;
}
