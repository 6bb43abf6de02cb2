// A Dream-7B-shaped checkpoint on this machine, per --weights format: load seconds (quantizing, when the cache is
// cold, and session creation), peak RSS, tokens/s at each case, the fraction of the fp32 matmul ceiling, and the cosine
// of each format's mean-pooled embedding against bf16's. Random BF16 weights (≈ 15 GB at 28 layers) are written once
// through the tiny-model writer; --layers N writes a cut-down copy. Each format runs in its own process, so each peak
// RSS is its own, printed with the peaks of its anonymous and file-backed parts (rss-sampler.ts) and beside the memory
// plan's estimate for the case that needs the most, which should stay above it. fp32 runs only where the memory plan says it fits.
//   npx tsx benchmarks/scripts/big-model.ts [--layers 28] [--formats fp32,bf16,int8,int4] [--cases 1x512,4x512,1x8192]
//                                           [--dir <folder>] [--threads N] [--cold]   (--cold: drop the quantized cache)
//                                           [--mlp-chunk T]   (MLP chunk in rows of the batch; default the graph's own)
//                                           [--arena on|off]  (ORT's CPU memory arena; default on)
//                                           [--session-cache <dir>]  (open through this session cache; a first run
//                                                                      writes the entry, the next opens from it)
// No PyTorch anchor here: CPU PyTorch holds a 7B model only in bf16, whose CPU matmuls are not a fair baseline, and
// forward-speed.ts already anchors the fp32 path against it.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DecoderSession, createTinyModel, dembedCacheDir, estimateMemory, loadModel, prepareWeights, type DecoderConfig, type WeightFormat } from "@dembed/models";
import { withHugePages } from "@dembed/onnx";
import { matmulCeiling } from "./matmul-ceiling.js";
import { startRssSampler, type RssPeaks } from "./rss-sampler.js";

const DREAM_7B = {
  hidden_size: 3584,
  intermediate_size: 18944,
  num_attention_heads: 28,
  num_key_value_heads: 4,
  vocab_size: 152064,
  max_position_embeddings: 131072,
  rope_theta: 1_000_000,
};

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "28" },
    formats: { type: "string", default: "fp32,bf16,int8,int4" },
    cases: { type: "string", default: "1x512,4x512,1x8192" },
    threads: { type: "string", default: String(availableParallelism()) },
    dir: { type: "string" },
    cold: { type: "boolean", default: false },
    "run-format": { type: "string" },
    "mlp-chunk": { type: "string" },
    arena: { type: "string", default: "on" },
    "session-cache": { type: "string" },
  },
});
const layers = Number(values.layers);
const threads = Number(values.threads);
const dir = values.dir ?? join(tmpdir(), `dembed-bench-dream7b-${layers}l`);
const shape = { ...DREAM_7B, num_hidden_layers: layers };

function flopsPerToken(t: number): number {
  const h = shape.hidden_size;
  const kv = (h / shape.num_attention_heads) * shape.num_key_value_heads;
  const linear = layers * (h * (2 * h + 2 * kv) + 3 * h * shape.intermediate_size);
  return 2 * linear + 4 * layers * h * t;
}

async function ensureModel(): Promise<void> {
  const configPath = join(dir, "config.json");
  if (existsSync(configPath) && existsSync(join(dir, "model.safetensors"))) {
    const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    if (Object.entries(shape).every(([k, v]) => config[k] === v)) return;
  }
  const start = performance.now();
  await createTinyModel("Dream", dir, { seed: 1, dtype: "BF16", config: shape });
  console.log(`wrote a random BF16 Dream-7B-shaped checkpoint (${layers} layers) to ${dir} in ${((performance.now() - start) / 1000).toFixed(0)} s`);
}

interface FormatResult {
  format: WeightFormat;
  refused?: string;
  prepareSeconds: number;
  readySeconds: number;
  cases: { spec: string; tokensPerSecond: number; seconds: number }[];
  peakRssBytes: number;
  /** The memory plan's estimate (estimateMemory) at the case that needs the most, to set beside the peak. */
  planBytes?: number;
  /** Peaks of the anonymous and the file-backed part of RSS (the mapped embedding table is file-backed). */
  split?: RssPeaks;
  /** Mean-pooled, L2-normalized embedding of the first row of the first case. */
  embedding: number[];
}

const input = (b: number, t: number) => ({
  dims: [b, t] as const,
  inputIds: BigInt64Array.from({ length: b * t }, (_, i) => BigInt((i * 7919 + 11) % 150000)),
  attentionMask: new BigInt64Array(b * t).fill(1n),
});

function planned(config: DecoderConfig, format: WeightFormat): number {
  const cases = values.cases!.split(",").map((c) => c.split("x").map(Number) as [number, number]);
  return Math.max(...cases.map(([batch, length]) => estimateMemory(format, { config, storedBytes: 2, batch, length, embeddings: "input" }).total));
}

async function runFormat(format: WeightFormat): Promise<void> {
  const sampler = startRssSampler();
  const model = await loadModel(dir);
  let start = performance.now();
  let prepared;
  try {
    prepared = await prepareWeights(model, format, {
      maxLength: Math.max(...values.cases!.split(",").map((c) => Number(c.split("x")[1]))),
      embeddings: "input", // as DecoderSession gathers them at float32 compute
      onProgress: (p) => p.done % 28 === 0 && console.error(`  ${format}: quantized ${p.done}/${p.total} weights, ${(p.bytesRead / 2 ** 30).toFixed(1)} GiB read`),
    });
  } catch (e) {
    console.log(JSON.stringify({ format, refused: (e as Error).message, prepareSeconds: 0, readySeconds: 0, cases: [], peakRssBytes: 0, embedding: [] }));
    return;
  }
  const prepareSeconds = (performance.now() - start) / 1000;
  const mlpChunk = values["mlp-chunk"] === undefined ? {} : { mlpChunkTokens: Number(values["mlp-chunk"]) };
  const sessionCache = values["session-cache"] === undefined ? {} : { sessionCache: { dir: values["session-cache"] }, onNotice: (m: string) => console.error(`  ${format}: ${m}`) };
  const session = new DecoderSession(model, { threads, attention: "bidirectional", memoryArena: values.arena !== "off", ...mlpChunk, ...sessionCache, weights: { format, ...(prepared.quantized ? { quantized: prepared.quantized } : {}) } });
  start = performance.now();
  await session.run(input(1, 16)); // session creation + a first small run
  const readySeconds = (performance.now() - start) / 1000;
  const cases: FormatResult["cases"] = [];
  let embedding: number[] = [];
  for (const spec of values.cases!.split(",")) {
    const [b, t] = spec.split("x").map(Number) as [number, number];
    start = performance.now();
    const out = await session.run(input(b, t));
    const seconds = (performance.now() - start) / 1000;
    cases.push({ spec, tokensPerSecond: (b * t) / seconds, seconds });
    console.error(`  ${format} ${spec}: ${((b * t) / seconds).toFixed(1)} tokens/s`);
    if (embedding.length === 0) {
      const h = shape.hidden_size;
      const mean = new Float64Array(h);
      for (let i = 0; i < t; i++) for (let j = 0; j < h; j++) mean[j]! += out.data[i * h + j]! / t;
      const norm = Math.hypot(...mean);
      embedding = Array.from(mean, (v) => v / norm);
    }
  }
  await session.release();
  const split = await sampler.stop();
  const result: FormatResult = { format, prepareSeconds, readySeconds, cases, peakRssBytes: process.resourceUsage().maxRSS * 1024, planBytes: planned(model.spec.config, format), ...(split ? { split } : {}), embedding };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  await ensureModel();
  if (values.cold) rmSync(join(dembedCacheDir(), "quantized"), { recursive: true, force: true });
  const ceiling = await matmulCeiling(threads, 1);
  console.log(`fp32 matmul ceiling: ${ceiling.toFixed(1)} GFLOP/s with ${threads} threads; Dream-7B shape, ${layers} layers, bidirectional`);
  const results: FormatResult[] = [];
  for (const format of values.formats!.split(",") as WeightFormat[]) {
    const args = ["--import", "tsx", fileURLToPath(import.meta.url), "--run-format", format, "--layers", String(layers), "--dir", dir, "--threads", String(threads), "--cases", values.cases!, "--arena", values.arena!, ...(values["mlp-chunk"] === undefined ? [] : ["--mlp-chunk", values["mlp-chunk"]]), ...(values["session-cache"] === undefined ? [] : ["--session-cache", values["session-cache"]])];
    try {
      const line = execFileSync(process.execPath, args, { encoding: "utf8", env: withHugePages(process.env), stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 }).trim().split("\n").at(-1)!;
      results.push(JSON.parse(line) as FormatResult);
    } catch (e) {
      console.log(`${format}: failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const reference = results.find((r) => r.format === "bf16" && !r.refused)?.embedding;
  console.log("weights  prepare s  ready s  peak RSS   case       tokens/s  of fp32 ceiling  cosine to bf16  peak anon / file-backed  plan");
  for (const r of results) {
    if (r.refused) {
      console.log(`${r.format.padEnd(8)} refused by the memory plan: ${r.refused}`);
      continue;
    }
    const cos = reference ? r.embedding.reduce((s, v, i) => s + v * reference[i]!, 0) : Number.NaN;
    r.cases.forEach((c, i) => {
      const t = Number(c.spec.split("x")[1]);
      const fraction = (c.tokensPerSecond * flopsPerToken(t)) / 1e9 / ceiling;
      const head = i === 0 ? `${r.format.padEnd(8)} ${r.prepareSeconds.toFixed(1).padStart(9)} ${r.readySeconds.toFixed(1).padStart(8)} ${`${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB`.padStart(10)}` : " ".repeat(38);
      const split = r.split ? `${(r.split.anonBytes / 2 ** 30).toFixed(2)} / ${(r.split.fileBytes / 2 ** 30).toFixed(2)} GiB` : "–";
      const plan = r.planBytes === undefined ? "–" : `${(r.planBytes / 2 ** 30).toFixed(2)} GiB`;
      const tail = i === 0 ? `${(reference ? cos.toFixed(5) : "– (no bf16 run)").padStart(15)}  ${split.padEnd(22)} ${plan}` : "";
      console.log(`${head}   ${c.spec.padEnd(8)} ${c.tokensPerSecond.toFixed(1).padStart(9)} ${`${(100 * fraction).toFixed(0)}%`.padStart(16)} ${tail}`);
    });
  }
}

if (values["run-format"]) await runFormat(values["run-format"] as WeightFormat);
else await main();
