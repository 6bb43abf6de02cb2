import { describe, expect, it } from "vitest";
import { DenseSearcher, denseSearch, rerankDense } from "./dense.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function vectors(n: number, dim: number, seed: number, prefix: string) {
  const rand = lcg(seed);
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const vecs = ids.map(() => Float32Array.from({ length: dim }, rand));
  return { ids, vectors: vecs };
}

function bruteForce(q: Float32Array, docs: { ids: string[]; vectors: Float32Array[] }, k: number, cosine: boolean) {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return docs.ids
    .map((id, i) => {
      const d = docs.vectors[i]!;
      let dot = 0;
      for (let j = 0; j < d.length; j++) dot += q[j]! * d[j]!;
      return [id, cosine ? dot / (norm(q) * norm(d)) : dot] as [string, number];
    })
    .sort((a, b) => b[1] - a[1])
    .slice(0, k);
}

describe("denseSearch", () => {
  const queries = vectors(7, 13, 1, "q");
  const docs = vectors(300, 13, 2, "d");

  for (const similarity of ["cosine", "dot"] as const) {
    it(`matches a brute-force ${similarity} ranking for every block size`, () => {
      for (const blockSize of [1, 17, 1024]) {
        const run = denseSearch(queries, docs, { k: 10, similarity, blockSize });
        queries.ids.forEach((qid, i) => {
          const expected = bruteForce(queries.vectors[i]!, docs, 10, similarity === "cosine");
          const got = Object.entries(run[qid]!);
          expect(got.map(([id]) => id)).toEqual(expected.map(([id]) => id));
          got.forEach(([, s], j) => expect(s).toBeCloseTo(expected[j]![1], 5));
        });
      }
    });
  }

  it("gives the same result when the corpus arrives in several calls", () => {
    const whole = denseSearch(queries, docs, { k: 5 });
    const searcher = new DenseSearcher(queries, { k: 5, blockSize: 8 });
    for (let s = 0; s < docs.ids.length; s += 41) {
      searcher.addDocuments({ ids: docs.ids.slice(s, s + 41), vectors: docs.vectors.slice(s, s + 41) });
    }
    expect(searcher.documentCount).toBe(300);
    expect(searcher.run()).toEqual(whole);
  });

  it("removes excluded documents from the ranking instead of scoring them low", () => {
    const run = denseSearch(queries, docs, { k: 3 });
    const best = Object.keys(run.q0!)[0]!;
    const excluded = denseSearch(queries, docs, { k: 3, exclude: { q0: [best] } });
    expect(Object.keys(excluded.q0!)).not.toContain(best);
    expect(Object.keys(excluded.q0!)).toEqual([...Object.keys(run.q0!).slice(1), expect.any(String)]);
    expect(excluded.q1).toEqual(run.q1);
    const viaMap = denseSearch(queries, docs, { k: 3, exclude: new Map([["q0", new Set([best])]]) });
    expect(viaMap).toEqual(excluded);
  });

  it("scores a zero vector 0 under cosine rather than NaN", () => {
    const run = denseSearch(
      { ids: ["q"], vectors: [Float32Array.of(1, 0)] },
      { ids: ["zero", "x"], vectors: [Float32Array.of(0, 0), Float32Array.of(-1, 0)] },
      { k: 2 },
    );
    expect(run.q).toEqual({ zero: 0, x: -1 });
  });

  it("names the vector that has the wrong size or a non-finite value", () => {
    const q = { ids: ["q"], vectors: [Float32Array.of(1, 2)] };
    expect(() => denseSearch(q, { ids: ["a"], vectors: [Float32Array.of(1, 2, 3)] }, { k: 1 })).toThrow(
      /document a has 3 dims, expected 2/,
    );
    expect(() => denseSearch(q, { ids: ["b"], vectors: [Float32Array.of(1, NaN)] }, { k: 1 })).toThrow(
      /document b has a non-finite value at index 1/,
    );
    expect(() => denseSearch(q, { ids: ["a", "b"], vectors: [Float32Array.of(1, 2)] }, { k: 1 })).toThrow(
      /2 document ids but 1 document vectors/,
    );
  });
});

describe("rerankDense", () => {
  it("scores every candidate of each query and nothing else", () => {
    const docs = new Map([
      ["a", Float32Array.of(1, 0)],
      ["b", Float32Array.of(0, 1)],
      ["c", Float32Array.of(1, 1)],
    ]);
    const run = rerankDense({ ids: ["q1", "q2"], vectors: [Float32Array.of(1, 0), Float32Array.of(0, 2)] }, docs, {
      q1: ["a", "b"],
      q2: ["c", "b", "c"],
    });
    expect(Object.keys(run.q1!)).toEqual(["a", "b"]);
    expect(run.q1!.a).toBeCloseTo(1);
    expect(run.q1!.b).toBeCloseTo(0);
    expect(Object.keys(run.q2!)).toEqual(["b", "c"]);
    expect(run.q2!.c).toBeCloseTo(Math.SQRT1_2);
  });

  it("fails on a candidate without a vector", () => {
    expect(() => rerankDense({ ids: ["q"], vectors: [Float32Array.of(1)] }, new Map(), { q: ["missing"] })).toThrow(
      /candidate missing of query q has no document vector/,
    );
  });
});
