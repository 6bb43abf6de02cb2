// Which int8 kernel for --weights int8: ORT's weight-int8 matmuls on one Dream-7B projection, beside the fp32
// and bf16-resident paths, at the shapes a 7B layer runs (x [m, 3584] · W[18944, 3584]ᵀ and back). Prints ms per run,
// GFLOP/s, the ratio to bf16-resident, and the error against fp32 three times: on Gaussian activations; on the same
// activations with 4 of 3584 channels 60× larger in every row (the outlier channels real LLM norm outputs carry;
// random weights have none, so this is the case the 7B benchmark cannot show); and with 4 rows 60× larger (the
// token-specific "massive activations" that reach the MLP's down projection; the error is that of the other rows).
//   MatMulNBits 8-bit   block 32, min/max + zero point per block; accuracy_level 4 quantizes x per block of 32 and
//                       runs int8 dot products (VNNI); what dembed uses. "nbits8-f32": accuracy_level 0 (the
//                       blocks widened to fp32, fp32 compute)
//   DynamicQuantizeMatMul  int8 weights with one scale per output column; x quantized to uint8 with one scale for
//                       the whole tensor, then MLAS's u8s8 GEMM
//   token8              the same weights; x quantized per row (token), scale max|row|/127, then MatMulIntegerToFloat
//                       (perTokenInt8Linear): what dembed uses for the down projection
// --blocks 32,128 adds MatMulNBits 8-bit at other block sizes ("nbits8-b128"; accuracy_level 4).
//   npx tsx benchmarks/scripts/int8-kernels.ts [--m 512,2048] [--seconds 3] [--threads N] [--blocks 32,64,128]
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Graph, createSession, ops, perTokenInt8Linear, quantizeBlockwise, quantizePerChannel, toBFloat16Bits, type Value } from "@dembed/onnx";
import { matmulCeiling } from "./matmul-ceiling.js";

const { values } = parseArgs({ options: { m: { type: "string", default: "512,2048" }, seconds: { type: "string", default: "3" }, threads: { type: "string" }, blocks: { type: "string", default: "32" } } });
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds);
const HIDDEN = 3584;
const INTERMEDIATE = 18944;
type Kernel = "fp32" | "bf16" | "nbits8" | "nbits8-f32" | "dqmm" | "token8" | `nbits8-b${number}`;
const otherBlocks = values.blocks!.split(",").map(Number).filter((b) => b !== 32);
const KERNELS: Kernel[] = ["fp32", "bf16", "nbits8", ...otherBlocks.map((b) => `nbits8-b${b}` as const), "nbits8-f32", "dqmm", "token8"];

function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / (2 ** 32 + 1);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** W [n, k] in HF layout, scaled as a trained projection's (std 1/√k). */
function weight(n: number, k: number): Float32Array {
  const rand = gaussian(n * 31 + k);
  return Float32Array.from({ length: n * k }, () => rand() / Math.sqrt(k));
}

/** The graph of one kernel: y [m, n] = x [m, k] · Wᵀ, with W held as that kernel holds it. */
function build(kernel: Kernel, w: Float32Array, n: number, k: number): Graph {
  const g = new Graph(`${kernel}_${n}x${k}`);
  const x = g.input("x", "float32", ["m", k]);
  let y: Value;
  if (kernel === "fp32") {
    y = ops.linear(x, g.initializer("w", "float32", [n, k], w));
  } else if (kernel === "bf16") {
    // As the builder's bf16: the Cast is deferred until x exists, so it runs per call instead of being folded at load.
    const raw = g.initializer("w", "bfloat16", [n, k], Uint16Array.from(w, toBFloat16Bits));
    y = ops.linear(x, ops.cast(ops.deferUntil(raw, x), "float32"));
  } else if (kernel.startsWith("nbits8")) {
    const block = kernel.startsWith("nbits8-b") ? Number(kernel.slice("nbits8-b".length)) : 32;
    const q = quantizeBlockwise((r) => w.subarray(r * k, (r + 1) * k), n, k, 8, block);
    const codes = g.initializer("codes", "uint8", [n, k / block, block], q.codes);
    y = ops.matMulNBits(x, codes, g.initializer("scales", "float32", [q.scales.length], q.scales), g.initializer("zp", "uint8", [q.zeroPoints.length], q.zeroPoints), { n, k, bits: 8, blockSize: block, accuracyLevel: kernel === "nbits8-f32" ? 0 : 4 });
  } else {
    // Symmetric int8 per output column, laid out [k, n] as the ops want B.
    const q = quantizePerChannel((r) => w.subarray(r * k, (r + 1) * k), n, k);
    const b = g.initializer("b", "int8", [k, n], q.codes);
    const scales = g.initializer("b_scale", "float32", [n], q.scales);
    if (kernel === "token8") {
      y = perTokenInt8Linear(x, b, scales);
    } else {
      const zp = g.initializer("b_zp", "int8", [n], new Int8Array(n));
      g.useOpset("com.microsoft", 1);
      y = g.addNode("DynamicQuantizeMatMul", [x, b, scales, zp], {}, [{ dtype: "float32", shape: ["m", n] }], { domain: "com.microsoft" })[0]!;
    }
  }
  g.output(y!, "y");
  return g;
}

const LOUD_ROWS = [0, 5, 100, 300];
/** ‖got − want‖ / ‖want‖ over the rows `keep` accepts (all by default). */
const relError = (got: Float32Array, want: Float32Array, n: number, keep: (row: number) => boolean = () => true) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (!keep(Math.floor(i / n))) continue;
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

async function main(): Promise<void> {
  const ceiling = await matmulCeiling(threads, 1);
  console.log(`fp32 matmul ceiling ${ceiling.toFixed(1)} GFLOP/s, ${threads} threads; load average ${loadavg()[0]!.toFixed(2)}`);
  const ms = values.m!.split(",").map(Number);
  for (const [n, k, what] of [[INTERMEDIATE, HIDDEN, "gate/up"], [HIDDEN, INTERMEDIATE, "down"]] as const) {
    const w = weight(n, k);
    for (const m of ms) {
      const rand = gaussian(m + n);
      const plain = Float32Array.from({ length: m * k }, rand);
      const outliers = plain.map((v, i) => ([7, 901, 2048, 3001].includes(i % k) ? v * 60 : v));
      const loudTokens = plain.map((v, i) => (LOUD_ROWS.includes(Math.floor(i / k)) ? v * 60 : v));
      const results = new Map<Kernel, { ms: number; y: Float32Array[] }>();
      for (const kernel of KERNELS) {
        const session = await createSession(build(kernel, w, n, k), { threads, interOpThreads: 1 });
        try {
          const feeds = (x: Float32Array) => ({ x: { dtype: "float32" as const, dims: [m, k], data: x } });
          const ys = [];
          for (const x of [plain, outliers, loudTokens]) ys.push((await session.run(feeds(x))).y!.data as Float32Array);
          let runs = 0;
          const start = performance.now();
          while (performance.now() - start < seconds * 1000 || runs < 3) {
            await session.run(feeds(plain));
            runs++;
          }
          results.set(kernel, { ms: (performance.now() - start) / runs, y: ys });
        } finally {
          await session.release();
        }
      }
      const exact = results.get("fp32")!.y;
      const bf16 = results.get("bf16")!.ms;
      for (const [kernel, r] of results) {
        const gflops = (2 * m * k * n) / (r.ms * 1e6);
        const errors = kernel === "fp32" ? "" : `, error vs fp32 ${relError(r.y[0]!, exact[0]!, n).toExponential(2)} (outlier channels ${relError(r.y[1]!, exact[1]!, n).toExponential(2)}; outlier tokens, on the other rows ${relError(r.y[2]!, exact[2]!, n, (row) => !LOUD_ROWS.includes(row)).toExponential(2)})`;
        console.log(`${what} ${n}×${k}, m ${m}: ${kernel.padEnd(6)} ${r.ms.toFixed(1).padStart(7)} ms, ${gflops.toFixed(0).padStart(4)} GFLOP/s (${((100 * gflops) / ceiling).toFixed(0)} % of the fp32 ceiling), ${(bf16 / r.ms).toFixed(2)}× bf16${errors}`);
      }
    }
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

await main();
