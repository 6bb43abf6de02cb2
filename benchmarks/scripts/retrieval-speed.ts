/**
 * Speed of @dembed/retrieval on this machine: exact dense top-k (blocked, one heap per query) and BM25 indexing and
 * search. Prints one line per case; nothing is asserted.
 * Run: npx tsx benchmarks/scripts/retrieval-speed.ts
 */
import { Bm25Index, denseSearch } from "@dembed/retrieval";
import { generateNeedle } from "../src/generate/synthetic.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function randomVectors(n: number, dim: number, seed: number, prefix: string) {
  const rand = lcg(seed);
  return { ids: Array.from({ length: n }, (_, i) => `${prefix}${i}`), vectors: Array.from({ length: n }, () => Float32Array.from({ length: dim }, rand)) };
}

const cases: Array<[queries: number, docs: number, dim: number]> = [
  [50, 10_000, 64],
  [50, 10_000, 896],
  [50, 100_000, 256],
  [1000, 20_000, 3584],
];
for (const [nq, nd, dim] of cases) {
  const queries = randomVectors(nq, dim, 1, "q");
  const docs = randomVectors(nd, dim, 2, "d");
  const t = performance.now();
  denseSearch(queries, docs, { k: 1000, blockSize: 1024 });
  const s = (performance.now() - t) / 1000;
  const gflops = (2 * nq * nd * dim) / s / 1e9;
  console.log(`dense top-1000 cosine: ${nq} queries × ${nd} docs × ${dim} dims: ${s.toFixed(2)} s (${gflops.toFixed(2)} GFLOP/s)`);
}

const data = generateNeedle({ contextLengths: [256, 1024], docsPerLength: 100, queriesPerLength: 50 });
const corpus = data.splits.flatMap((s) => s.corpus.map((d) => ({ id: d.id, text: d.text })));
const words = corpus.reduce((n, d) => n + d.text.split(/\s+/).length, 0);
let t = performance.now();
const index = new Bm25Index().addAll(Array.from({ length: 20 }, (_, r) => corpus.map((d) => ({ id: `${r}-${d.id}`, text: d.text }))).flat());
const indexSeconds = (performance.now() - t) / 1000;
console.log(`BM25 index: ${index.size} docs, ${(words * 20 / 1e6).toFixed(1)}M words in ${indexSeconds.toFixed(2)} s (${((words * 20) / indexSeconds / 1e6).toFixed(2)}M words/s)`);
const queries = data.splits.flatMap((s) => s.queries);
t = performance.now();
for (const q of queries) index.search(q.text, 1000);
const searchSeconds = (performance.now() - t) / 1000;
console.log(`BM25 search: ${queries.length} queries over ${index.size} docs in ${searchSeconds.toFixed(2)} s (${((searchSeconds / queries.length) * 1000).toFixed(1)} ms/query)`);
