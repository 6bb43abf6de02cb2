// What the job queue costs and gains: `dembed embed` on one corpus run three ways, each from an empty cache, as the
// user runs them (whole CLI processes, model loading included):
//   single   one process, every core (the anchor, measured in the same run)
//   queue×1  --queue with 1 local worker, every core: the difference to `single` is the queue's overhead
//   queue×2  --queue with 2 local workers, half the cores each: equal total cores, data-parallel instead of threads
// Prints wall seconds, texts/s, tokens/s, peak RSS of the largest process, the queue's overhead per shard, and, for the
// 0.5B shape, the fraction of the machine's matmul ceiling (matmul-ceiling.ts) the run reaches.
//   npx tsx benchmarks/scripts/queue-speed.ts [--model tiny|qwen2-0.5b] [--docs 1000] [--words 120]
//                                             [--runs single,queue1,queue2,small] [--repeat 1]
// --repeat N runs the chosen runs N times, interleaved (single, queue1, single, queue1, …), and compares means: on a VM
// whose speed drifts, pairs taken side by side are what make a few-percent overhead visible.
// Needs redis-server (apt-get install redis-server); the script starts its own on a free loopback port.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dembedCacheDir, ensureTinyModel, loadTokenizer } from "@dembed/models";
import { matmulCeiling } from "./matmul-ceiling.js";
import { QWEN2_05B, ensureQwen05b } from "./qwen-0.5b.js";


const { values } = parseArgs({
  options: {
    model: { type: "string", default: "tiny" },
    docs: { type: "string", default: "1000" },
    words: { type: "string", default: "120" },
    "batch-size": { type: "string", default: "8" },
    runs: { type: "string", default: "single,queue1,queue2,small" },
    repeat: { type: "string", default: "1" },
  },
});
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repoRoot, "apps/cli/bin/dembed.mjs");
const work = mkdtempSync(join(tmpdir(), "dembed-queue-speed-"));
const cores = availableParallelism();

function words(seed: number, n: number): string {
  const vocab = ["queue", "shard", "worker", "vector", "passage", "retrieval", "model", "token", "corpus", "redis", "embedding", "diffusion", "attention", "layer"];
  let s = seed * 2654435761;
  return Array.from({ length: n }, () => vocab[(s = (s * 1103515245 + 12345) >>> 0) % vocab.length]).join(" ");
}

async function modelDir(): Promise<string> {
  if (values.model === "tiny") return "tiny";
  if (values.model !== "qwen2-0.5b") throw new Error(`--model: tiny or qwen2-0.5b, got ${values.model}`);
  return ensureQwen05b();
}

interface Run {
  label: string;
  seconds: number;
  peakRssGiB: number;
  shards: number;
}

/** One CLI run under /usr/bin/time (peak RSS of the largest process in its tree). */
function run(label: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("/usr/bin/time", ["-f", "%M", process.execPath, cli, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${label} failed:\n${err}`));
      const lines = err.trim().split("\n");
      const shards = Number(/queue: (\d+) shards done/.exec(err)?.[1] ?? 0);
      resolve({ label, seconds, peakRssGiB: Number(lines.at(-1)) / 2 ** 20, shards });
    });
  });
}

async function main(): Promise<void> {
  const model = await modelDir();
  const docs = Number(values.docs);
  const texts = Array.from({ length: docs }, (_, i) => `document ${i}: ${words(i + 1, Number(values.words))}`);
  const input = join(work, "in.jsonl");
  writeFileSync(input, texts.map((t, i) => JSON.stringify({ id: i, text: t })).join("\n"));
  const tokenizer = await loadTokenizer(model === "tiny" ? await ensureTinyModel("Dream", dembedCacheDir()) : model);
  const tokens = texts.reduce((n, t) => n + tokenizer.encode(t).length, 0);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  const common = ["embed", "--model", model, "--input", input, "--no-progress", "--batch-size", values["batch-size"]!];
  const queue = `redis://127.0.0.1:${port}`;
  console.log(`${values.model}, ${docs} docs × ${values.words} words (${tokens} tokens), ${cores} cores; load before: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  const chosen = values.runs!.split(",");
  const known = ["single", "queue1", "queue2", "small"];
  const unknown = chosen.filter((r) => !known.includes(r));
  if (unknown.length > 0 || !chosen.includes("single")) throw new Error(`--runs: a list of ${known.join(", ")} that includes single; got ${values.runs}`);
  const repeat = Number(values.repeat);
  // Many small shards: the time per extra shard is the queue's cost per shard, apart from start-up.
  const small = String(2 * Number(values["batch-size"]));
  const variants: Record<string, { label: string; args: (n: number) => string[] }> = {
    single: { label: "single", args: (n) => ["--out", join(work, `single-${n}.jsonl`)] },
    queue1: { label: "queue×1", args: (n) => ["--out", join(work, `q1-${n}.jsonl`), "--cache", join(work, `c1-${n}`), "--queue", queue, "--workers", "1"] },
    queue2: { label: "queue×2", args: (n) => ["--out", join(work, `q2-${n}.jsonl`), "--cache", join(work, `c2-${n}`), "--queue", queue, "--workers", "2"] },
    small: { label: "queue×1 small shards", args: (n) => ["--out", join(work, `q3-${n}.jsonl`), "--cache", join(work, `c3-${n}`), "--queue", queue, "--workers", "1", "--shard-texts", small] },
  };
  const runs = new Map<string, Run[]>(chosen.map((r) => [r, []]));
  try {
    for (let n = 0; n < repeat; n++) {
      for (const r of chosen) {
        const result = await run(variants[r]!.label, [...common, ...variants[r]!.args(n)], {});
        runs.get(r)!.push(result);
        console.log(`  ${result.label} #${n + 1}: ${result.seconds.toFixed(1)} s (load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
      }
    }
  } finally {
    redis.kill();
  }
  const reference = readFileSync(join(work, "single-0.jsonl"));
  for (const [r, list] of runs) {
    list.forEach((_, n) => {
      const file = join(work, `${{ single: "single", queue1: "q1", queue2: "q2", small: "q3" }[r]}-${n}.jsonl`);
      if (!readFileSync(file).equals(reference)) console.log(`WARNING: ${r} #${n + 1}'s output differs from the single-process run`);
    });
  }
  const mean = (list: Run[], f: (r: Run) => number) => list.reduce((s, r) => s + f(r), 0) / list.length;
  const ceiling = values.model === "tiny" ? undefined : await matmulCeiling(cores, 1);
  const flopsPerToken = 2 * QWEN2_05B.num_hidden_layers * (896 * (896 + 128 + 128 + 896) + 3 * 896 * 4864);
  console.log(`run                    seconds${repeat > 1 ? ` (mean of ${repeat})` : ""}   texts/s   tokens/s   peak RSS   vs single` + (ceiling ? "   of ceiling" : ""));
  const single = mean(runs.get("single")!, (r) => r.seconds);
  for (const [r, list] of runs) {
    const seconds = mean(list, (x) => x.seconds);
    const tps = tokens / seconds;
    const frac = ceiling ? `   ${((100 * tps * flopsPerToken) / 1e9 / ceiling).toFixed(0).padStart(9)}%` : "";
    const spread = list.length > 1 ? ` (${list.map((x) => x.seconds.toFixed(1)).join(" / ")})` : "";
    console.log(`${variants[r]!.label.padEnd(21)} ${seconds.toFixed(1).padStart(8)} ${(docs / seconds).toFixed(1).padStart(9)} ${tps.toFixed(0).padStart(10)} ${`${Math.max(...list.map((x) => x.peakRssGiB)).toFixed(2)} GiB`.padStart(10)} ${`${(single / seconds).toFixed(2)}×`.padStart(11)}${frac}${spread}`);
  }
  const q1 = runs.get("queue1");
  if (q1) {
    const q1Seconds = mean(q1, (r) => r.seconds);
    console.log(`queue overhead (queue×1 − single): ${(q1Seconds - single).toFixed(2)} s, ${((100 * (q1Seconds - single)) / single).toFixed(1)}% of single`);
    const q3 = runs.get("small");
    if (q3 && mean(q3, (r) => r.shards) <= mean(q1, (r) => r.shards)) console.log(`  per shard: not measured (small shards made no more shards than the default at ${docs} docs)`);
    else if (q3) {
      const perShard = (mean(q3, (r) => r.seconds) - q1Seconds) / Math.max(1, mean(q3, (r) => r.shards) - mean(q1, (r) => r.shards));
      const fixed = q1Seconds - single - perShard * mean(q1, (r) => r.shards);
      console.log(`  per shard: ${(1000 * perShard).toFixed(1)} ms (${q3[0]!.shards} vs ${q1[0]!.shards} shards); fixed (worker start, model load beside the coordinator's, stop): ${fixed.toFixed(2)} s`);
    }
    const q2 = runs.get("queue2");
    if (q2) console.log(`2 workers vs 1 (equal cores): ${(q1Seconds / mean(q2, (r) => r.seconds)).toFixed(2)}×`);
  }
  console.log(`load after: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  if (ceiling) console.log(`matmul ceiling: ${ceiling.toFixed(1)} GFLOP/s (${cores} threads)`);
  rmSync(work, { recursive: true, force: true });
}

await main();
