/**
 * Hostile sizes, measured end to end through the real CLI: a 10 MB JSONL line with no whitespace through
 * `dembed embed --model tiny`, and a config.json with num_hidden_layers 1e9. Prints wall time and peak RSS of each
 * child process (GNU time); asserts nothing. Targets: the long line in ≤ 5 s at ≤ 1 GB; the config refused at once.
 *
 *   npx tsx benchmarks/scripts/runaway-input.ts [--mb 10]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createTinyModel } from "@dembed/models";

const REPO = new URL("../..", import.meta.url).pathname;
const CLI = join(REPO, "apps/cli/src/main.ts");
const mbIndex = process.argv.indexOf("--mb");
const megabytes = mbIndex >= 0 ? Number(process.argv[mbIndex + 1]) : 10;
const dir = mkdtempSync(join(tmpdir(), "dembed-runaway-"));

function measure(label: string, args: string[]): void {
  const started = performance.now();
  const child = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, "--import", "tsx", CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, DEMBED_CACHE: join(dir, "cache") },
    encoding: "utf8",
  });
  const seconds = (performance.now() - started) / 1000;
  const lines = child.stderr.trim().split("\n");
  const peakKiB = Number(lines.at(-1));
  console.log(`${label.padEnd(40)} exit ${child.status}, ${seconds.toFixed(2)} s wall, peak RSS ${(peakKiB / 2 ** 20).toFixed(2)} GiB`);
  console.log(`  says: ${lines.slice(0, -1).filter((l) => l.startsWith("dembed") || l.startsWith("embed")).join(" | ").slice(0, 300)}`);
}

try {
  console.log(`runaway inputs — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const input = join(dir, "long.jsonl");
  writeFileSync(input, `${JSON.stringify({ id: "long", text: "x".repeat(megabytes * 2 ** 20) })}\n`);
  measure("warm-up (tiny model generated)", ["embed", "--model", "tiny", "--input", input, "--out", join(dir, "warm.jsonl"), "--no-progress"]);
  measure(`embed: one ${megabytes} MB line, max 512`, ["embed", "--model", "tiny", "--input", input, "--out", join(dir, "out.jsonl"), "--no-progress"]);

  const model = await createTinyModel("qwen2", join(dir, "huge-config"), { seed: 0 });
  const configFile = join(model, "config.json");
  writeFileSync(configFile, JSON.stringify({ ...(JSON.parse(readFileSync(configFile, "utf8")) as object), num_hidden_layers: 1e9 }));
  writeFileSync(join(dir, "one.jsonl"), '"hello"\n');
  measure("embed: num_hidden_layers 1e9", ["embed", "--model", model, "--input", join(dir, "one.jsonl"), "--out", join(dir, "x.jsonl"), "--no-progress"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
