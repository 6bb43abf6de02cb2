import { Graph } from "./graph.js";
import { div, max2, mul, sqrt } from "./ops/elementwise.js";
import { linear } from "./ops/matmul.js";
import { reduceSum } from "./ops/reduce.js";
import { createSession } from "./session.js";

/** Scores blocks of rows against a fixed set of vectors: what exact dense search spends its time on. */
export interface DotScorer {
  /** `block` holds `rows` vectors of the scorer's dim, row-major; the result is [rows, count], row-major. `block` is only read, and only until the promise settles. */
  score(block: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface DotScorerOptions {
  threads?: number;
  /** Scale each block row to unit length first (cosine). */
  normalizeRows?: boolean;
}

/**
 * A one-node ORT session, block · vectorsᵀ (FusedMatMul with transB, multi-threaded MLAS SGEMM), with `vectors`
 * ([count, dim], row-major) held as an initializer. Sums are fp32, in MLAS's order: not bit-equal to a scalar loop.
 */
export async function createDotScorer(vectors: Float32Array, count: number, dim: number, options: DotScorerOptions = {}): Promise<DotScorer> {
  if (vectors.length !== count * dim) throw new Error(`dot scorer: ${vectors.length} values for ${count} vectors of ${dim}`);
  const g = new Graph("dot_scorer");
  const block = g.input("block", "float32", ["rows", dim]);
  const products = linear(block, g.initializer("vectors", "float32", [count, dim], vectors));
  // Cosine: each block row divided by its norm here, so the caller copies rows instead of normalizing them in JS. A
  // zero row scores 0 (0 · 1e30); a non-finite one scores NaN, which the caller reports.
  const inverseNorm = div(1, max2(sqrt(reduceSum(mul(block, block), [1])), 1e-30));
  g.output(options.normalizeRows ? mul(products, inverseNorm) : products, "scores");
  const sessionOptions = { ...(options.threads !== undefined ? { threads: options.threads } : {}), interOpThreads: 1 };
  // In-thread, not in a worker: a worker must be handed each block (moved, so the caller cannot reuse it, or copied),
  // and on 2 cores the overlap it buys is smaller than that cost (measured in @dembed/retrieval's README).
  const session = await createSession(g, sessionOptions);
  return {
    async score(data, rows) {
      const block = data.length === rows * dim ? data : data.subarray(0, rows * dim);
      const out = await session.run({ block: { dtype: "float32", dims: [rows, dim], data: block } });
      return out.scores!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
