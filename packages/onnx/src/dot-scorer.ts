import { Graph } from "./graph.js";
import { cast, div, max2, mul, sqrt } from "./ops/elementwise.js";
import { linear } from "./ops/matmul.js";
import { reduceSum } from "./ops/reduce.js";
import { createSession } from "./session.js";
import type { Tensor } from "./tensor.js";

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

/** Scores a block of rows against a second set given with each call: both sides change between calls. */
export interface PairScorer {
  /**
   * `rows` rows of `block` · each of `count` rows of `against` → [rows, count], row-major, as a DotScorer's. `block`
   * is float32, or float16 bits (a Uint16Array) for a scorer made with `block: "float16"`; `against` is float32.
   * Both are only read until the promise settles.
   */
  score(block: Float32Array | Uint16Array, rows: number, against: Float32Array, count: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * createDotScorer's product with the fixed side made an input (MLAS packs it on every call rather than once), for
 * searches where the vectors that meet change per call, as IVF's lists and their probing queries do. One session
 * serves every call. float16 rows are widened inside ORT, several times faster than a JS table.
 */
export async function createPairScorer(dim: number, options: { threads?: number; block?: "float32" | "float16" } = {}): Promise<PairScorer> {
  const blockType = options.block ?? "float32";
  const g = new Graph("pair_scorer");
  const block = g.input("block", blockType, ["rows", dim]);
  const against = g.input("against", "float32", ["count", dim]);
  g.output(linear(blockType === "float16" ? cast(block, "float32") : block, against), "scores");
  const session = await createSession(g, { ...(options.threads !== undefined ? { threads: options.threads } : {}), interOpThreads: 1 });
  return {
    async score(data, rows, other, count) {
      if (blockType === "float16" ? !(data instanceof Uint16Array) : !(data instanceof Float32Array)) {
        throw new Error(`pair scorer: the block must be ${blockType === "float16" ? "float16 bits (a Uint16Array)" : "a Float32Array"}`);
      }
      const out = await session.run({
        block: { dtype: blockType, dims: [rows, dim], data: data.length === rows * dim ? data : data.subarray(0, rows * dim) } as Tensor,
        against: { dtype: "float32", dims: [count, dim], data: other.length === count * dim ? other : other.subarray(0, count * dim) },
      });
      return out.scores!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
