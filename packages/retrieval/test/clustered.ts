// A generated clustered corpus for search tests: embeddings cluster by topic, and uniform random vectors would be the
// worst case for any approximate method and say little about real corpora.
import type { Run } from "../src/types.js";

export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / (2 ** 32 + 1);
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** n vectors around `clusters` random centres, each coordinate centre + spread·noise; ids prefix0… */
export function clustered(n: number, dim: number, clusters: number, spread: number, seed: number, prefix: string) {
  const rand = gaussian(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, rand));
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const vectors = ids.map((_, i) => {
    const c = centres[i % clusters]!;
    return Float32Array.from(c, (x) => x + spread * rand());
  });
  return { ids, vectors };
}

/** The share of each query's top k in `exact` that `approx` also returned. */
export function recall(approx: Run, exact: Run, k: number): number {
  let hit = 0;
  let total = 0;
  for (const [qid, docs] of Object.entries(exact)) {
    const found = new Set(Object.keys(approx[qid] ?? {}));
    for (const id of Object.keys(docs).slice(0, k)) {
      total++;
      if (found.has(id)) hit++;
    }
  }
  return hit / total;
}

/**
 * 5 queries and 700 documents of 12 small integers in −2…2: every product and sum is exact in fp32 and fp64, so any
 * kernel must give the scalar reference's scores, and many scores tie, which tests the order among equals. Document
 * ids are shuffled against insertion order; q1 excludes three ids and q4 the first 50 inserted.
 */
export function tieHeavyCorpus() {
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const vec = () => Float32Array.from({ length: 12 }, () => Math.floor(r() * 5) - 2);
  const queries = { ids: ["q1", "q2", "q3", "q4", "q5"], vectors: Array.from({ length: 5 }, vec) };
  const docs = { ids: Array.from({ length: 700 }, (_, i) => `d${(i * 37) % 700}`), vectors: Array.from({ length: 700 }, vec) };
  return { dim: 12, queries, docs, exclude: { q1: ["d3", "d10", "d99"], q4: docs.ids.slice(0, 50) } };
}
