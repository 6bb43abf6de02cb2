import { createDotScorer, createPairScorer } from "@dembed/onnx";
import { describe, expect, it } from "vitest";
import { DenseSearcher, type BlockScorer } from "./dense.js";
import { fromF16Bits, toF16Bits } from "./storage.js";
import { tieHeavyCorpus } from "../test/clustered.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const scorer = (queries: Float32Array, count: number, dim: number, o: { normalizeRows: boolean }) => createDotScorer(queries, count, dim, { threads: 1, ...o });
/**
 * A kernel that reads its block only when its promise settles, a few ticks later: if the searcher packed into a block
 * still lent out, this one would score the wrong rows.
 */
const lateScorer = async (queries: Float32Array, count: number, dim: number): Promise<BlockScorer> => ({
  score: (block, rows) =>
    new Promise((resolve) =>
      setTimeout(() => {
        const out = new Float32Array(rows * count);
        for (let j = 0; j < rows; j++) for (let i = 0; i < count; i++) {
          let s = 0;
          for (let d = 0; d < dim; d++) s += block[j * dim + d]! * queries[i * dim + d]!;
          out[j * count + i] = s;
        }
        resolve(out);
      }, 2),
    ),
  release: async () => {},
});

describe("DenseSearcher with ORT's SGEMM as the kernel", () => {
  it.each([
    ["in-thread", scorer],
    ["reading its block late", lateScorer],
  ])("equals the scalar reference exactly when the sums are exact: ties by doc id, exclusions, any chunking (%s)", async (_, scorer) => {
    // Small integers: every product and sum is exact in fp32 and fp64, and many scores tie.
    const { queries, docs, exclude } = tieHeavyCorpus();
    const reference = new DenseSearcher(queries, { k: 25, similarity: "dot", exclude, blockSize: 128 });
    reference.addDocuments(docs);
    const fast = new DenseSearcher(queries, { k: 25, similarity: "dot", exclude, blockSize: 100, scorer });
    try {
      for (let start = 0; start < 700; start += 333) {
        await fast.addDocumentsAsync({ ids: docs.ids.slice(start, start + 333), vectors: docs.vectors.slice(start, start + 333) });
      }
      const [a, b] = [reference.run(), fast.run()];
      for (const q of queries.ids) expect(Object.entries(b[q]!)).toEqual(Object.entries(a[q]!));
      expect(Object.keys(b.q1!)).not.toContain("d3");
      expect(fast.documentCount).toBe(700);
    } finally {
      await fast.release();
    }
  });

  it("scores rows of one matrix in place, copies anything else (shuffled views, shared memory), and ranks the same", async () => {
    const r = rng(5);
    const dim = 12;
    const n = 700;
    const ids = Array.from({ length: n }, (_, i) => `d${i}`);
    const queries = { ids: ["q1", "q2"], vectors: [0, 1].map(() => Float32Array.from({ length: dim }, () => Math.floor(r() * 5) - 2)) };
    const fill = (m: Float32Array) => m.forEach((_, i) => (m[i] = Math.floor(r() * 5) - 2));
    const plain = new Float32Array(n * dim);
    const shared = new Float32Array(new SharedArrayBuffer(n * dim * 4));
    fill(plain);
    shared.set(plain);
    const rowsOf = (m: Float32Array, order: number[]) => order.map((i) => m.subarray(i * dim, (i + 1) * dim));
    const inOrder = ids.map((_, i) => i);
    const swapped = inOrder.map((i) => (i === 10 ? 11 : i === 11 ? 10 : i));
    const reference = new DenseSearcher(queries, { k: 30, similarity: "dot", blockSize: 128 });
    reference.addDocuments({ ids, vectors: rowsOf(plain, inOrder) });
    for (const [matrix, order, inPlace] of [[plain, inOrder, true], [plain, swapped, false], [shared, inOrder, false]] as const) {
      const lentOwn: boolean[] = [];
      const spy = async (q: Float32Array, count: number, d: number, o: { normalizeRows: boolean }): Promise<BlockScorer> => {
        const inner = await scorer(q, count, d, o);
        return { score: (block, rows) => (lentOwn.push(block.buffer === matrix.buffer), inner.score(block, rows)), release: () => inner.release() };
      };
      const fast = new DenseSearcher(queries, { k: 30, similarity: "dot", blockSize: 100, scorer: spy });
      try {
        await fast.addDocumentsAsync({ ids: order.map((i) => ids[i]!), vectors: rowsOf(matrix, order) });
        expect(fast.run()).toEqual(reference.run());
        // The swap sits in the first block only: later blocks of the shuffled rows are back to back again.
        expect(lentOwn).toEqual(order === swapped ? [false, true, true, true, true, true, true] : lentOwn.map(() => inPlace));
      } finally {
        await fast.release();
      }
    }
  });

  it("gives the reference's ranking on real-valued cosine scores, to fp32 rounding", async () => {
    const r = rng(11);
    const dim = 64;
    const vec = () => Float32Array.from({ length: dim }, () => r() * 2 - 1);
    const queries = { ids: Array.from({ length: 20 }, (_, i) => `q${i}`), vectors: Array.from({ length: 20 }, vec) };
    const docs = { ids: Array.from({ length: 3000 }, (_, i) => `d${i}`), vectors: Array.from({ length: 3000 }, vec) };
    const reference = new DenseSearcher(queries, { k: 100 });
    reference.addDocuments(docs);
    const fast = new DenseSearcher(queries, { k: 100, blockSize: 1024, scorer });
    try {
      await fast.addDocumentsAsync(docs);
      const [a, b] = [reference.run(), fast.run()];
      for (const q of queries.ids) {
        expect(Object.keys(b[q]!)).toEqual(Object.keys(a[q]!));
        for (const [d, s] of Object.entries(a[q]!)) expect(Math.abs(b[q]![d]! - s)).toBeLessThan(1e-5);
      }
    } finally {
      await fast.release();
    }
  });

  it("names a non-finite document, and scores a zero vector 0, as the scalar path does", async () => {
    const queries = { ids: ["q"], vectors: [Float32Array.of(1, 0)] };
    const fast = new DenseSearcher(queries, { k: 5, scorer });
    try {
      await fast.addDocumentsAsync({ ids: ["zero", "x"], vectors: [Float32Array.of(0, 0), Float32Array.of(2, 0)] });
      expect(fast.run()).toEqual({ q: { x: 1, zero: 0 } });
      await expect(fast.addDocumentsAsync({ ids: ["bad"], vectors: [Float32Array.of(1, Number.NaN)] })).rejects.toThrow(/document bad has a non-finite value at index 1/);
    } finally {
      await fast.release();
    }
  });
});

describe("createPairScorer (IVF's search kernel: both operands change per call)", () => {
  it("gives the dot scorer's fp32 sums for float32 rows, the widened values for float16 bits, and refuses the wrong array", async () => {
    const r = rng(3);
    const dim = 40;
    const against = Float32Array.from({ length: 6 * dim }, () => r() - 0.5);
    const block = Float32Array.from({ length: 9 * dim }, () => r() - 0.5);
    const fixed = await createDotScorer(against, 6, dim, { threads: 1 });
    const pair = await createPairScorer(dim, { threads: 1 });
    const half = await createPairScorer(dim, { threads: 1, block: "float16" });
    try {
      // The same call shape as the dot scorer's (rows of the block against the other side), on one session for any sides.
      expect(await pair.score(block, 9, against, 6)).toEqual(await fixed.score(block, 9));
      expect(await pair.score(block.subarray(0, 2 * dim), 2, against.subarray(0, 3 * dim), 3)).toHaveLength(6);
      const bits = Uint16Array.from(block, toF16Bits);
      const widened = Float32Array.from(bits, fromF16Bits);
      expect(await half.score(bits, 9, against, 6)).toEqual(await pair.score(widened, 9, against, 6));
      await expect(half.score(block, 9, against, 6)).rejects.toThrow(/the block must be float16 bits \(a Uint16Array\)/);
      await expect(pair.score(bits, 9, against, 6)).rejects.toThrow(/the block must be a Float32Array/);
    } finally {
      await Promise.all([fixed.release(), pair.release(), half.release()]);
    }
  });
});
