// Prints the sustained fp32 matmul throughput onnxruntime reaches on this machine, for the Linear shapes of a
// Qwen2.5-0.5B-sized block (HF [out, in] weights read through FusedMatMul transB, or Gemm transB). Other benchmark
// scripts import measureMatmul() to report their own speed as a fraction of this ceiling.
//   npx tsx benchmarks/scripts/matmul-ceiling.ts [--threads N] [--seconds S]
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Graph, createSession, ops } from "@dembed/onnx";

export interface MatmulCase {
  /** Rows of x (tokens). */
  m: number;
  /** Inner dim (in features). */
  k: number;
  /** Out features (rows of the HF weight). */
  n: number;
  op?: "FusedMatMul" | "Gemm";
  threads?: number;
  /** Keep running until this much time has passed (after one warm-up run). */
  seconds?: number;
}

export interface MatmulResult {
  readonly op: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly threads: number;
  readonly runs: number;
  readonly msPerRun: number;
  readonly gflops: number;
}

/** Sustained GFLOP/s of x[m,k]·W[n,k]ᵀ: total flops over total wall time of back-to-back runs. */
export async function measureMatmul({ m, k, n, op = "FusedMatMul", threads = availableParallelism(), seconds = 2 }: MatmulCase): Promise<MatmulResult> {
  const g = new Graph(`matmul_${m}x${k}x${n}`);
  const x = g.input("x", "float32", [m, k]);
  const w = g.initializer("w", "float32", [n, k], Float32Array.from({ length: n * k }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  g.output(op === "Gemm" ? ops.gemm(x, w, { transB: true }) : ops.linear(x, w), "y");
  const session = await createSession(g, { threads, interOpThreads: 1 });
  try {
    const feeds = { x: { dtype: "float32" as const, dims: [m, k], data: Float32Array.from({ length: m * k }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5) } };
    await session.run(feeds);
    let runs = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < seconds * 1000 || runs < 3) {
      await session.run(feeds);
      runs++;
      elapsed = performance.now() - start;
    }
    const msPerRun = elapsed / runs;
    return { op, m, k, n, threads, runs, msPerRun, gflops: (2 * m * k * n) / (msPerRun * 1e6) };
  } finally {
    await session.release();
  }
}

/** The Linear shapes of one Qwen2.5-0.5B layer at 512 tokens: q/o, k/v, gate/up, down. */
export const QWEN_05B_SHAPES: readonly Pick<MatmulCase, "m" | "k" | "n">[] = [
  { m: 512, k: 896, n: 896 },
  { m: 512, k: 896, n: 128 },
  { m: 512, k: 896, n: 4864 },
  { m: 512, k: 4864, n: 896 },
];

/** The best sustained GFLOP/s over the 0.5B shapes: the ceiling other benchmarks compare against. */
export async function matmulCeiling(threads = availableParallelism(), seconds = 1): Promise<number> {
  const results = [];
  for (const shape of QWEN_05B_SHAPES) results.push(await measureMatmul({ ...shape, threads, seconds }));
  return Math.max(...results.map((r) => r.gflops));
}

async function main(): Promise<void> {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const seconds = arg("seconds") ?? 2;
  const threadCounts = arg("threads") !== undefined ? [arg("threads")!] : [...new Set([1, availableParallelism()])];
  console.log(`onnxruntime-node fp32 matmul, x[m,k]·W[n,k]ᵀ, ${seconds} s per case, ${availableParallelism()} cores available`);
  console.log("op           threads      m      k      n    runs   ms/run   GFLOP/s");
  for (const threads of threadCounts) {
    for (const op of ["FusedMatMul", "Gemm"] as const) {
      for (const shape of QWEN_05B_SHAPES) {
        const r = await measureMatmul({ ...shape, op, threads, seconds });
        console.log(
          `${r.op.padEnd(12)} ${String(r.threads).padStart(7)} ${String(r.m).padStart(6)} ${String(r.k).padStart(6)} ${String(r.n).padStart(6)} ` +
            `${String(r.runs).padStart(7)} ${r.msPerRun.toFixed(2).padStart(8)} ${r.gflops.toFixed(1).padStart(9)}`,
        );
      }
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
