// Where session creation goes, on the Qwen2-0.5B shape (the same random checkpoint as forward-speed.ts): each variant
// opens the bidirectional flash graph in a new process and prints the seconds to a ready session, the first 1×16 run,
// tokens/s at 8×512 (best of 2) and peak RSS. Variants take one thing away at a time:
// - "4 KiB pages": ORT's defaults, malloc without huge pages (GLIBC_TUNABLES without glibc.malloc.hugetlb);
// - "huge pages": the same with glibc.malloc.hugetlb=1, as the dembed CLI runs (apps/cli/bin/huge-pages.mjs);
// - "no graph optimization": graphOptimizationLevel "disabled";
// - "no pre-packing": session.disable_prepacking = 1;
// - "session cache: write" / "session cache: open": createSession's `cache` (ORT's own saved optimized model with its
//   pre-packed weights, session.save_external_prepacked_constant_initializers), written once, then opened from it.
// --formats fp32,int8 (int8: MatMulNBits, quantized once into the dembed cache).
//   npx tsx benchmarks/scripts/session-create.ts [--formats fp32,int8] [--dir <model folder>] [--threads N]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildDecoderGraph, loadModel, prepareWeights, type WeightFormat } from "@dembed/models";
import { createSession, HUGE_PAGES_TUNABLE, transparentHugePages, type SessionOptions } from "@dembed/onnx";
import { QWEN2_05B_DIR, ensureQwen05b } from "./qwen-0.5b.js";


const { values } = parseArgs({
  options: {
    formats: { type: "string", default: "fp32,int8" },
    threads: { type: "string", default: String(availableParallelism()) },
    dir: { type: "string", default: QWEN2_05B_DIR },
    variant: { type: "string" },
    format: { type: "string" },
    cache: { type: "string" },
  },
});
const threads = Number(values.threads);

const VARIANTS = ["4 KiB pages", "huge pages", "no graph optimization", "no pre-packing", "session cache: write", "session cache: open"] as const;
type Variant = (typeof VARIANTS)[number];

interface Result {
  createSeconds: number;
  firstRunSeconds: number;
  tokensPerSecond: number;
  peakRssBytes: number;
}

const input = (b: number, t: number) => ({
  input_ids: { dtype: "int64" as const, dims: [b, t], data: BigInt64Array.from({ length: b * t }, (_, i) => BigInt((i * 7919 + 11) % 150000)) },
  attention_mask: { dtype: "int64" as const, dims: [b, t], data: new BigInt64Array(b * t).fill(1n) },
});

async function runVariant(variant: Variant, format: WeightFormat, cache: string): Promise<void> {
  const model = await loadModel(values.dir!);
  const prepared = await prepareWeights(model, format, { maxLength: 512 });
  const weights = { format: prepared.format, ...(prepared.quantized ? { quantized: prepared.quantized } : {}) };
  const options: SessionOptions = { threads };
  if (variant === "no graph optimization") options.graphOptimizationLevel = "disabled";
  if (variant === "no pre-packing") options.config = { "session.disable_prepacking": "1" };
  const events: string[] = [];
  const reasons: string[] = []; // int8's MatMulNBits at accuracy level 4 is refused, and says so here
  if (variant.startsWith("session cache")) {
    Object.assign(options, { cache: { dir: cache }, onCache: (e: { kind: string; reason?: string }) => (events.push(e.kind), reasons.push(e.reason ? `${e.kind} (${e.reason})` : e.kind)) });
  }
  const graph = buildDecoderGraph(model.weights, { attention: "bidirectional", kernel: "flash", weights }).graph;
  let start = performance.now();
  const session = await createSession(graph, options);
  const createSeconds = (performance.now() - start) / 1000;
  const expected = { "session cache: write": "written", "session cache: open": "opened" }[variant as string];
  if (expected !== undefined && events[0] !== expected) throw new Error(`${variant}: the cache says ${reasons.join(", ") || "nothing"}, expected ${expected}`);
  start = performance.now();
  await session.run(input(1, 16));
  const firstRunSeconds = (performance.now() - start) / 1000;
  await session.run(input(8, 512));
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    start = performance.now();
    await session.run(input(8, 512));
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  await session.release();
  const result: Result = { createSeconds, firstRunSeconds, tokensPerSecond: 4096 / best, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  console.log(JSON.stringify(result));
}

function childEnv(variant: Variant): NodeJS.ProcessEnv {
  const tunables = (process.env.GLIBC_TUNABLES ?? "").split(":").filter((t) => t && !t.startsWith("glibc.malloc.hugetlb="));
  if (variant !== "4 KiB pages") tunables.push(HUGE_PAGES_TUNABLE);
  return { ...process.env, GLIBC_TUNABLES: tunables.join(":") };
}

async function main(): Promise<void> {
  await ensureQwen05b(values.dir!);
  console.log(`Qwen2-0.5B shape, bidirectional flash graph, ${threads} threads; transparent huge pages: ${transparentHugePages() ?? "unknown"}; load average ${loadavg()[0]!.toFixed(2)}`);
  console.log("format  variant                  ready      first 1×16   8×512 tokens/s   peak RSS   cache on disk");
  for (const format of values.formats!.split(",") as WeightFormat[]) {
    const cache = mkdtempSync(join(tmpdir(), "dembed-session-cache-"));
    try {
      for (const variant of VARIANTS) {
        const args = ["--import", "tsx", fileURLToPath(import.meta.url), "--variant", variant, "--format", format, "--cache", cache, "--dir", values.dir!, "--threads", String(threads)];
        let r: Result;
        try {
          r = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", env: childEnv(variant), stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!) as Result;
        } catch (e) {
          console.log(`${format.padEnd(7)} ${variant.padEnd(24)} failed: ${(e as Error).message.split("\n")[0]}`);
          continue;
        }
        const onDisk = variant.startsWith("session cache") ? `${(readdirSync(cache, { recursive: true, encoding: "utf8" }).reduce((n, f) => n + (statSync(join(cache, f)).isFile() ? statSync(join(cache, f)).size : 0), 0) / 2 ** 30).toFixed(2)} GiB` : "";
        console.log(
          `${format.padEnd(7)} ${variant.padEnd(24)} ${`${r.createSeconds.toFixed(2)} s`.padStart(8)} ${`${r.firstRunSeconds.toFixed(2)} s`.padStart(12)} ` +
            `${r.tokensPerSecond.toFixed(0).padStart(16)} ${`${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB`.padStart(10)}   ${onDisk}`,
        );
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

if (values.variant) await runVariant(values.variant as Variant, values.format as WeightFormat, values.cache!);
else await main();
