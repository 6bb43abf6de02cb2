// Exact dense search with ORT's SGEMM as the kernel (createDotScorer) against the scalar loop, on random vectors that
// are generated block by block and never held whole (as when a corpus streams from the embedding cache). Prints
// GFLOP/s (2·queries·docs·dim over the time spent scoring and selecting), the fraction of the machine's matmul
// ceiling (matmul-ceiling.ts, same run), the speed-up over the scalar loop, and peak RSS.
//   npx tsx benchmarks/scripts/exact-search-speed.ts [--queries 100] [--dim 1024] [--docs 10000,100000,1000000]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { createDotScorer } from "@dembed/onnx";
import { DenseSearcher } from "@dembed/retrieval";
import { matmulCeiling } from "./matmul-ceiling.js";

const { values } = parseArgs({ options: { queries: { type: "string", default: "100" }, dim: { type: "string", default: "1024" }, docs: { type: "string", default: "10000,100000,1000000" }, "scalar-max": { type: "string", default: "100000" } } });
const nq = Number(values.queries);
const dim = Number(values.dim);
const threads = availableParallelism();
const CHUNK = 8192;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
const rand = lcg(1);
const queries = { ids: Array.from({ length: nq }, (_, i) => `q${i}`), vectors: Array.from({ length: nq }, () => Float32Array.from({ length: dim }, rand)) };

/** Seconds spent in the searcher for `docs` documents, streamed in chunks. */
async function timeSearch(docs: number, kernel: boolean): Promise<number> {
  const searcher = new DenseSearcher(queries, { k: 100, blockSize: 4096, ...(kernel ? { scorer: (q: Float32Array, c: number, d: number, o: { normalizeRows: boolean }) => createDotScorer(q, c, d, { threads, ...o }) } : {}) });
  const next = lcg(2);
  let busy = 0;
  for (let start = 0; start < docs; start += CHUNK) {
    const n = Math.min(CHUNK, docs - start);
    const chunk = { ids: Array.from({ length: n }, (_, i) => `d${start + i}`), vectors: Array.from({ length: n }, () => Float32Array.from({ length: dim }, next)) };
    const t = performance.now();
    if (kernel) await searcher.addDocumentsAsync(chunk);
    else searcher.addDocuments(chunk);
    busy += performance.now() - t;
  }
  searcher.run();
  await searcher.release();
  return busy / 1000;
}

const ceiling = await matmulCeiling(threads, 1);
console.log(`${nq} queries × ${dim} dims, top 100, ${threads} threads; matmul ceiling ${ceiling.toFixed(1)} GFLOP/s; load ${(await import("node:os")).loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log("docs        kernel s   GFLOP/s  of ceiling   scalar s  speed-up   peak RSS");
for (const docs of values.docs!.split(",").map(Number)) {
  const flop = 2 * nq * docs * dim;
  const fast = await timeSearch(docs, true);
  const scalar = docs <= Number(values["scalar-max"]) ? await timeSearch(docs, false) : undefined;
  const gflops = flop / fast / 1e9;
  console.log(
    `${String(docs).padEnd(10)} ${fast.toFixed(2).padStart(9)} ${gflops.toFixed(1).padStart(9)} ${`${((100 * gflops) / ceiling).toFixed(0)}%`.padStart(11)} ` +
      `${scalar === undefined ? "—".padStart(10) : scalar.toFixed(2).padStart(10)} ${scalar === undefined ? "—".padStart(9) : `${(scalar / fast).toFixed(1)}×`.padStart(9)} ${`${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`.padStart(10)}`,
  );
}
