// The built CLI (scripts/build.mjs, a bundle run by plain node) against the TypeScript sources run by tsx, on a tiny
// model: every command gives the same stdout, exit code and files and, timings and free memory aside, the same stderr.
// A test of the build (bundling, lazy command loading, the ORT worker script, files found next to the code), not of
// speed. The build goes to its own folder inside apps/cli, where the CLI's npm packages resolve.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { createTinyModel } from "@dembed/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI_DIR = resolve(import.meta.dirname, "..");
const REPO = resolve(CLI_DIR, "../..");

let built: string;
let work: string;
let model: string;

beforeAll(async () => {
  built = mkdtempSync(join(CLI_DIR, "dist-test-"));
  const build = spawnSync(process.execPath, [join(CLI_DIR, "scripts/build.mjs"), "--outdir", built], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
  work = mkdtempSync(join(tmpdir(), "dembed-built-cli-"));
  model = await createTinyModel("qwen2", join(work, "tiny"), { seed: 3 });
  writeFileSync(join(work, "batch.json"), JSON.stringify({ input_ids: [[5, 17, 300, 9], [0, 0, 12, 13]], attention_mask: [[1, 1, 1, 1], [0, 0, 1, 1]] }));
  writeFileSync(join(work, "texts.jsonl"), '"first text"\n{"id": "b", "text": "a second, longer text"}\n');
  writeFileSync(join(work, "bad.jsonl"), '"ok"\n{"txt": 1}\n');
  const config = JSON.parse(readFileSync(join(REPO, "configs/train/tiny.json"), "utf8")) as Record<string, Record<string, unknown>>;
  Object.assign(config.model!, { base: model });
  Object.assign(config.data!, { path: join(REPO, "datasets/fixtures/e5") });
  Object.assign(config, { steps: 2, save_steps: 2 });
  Object.assign(config.optim!, { warmup_steps: 1 });
  writeFileSync(join(work, "train.json"), JSON.stringify(config));
}, 120_000);
afterAll(() => {
  for (const dir of [built, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const env = { ...process.env, DEMBED_CACHE: join(work, "cache"), DEMBED_THREADS: "1" };
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** Every file under `dir` as relative path → content (text, normalized) or sha256 (binary). */
function files(dir: string, normalize: (text: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = readFileSync(path);
    const text = /\.(json|jsonl|md|trec|svg|dembed|txt)$/.test(entry.name) ? bytes.toString("utf8") : undefined;
    out[relative(dir, path)] = text === undefined ? createHash("sha256").update(bytes).digest("hex") : normalize(text);
  }
  return out;
}

/** What may differ between two runs of the same command: the output folder, clock readings, durations. */
function sameRun(out: string): (text: string) => string {
  return (text) =>
    text
      .replaceAll(out, "<out>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<date>")
      .replace(/("[a-z_]*(seconds|time)[a-z_]*"\s*:\s*)[-+.\deE]+/g, "$1<duration>")
      // The report's stage table is all clock readings.
      .replace(/## Stage times[\s\S]*?(?=\n## |$)/, (table) => table.replace(/\d+(\.\d+)?/g, "#"));
}

/**
 * Runs `args` (with `{out}` replaced by a fresh folder) through both CLIs and checks they agree. `stable` says the
 * console output is exact; otherwise digits are masked there (timings, throughput, free memory), and the written
 * files carry the numbers that matter.
 */
async function bothAgree(args: string[], { stable = false } = {}): Promise<Run> {
  const results = [];
  // One after the other: the machine is shared, and the weights choice looks at free memory.
  for (const kind of ["built", "tsx"] as const) {
    const out = join(work, `${kind}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(out);
    const argv = args.map((a) => a.replaceAll("{out}", out));
    const run = await node(kind === "built" ? [join(built, "main.js"), ...argv] : ["--import", "tsx", join(CLI_DIR, "src/main.ts"), ...argv]);
    const same = sameRun(out);
    const shown = (text: string) => (stable ? same(text) : same(text).replace(/\d+/g, "#"));
    results.push({ run, shown: { code: run.code, stdout: shown(run.stdout), stderr: shown(run.stderr) }, written: files(out, same) });
  }
  const [a, b] = results as [(typeof results)[number], (typeof results)[number]];
  expect(a.shown).toEqual(b.shown);
  expect(a.written).toEqual(b.written);
  return a.run;
}

describe("the built CLI and the tsx CLI", () => {
  it("print the same help, version and usage errors", async () => {
    const help = await bothAgree(["--help"], { stable: true });
    expect(help.stdout).toMatch(/embed\s+Embed texts/);
    const typo = await bothAgree(["emebd"], { stable: true });
    expect(typo.stderr).toMatch(/unknown command 'emebd'[\s\S]*Did you mean embed/);
    // --version finds onnxruntime-node through @dembed/onnx, which the bundle must still resolve.
    expect((await bothAgree(["--version"], { stable: true })).stdout).toMatch(/onnxruntime-node \d+\.\d+/);
    expect((await bothAgree(["help", "embed"], { stable: true })).stdout).toMatch(/Usage: dembed embed \[options\]/);
    // worker loads @dembed/queue and BullMQ: a bad address is refused the same way by both.
    expect((await bothAgree(["worker", "--queue", "http://127.0.0.1:1"], { stable: true })).stderr).toMatch(/scheme "http" is not redis/);
  }, 120_000);

  it("agree on forward, embed (ORT in its worker thread) and export", async () => {
    const forward = await bothAgree(["forward", "--model", model, "--input", join(work, "batch.json"), "--out", "{out}/hidden.json", "--threads", "1"]);
    expect(forward.code).toBe(0);
    expect((await bothAgree(["embed", "--model", model, "--input", join(work, "texts.jsonl"), "--out", "{out}/emb.jsonl"])).code).toBe(0);
    expect((await bothAgree(["embed", "--model", model, "--input", join(work, "bad.jsonl"), "--out", "{out}/emb.jsonl"])).stderr).toMatch(
      /bad\.jsonl:2: expected a JSON string/,
    );
    expect((await bothAgree(["export", "--model", model, "--out", "{out}/onnx", "--weights", "int8"])).code).toBe(0);
  }, 180_000);

  it("agree on train, metrics, bench and eval", async () => {
    expect((await bothAgree(["train", "--config", join(work, "train.json"), "--output", "{out}/run", "--threads", "1", "--no-progress"])).code).toBe(0);
    const metrics = await bothAgree(["metrics", "--qrels", "examples/qrels.txt", "--run", "examples/run.txt", "-m", "ndcg_cut.10", "-q"], { stable: true });
    expect(metrics.stdout).toMatch(/ndcg_cut_10\s+all\s+0\.\d+/);
    const bench = ["bench", "longembed", "--model", `${model},bm25`, "--tasks", "passkey", "--lengths", "256", "--no-cache", "--out", "{out}"];
    expect((await bothAgree(bench)).code).toBe(0);
    // usearch is a native npm package the bundle leaves external; its report says the search was approximate.
    const hnsw = await bothAgree(["bench", "longembed", "--model", model, "--tasks", "passkey", "--lengths", "256", "--no-cache", "--index", "hnsw", "--out", "{out}"]);
    expect(hnsw.code).toBe(0);
    expect(readFileSync(hnsw.stdout.trim().split("\n")[0]!, "utf8")).toMatch(/Dense search: approximate, hnsw \(usearch, M 32/);
    // IVF loads its second ORT kernel (createPairScorer) lazily, through the bundle's @dembed/onnx.
    const ivf = await bothAgree(["bench", "longembed", "--model", model, "--tasks", "passkey", "--lengths", "256", "--no-cache", "--index", "ivf", "--ivf-lists", "8", "--out", "{out}"]);
    expect(ivf.code).toBe(0);
    expect(readFileSync(ivf.stdout.trim().split("\n")[0]!, "utf8")).toMatch(/Dense search: approximate, ivf \(lists 8, probes max\(8, lists\/8\)/);
    expect((await bothAgree(["eval", "longembed:needle", "--model", "bm25", "--lengths", "256", "--no-cache", "--out", "{out}"])).code).toBe(0);
  }, 240_000);
});
