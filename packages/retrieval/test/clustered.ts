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
