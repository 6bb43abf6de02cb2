// Forward speed of a Qwen2-0.5B-shaped model (hidden 896, 24 layers, 14 heads, 2 kv heads, intermediate 4864,
// vocab 151936; random fp32 weights written once to a temp folder) through @dembed/models' DecoderSession:
// tokens/s at 8×512, 1×4096 and 1×32768, peak RSS of each case (each runs in its own process), and the fraction of
// ORT's sustained matmul throughput on this machine (matmul-ceiling.ts) that the forward reaches.
// FLOP model (issue 3): 2·(linear parameters) per token for the linears, plus 4·layers·hidden·T per token for
// attention (q·kᵀ and p·v over all T keys).
//   npx tsx benchmarks/scripts/forward-speed.ts [--cases 8x512,1x4096,1x32768] [--attention bidirectional|causal]
//                                               [--kernel auto|masked] [--threads N] [--dir <model folder>]
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DecoderSession, loadModel, type AttentionMode, type KernelChoice } from "@dembed/models";
import { withHugePages } from "@dembed/onnx";
import { matmulCeiling } from "./matmul-ceiling.js";
import { QWEN2_05B, QWEN2_05B_DIR, ensureQwen05b } from "./qwen-0.5b.js";

const SHAPE = QWEN2_05B;

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "8x512,1x4096,1x32768" },
    attention: { type: "string", default: "bidirectional" },
    kernel: { type: "string", default: "auto" },
    threads: { type: "string", default: String(availableParallelism()) },
    dir: { type: "string", default: QWEN2_05B_DIR },
    "run-case": { type: "string" },
  },
});
const threads = Number(values.threads);

/** FLOPs per token at sequence length t. */
function flopsPerToken(t: number): number {
  const h = SHAPE.hidden_size;
  const kv = (h / SHAPE.num_attention_heads) * SHAPE.num_key_value_heads;
  const linearParams = SHAPE.num_hidden_layers * (h * (h + kv + kv + h) + 3 * h * SHAPE.intermediate_size);
  return 2 * linearParams + 4 * SHAPE.num_hidden_layers * h * t;
}

/** One case in this process: prints a JSON line {tokensPerSecond, seconds, peakRssBytes, createSeconds}. */
async function runCase(spec: string): Promise<void> {
  const [batch, seq] = spec.split("x").map(Number) as [number, number];
  const model = await loadModel(values.dir!);
  const session = new DecoderSession(model, { kernel: values.kernel as KernelChoice, threads, attention: values.attention as AttentionMode });
  const input = (b: number, t: number) => ({
    dims: [b, t] as const,
    inputIds: BigInt64Array.from({ length: b * t }, (_, i) => BigInt((i * 7919 + 11) % 150000)),
    attentionMask: new BigInt64Array(b * t).fill(1n),
  });
  let start = performance.now();
  await session.run(input(1, 16)); // session creation + a small warm-up
  const createSeconds = (performance.now() - start) / 1000;
  // Long inputs run once; shorter ones once more after a full-size warm-up.
  if (seq <= 4096) await session.run(input(batch, seq));
  start = performance.now();
  await session.run(input(batch, seq));
  const seconds = (performance.now() - start) / 1000;
  await session.release();
  const result = { tokensPerSecond: (batch * seq) / seconds, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024, createSeconds };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  await ensureQwen05b(values.dir!);
  console.log(`measuring the fp32 matmul ceiling with ${threads} threads …`);
  const before = await matmulCeiling(threads, 2);
  console.log(`ceiling before the cases: ${before.toFixed(1)} GFLOP/s (best sustained FusedMatMul over the 0.5B linear shapes)`);
  console.log(`forward: ${values.attention}, kernel ${values.kernel}, ${threads} threads, Qwen2-0.5B shape, fp32`);
  const rows: { spec: string; seq: number; r: CaseResult }[] = [];
  for (const spec of values.cases!.split(",")) {
    const [batch, seq] = spec.split("x").map(Number) as [number, number];
    const script = fileURLToPath(import.meta.url);
    const args = ["--import", "tsx", script, "--run-case", spec, "--dir", values.dir!, "--attention", values.attention!, "--kernel", values.kernel!, "--threads", String(threads)];
    let line: string;
    try {
      line = execFileSync(process.execPath, args, { encoding: "utf8", env: withHugePages(process.env), stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 }).trim().split("\n").at(-1)!;
    } catch (e) {
      console.log(`${spec.padEnd(12)}  failed: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    rows.push({ spec: `${batch}×${seq}`, seq, r: JSON.parse(line) as CaseResult });
    console.log(`${spec}: ${rows.at(-1)!.r.tokensPerSecond.toFixed(1)} tokens/s`);
  }
  // Other work on a shared machine lowers the ceiling as much as the forward; the higher of two readings is the
  // fairer denominator.
  const after = await matmulCeiling(threads, 2);
  const ceiling = Math.max(before, after);
  console.log(`ceiling after the cases: ${after.toFixed(1)} GFLOP/s; using ${ceiling.toFixed(1)}`);
  console.log("case          tokens/s   seconds   GFLOP/s   of ceiling   peak RSS   session create");
  for (const { spec, seq, r } of rows) {
    const gflops = (r.tokensPerSecond * flopsPerToken(seq)) / 1e9;
    console.log(
      `${spec.padEnd(12)} ${r.tokensPerSecond.toFixed(1).padStart(9)} ${r.seconds.toFixed(1).padStart(9)} ${gflops.toFixed(1).padStart(9)} ` +
        `${`${((100 * gflops) / ceiling).toFixed(0)}%`.padStart(12)} ${`${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB`.padStart(10)} ${`${r.createSeconds.toFixed(1)} s`.padStart(16)}`,
    );
  }
}

interface CaseResult {
  tokensPerSecond: number;
  seconds: number;
  peakRssBytes: number;
  createSeconds: number;
}

if (values["run-case"]) await runCase(values["run-case"]);
else await main();
