// How long dembed takes to answer one query from a shell, beside transformers.js's pipeline('feature-extraction') on
// the same model exported by `dembed export` (fp32, mean pooling, normalized, the same thread count):
// - cold start: a new process printing `dembed --help` (built CLI, and the tsx sources for comparison) against bare
//   `node -e 0` measured in the same run (the anchor), and the time to import each library;
// - session create, cold and warm: the first model load in a process (libraries already imported, files in the OS
//   page cache) and a second one after disposing the first; each followed by one embedding;
// - time to first embedding, end to end: a new process that embeds one short text and exits (`dembed embed`, and a
//   node script doing the same with the pipeline), with its peak RSS.
// Each figure is the median of --runs new processes. The machine is shared: the load average is printed beside them.
//   npx tsx benchmarks/scripts/latency.ts [--model tiny:qwen2] [--runs 5] [--threads N] [--dir <scratch folder>]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "tiny:qwen2" },
    runs: { type: "string", default: "5" },
    threads: { type: "string", default: String(availableParallelism()) },
    dir: { type: "string", default: join(tmpdir(), "dembed-latency") },
    child: { type: "string" },
    "model-dir": { type: "string" },
  },
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const TEXT = "What is the capital of France?";
const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BENCHMARKS = join(REPO, "benchmarks");
const CLI = join(REPO, "apps/cli/bin/dembed.mjs");

interface Phases {
  importMs?: number;
  coldMs: number;
  firstEmbedMs: number;
  warmMs: number;
  warmEmbedMs: number;
}

/** In-process phases of dembed (run under tsx; @huggingface/transformers, which tokenizing imports, is imported first). */
async function dembedPhases(): Promise<Phases> {
  await import("@huggingface/transformers");
  const { Embedder } = await import("@dembed/models");
  const once = async () => {
    const start = performance.now();
    const embedder = await Embedder.load(values.model!, { pooling: "mean", threads });
    const loaded = performance.now();
    const [vector] = await embedder.encode([TEXT], { normalize: true });
    const embedded = performance.now();
    if (!vector || vector.length === 0) throw new Error("no embedding");
    await embedder.dispose();
    return [loaded - start, embedded - loaded] as const;
  };
  const [coldMs, firstEmbedMs] = await once();
  const [warmMs, warmEmbedMs] = await once();
  return { coldMs, firstEmbedMs, warmMs, warmEmbedMs };
}

/** The same phases with transformers.js, as a plain node script (what a transformers.js user runs). */
const transformersPhases = (modelDir: string) => `
const t0 = performance.now();
const { pipeline } = await import("@huggingface/transformers");
const imported = performance.now();
const once = async () => {
  const start = performance.now();
  const extractor = await pipeline("feature-extraction", ${JSON.stringify(modelDir)}, { local_files_only: true, dtype: "fp32", session_options: { intraOpNumThreads: ${threads} } });
  const loaded = performance.now();
  const out = await extractor([${JSON.stringify(TEXT)}], { pooling: "mean", normalize: true });
  const embedded = performance.now();
  if (out.dims[0] !== 1) throw new Error("no embedding");
  await extractor.dispose();
  return [loaded - start, embedded - loaded];
};
const [coldMs, firstEmbedMs] = await once();
const [warmMs, warmEmbedMs] = await once();
console.log(JSON.stringify({ importMs: imported - t0, coldMs, firstEmbedMs, warmMs, warmEmbedMs }));
`;

/** One embedding from a new process, written to a file, as a script would: the pipeline's counterpart of `dembed embed`. */
const transformersOneShot = (modelDir: string, out: string) => `
import { writeFileSync } from "node:fs";
import { pipeline } from "@huggingface/transformers";
const extractor = await pipeline("feature-extraction", ${JSON.stringify(modelDir)}, { local_files_only: true, dtype: "fp32", session_options: { intraOpNumThreads: ${threads} } });
const out = await extractor([${JSON.stringify(TEXT)}], { pooling: "mean", normalize: true });
writeFileSync(${JSON.stringify(out)}, JSON.stringify({ embedding: Array.from(out.data) }) + "\\n");
`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Wall time of one process, and its peak RSS through /usr/bin/time (whose last stderr line is "<KiB>"). */
function timed(args: string[], cwd = REPO): { ms: number; rssMiB: number } {
  const start = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], {
    cwd,
    encoding: "utf8",
    // ORT's telemetry off for transformers.js too, as dembed has it (packages/onnx README), so both pay the same.
    env: { ORT_DISABLE_TELEMETRY: "1", ...process.env, DEMBED_THREADS: String(threads) },
  });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} failed (${result.status}):\n${result.stderr}`);
  return { ms, rssMiB: Number(result.stderr.trim().split("\n").at(-1)) / 1024 };
}

function repeat(args: string[], cwd?: string): { ms: number; min: number; rssMiB: number } {
  timed(args, cwd); // one unmeasured run: page cache, tsx's transform cache, tiny model written
  const samples = Array.from({ length: runs }, () => timed(args, cwd));
  return { ms: median(samples.map((s) => s.ms)), min: Math.min(...samples.map((s) => s.ms)), rssMiB: Math.max(...samples.map((s) => s.rssMiB)) };
}

function phasesOf(args: string[], cwd: string): Phases {
  const samples = Array.from({ length: runs }, () => {
    const out = execFileSync(process.execPath, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Phases;
  });
  const keys = Object.keys(samples[0]!) as (keyof Phases)[];
  return Object.fromEntries(keys.map((k) => [k, median(samples.map((s) => s[k]!))])) as unknown as Phases;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

async function main(): Promise<void> {
  if (values.child === "dembed") {
    console.log(JSON.stringify(await dembedPhases()));
    return;
  }
  console.log(`latency — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${threads} ORT threads, model ${values.model}, median of ${runs} runs`);
  console.log(`load average before: ${load()}`);
  execFileSync(process.execPath, [join(REPO, "apps/cli/scripts/build.mjs")], { stdio: "inherit" });
  const dir = values.dir!;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "one.jsonl"), `${JSON.stringify(TEXT)}\n`);
  const exported = join(dir, "exported");
  execFileSync(process.execPath, [CLI, "export", "--model", values.model!, "--out", exported, "--weights", "fp32"], { stdio: ["ignore", "ignore", "inherit"] });

  const anchor = repeat(["-e", "0"]);
  const help = repeat([CLI, "--help"]);
  const helpTsx = repeat(["--import", "tsx", join(REPO, "apps/cli/src/main.ts"), "--help"]);
  const importTransformers = repeat(["--input-type=module", "-e", 'await import("@huggingface/transformers")'], BENCHMARKS);
  const embedCli = repeat([CLI, "embed", "--model", values.model!, "--input", join(dir, "one.jsonl"), "--out", join(dir, "dembed.jsonl")]);
  const embedTransformers = repeat(["--input-type=module", "-e", transformersOneShot(exported, join(dir, "transformers.jsonl"))], BENCHMARKS);
  const ours = phasesOf(["--import", "tsx", fileURLToPath(import.meta.url), "--child", "dembed", "--model", values.model!, "--threads", String(threads)], REPO);
  const theirs = phasesOf(["--input-type=module", "-e", transformersPhases(exported)], BENCHMARKS);

  const ms = (x: number) => `${Math.round(x)} ms`.padStart(9);
  const row = (label: string, a: string, b: string) => console.log(`${label.padEnd(52)} ${a.padStart(16)} ${b.padStart(16)}`);
  const proc = (r: { ms: number; rssMiB: number }) => `${ms(r.ms)} ${`${Math.round(r.rssMiB)} MiB`.padStart(8)}`;
  console.log(`\nanchor: node -e 0 ${ms(anchor.ms).trim()} (min ${Math.round(anchor.min)} ms), ${Math.round(anchor.rssMiB)} MiB\n`);
  row("", "dembed", "transformers.js");
  row("cold start: dembed --help (built) / import library", proc(help), proc(importTransformers));
  row("  … the same, as a multiple of node -e 0", `×${(help.ms / anchor.ms).toFixed(2)}`, `×${(importTransformers.ms / anchor.ms).toFixed(2)}`);
  row("  dembed --help through tsx (the sources)", proc(helpTsx), "");
  row("session create, cold (first in a process)", ms(ours.coldMs), ms(theirs.coldMs));
  row("  first embedding after it", ms(ours.firstEmbedMs), ms(theirs.firstEmbedMs));
  row("session create, warm (second in the process)", ms(ours.warmMs), ms(theirs.warmMs));
  row("  embedding after it", ms(ours.warmEmbedMs), ms(theirs.warmEmbedMs));
  row("time to first embedding, end to end (new process)", proc(embedCli), proc(embedTransformers));
  console.log(`\ndembed: \`dembed embed --model ${values.model}\` (built CLI, its defaults: ORT in a worker thread); transformers.js: a node script`);
  console.log(`on \`dembed export --weights fp32\` of the same model. Session figures: dembed under tsx, transformers.js under node.`);
  console.log(`load average after: ${load()}`);
}

await main();
