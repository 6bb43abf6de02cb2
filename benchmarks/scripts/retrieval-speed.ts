/**
 * Speed of @dembed/retrieval on this machine. Prints figures; nothing is asserted.
 * 1. Corpus scale: 100 queries against 10k, 100k and 1M generated clustered documents of 1024 dims, each search in
 *    its own process so each peak RSS is its own: exact search on ORT's SGEMM (the CLI's kernel; "ort-fed" re-feeds
 *    one pre-generated chunk after 3 s of matmul: no cold start, no generation pauses) and on the scalar loop (up to
 *    100k docs); documents stream through in blocks (--block, default 1,024 as in the CLI), never held whole. Then HNSW
 *    (usearch) and IVF (ours: k-means lists; its build and its search run on ORT's SGEMM) at their defaults, with recall@100
 *    against the exact ranking of the same run; IVF's build (k-means, lists) is timed apart from its search. GFLOP/s is
 *    2·queries·docs·dim over the time in the searcher (generation and the ORT session's creation excluded).
 *    "ort-f16" and "ort-int8" search the corpus as `--corpus-storage f16|int8` keeps it (each vector rounded as the
 *    embedding cache stores it, outside the timing), with recall@100 against "ort"'s fp32 ranking.
 * 2. BM25 indexing and search on generated needle text.
 * Run: npx tsx benchmarks/scripts/retrieval-speed.ts [--docs 10000,100000,1000000] [--dim 1024] [--queries 100] [--block 1024]
 *      [--methods ort,ort-fed,scalar,hnsw,ivf,ort-f16,ort-int8]   (recall and overlap are against "ort", so keep it first)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createDotScorer, createPairScorer } from "@dembed/onnx";
import { Bm25Index, DenseSearcher, HnswSearcher, IvfSearcher, describeHnsw, describeIvf, storedVector } from "@dembed/retrieval";
import { generateNeedle } from "../src/generate/synthetic.js";
import { matmulCeiling, measureMatmul } from "./matmul-ceiling.js";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "10000,100000,1000000" },
    dim: { type: "string", default: "1024" },
    queries: { type: "string", default: "100" },
    block: { type: "string", default: "1024" },
    methods: { type: "string", default: "ort,ort-fed,scalar,hnsw,ivf" },
    case: { type: "string" },
    out: { type: "string" },
  },
});
const dim = Number(values.dim);
const queryCount = Number(values.queries);
const blockSize = Number(values.block);
const K = 100;
const CHUNK = 16_384;
const CLUSTERS = 2000;
type Method = "ort" | "ort-fed" | "scalar" | "hnsw" | "ivf" | "ort-f16" | "ort-int8";

/**
 * Deterministic clustered vectors: row i is centre (i mod CLUSTERS) plus uniform noise, the same rows whatever the
 * chunking. A chunk is one matrix and its rows are views of it, as a block read from an Arrow column would be.
 */
const centres = Float32Array.from({ length: CLUSTERS * dim }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
function rows(start: number, count: number, salt: number): Float32Array[] {
  const matrix = new Float32Array(count * dim);
  return Array.from({ length: count }, (_, r) => {
    const i = start + r;
    let s = (Math.imul(i + 1, 2654435761) ^ salt) >>> 0;
    const v = matrix.subarray(r * dim, (r + 1) * dim);
    for (let j = 0; j < dim; j++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      v[j] = centres[(i % CLUSTERS) * dim + j]! + 0.35 * (s / 2 ** 32 - 0.5);
    }
    return v;
  });
}

async function runCase(docCount: number, method: Method, out: string): Promise<void> {
  const queries = { ids: Array.from({ length: queryCount }, (_, i) => `q${i}`), vectors: rows(0, queryCount, 0x9e3779b9) };
  const rssBefore = process.memoryUsage().rss;
  const searcher =
    method === "hnsw"
      ? new HnswSearcher(queries, { k: K })
      : method === "ivf"
        ? new IvfSearcher(queries, { k: K, scorer: createDotScorer, pairScorer: createPairScorer })
        : new DenseSearcher(queries, { k: K, blockSize, ...(method.startsWith("ort") ? { scorer: createDotScorer } : {}) });
  // Exact search on ORT builds its session with the first documents; timed apart from the scoring.
  let t = performance.now();
  await searcher.addDocumentsAsync({ ids: [], vectors: [] });
  const setupSeconds = (performance.now() - t) / 1000;
  let addSeconds = 0;
  // "ort-fed": one chunk generated up front and fed again and again (new ids; its ranking is of another corpus), after
  // 3 s of matmul. This VM's cores run slow for the first seconds of sustained work, and again after each single-core
  // pause such as generating a chunk; a run whose search follows the embedding sees this figure more than the cold one.
  const fed = method === "ort-fed" ? rows(0, CHUNK, 0x85ebca6b) : undefined;
  if (fed) await measureMatmul({ m: 512, k: 896, n: 4864, seconds: 3 });
  for (let start = 0; start < docCount; start += CHUNK) {
    const count = Math.min(CHUNK, docCount - start);
    const generated = fed?.slice(0, count) ?? rows(start, count, 0x85ebca6b);
    const storage = method === "ort-f16" ? "f16" : method === "ort-int8" ? "int8" : undefined;
    const docs = { ids: Array.from({ length: count }, (_, r) => `d${start + r}`), vectors: storage ? generated.map((v) => storedVector(v, storage)) : generated };
    t = performance.now();
    await searcher.addDocumentsAsync(docs);
    addSeconds += (performance.now() - t) / 1000;
  }
  // IVF trains its lists only once every document is in: that is its build, timed apart from the search.
  t = performance.now();
  if (searcher instanceof IvfSearcher) await searcher.build();
  const buildSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const run = await searcher.run();
  const runSeconds = (performance.now() - t) / 1000;
  await searcher.release();
  const peakBeyondQueries = process.resourceUsage().maxRSS * 1024 - rssBefore;
  writeFileSync(out, JSON.stringify({ run: Object.fromEntries(Object.entries(run).map(([q, d]) => [q, Object.keys(d)])), setupSeconds, addSeconds, buildSeconds, runSeconds, peakBeyondQueries }));
}

function recall(approx: Record<string, string[]>, exact: Record<string, string[]>): number {
  let hit = 0;
  let total = 0;
  for (const [q, ids] of Object.entries(exact)) {
    const found = new Set(approx[q]);
    for (const id of ids.slice(0, K)) (total++, found.has(id) && hit++);
  }
  return hit / total;
}

async function main(): Promise<void> {
  const threads = availableParallelism();
  const ceiling = await matmulCeiling(threads, 1);
  console.log(`fp32 matmul ceiling: ${ceiling.toFixed(1)} GFLOP/s with ${threads} threads; ${queryCount} queries, ${dim} dims, top ${K}, ${CLUSTERS} clusters, blocks of ${blockSize}`);
  console.log(`HNSW settings: ${describeHnsw({})}`);
  console.log(`IVF settings: ${describeIvf({})}`);
  const dir = mkdtempSync(join(tmpdir(), "dembed-retrieval-speed-"));
  try {
    for (const docCount of values.docs!.split(",").map(Number)) {
      const results = new Map<Method, { run: Record<string, string[]>; setupSeconds: number; addSeconds: number; buildSeconds: number; runSeconds: number; peakBeyondQueries: number }>();
      for (const method of values.methods!.split(",") as Method[]) {
        if (method === "scalar" && docCount > 100_000) continue; // about 1 GFLOP/s: minutes at 1M
        const out = join(dir, `${method}-${docCount}.json`);
        execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--case", `${docCount}:${method}`, "--out", out, "--dim", String(dim), "--queries", String(queryCount), "--block", String(blockSize)], { stdio: "inherit" });
        const r = JSON.parse(readFileSync(out, "utf8"));
        results.set(method, r);
        const seconds = r.addSeconds + r.runSeconds;
        const gflops = (2 * queryCount * docCount * dim) / seconds / 1e9;
        const memory = `peak ${(r.peakBeyondQueries / 2 ** 30).toFixed(2)} GiB beyond the queries`;
        const exact = results.get("ort")?.run;
        const against = (what: string) => (exact ? `${what} ${recall(r.run, exact).toFixed(4)}` : `${what} not measured (no "ort" run)`);
        const approximate = `search ${r.runSeconds.toFixed(2)} s, ${against(`recall@${K}`)}, ${memory}`;
        const line =
          method === "hnsw"
            ? `build ${r.addSeconds.toFixed(1)} s (${(docCount / r.addSeconds).toFixed(0)} docs/s), ${approximate}`
            : method === "ivf"
              ? `build ${(r.addSeconds + r.buildSeconds).toFixed(1)} s (storing ${r.addSeconds.toFixed(1)} s, k-means and lists ${r.buildSeconds.toFixed(1)} s), ${approximate}`
              : `${seconds.toFixed(2)} s (+ ${r.setupSeconds.toFixed(2)} s setup), ${gflops.toFixed(1)} GFLOP/s (${((100 * gflops) / ceiling).toFixed(0)}% of the ceiling), ${memory}` +
                (method === "scalar" ? `, ${against(`top-${K} overlap with ort's`)}` : "") +
                (method === "ort-f16" || method === "ort-int8" ? `, ${against(`recall@${K} against fp32 storage`)}` : "");
        console.log(`${String(docCount).padStart(8)} docs  ${method.padEnd(8)} ${line}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const data = generateNeedle({ contextLengths: [256, 1024], docsPerLength: 100, queriesPerLength: 50 });
  const corpus = data.splits.flatMap((s) => s.corpus.map((d) => ({ id: d.id, text: d.text })));
  const words = corpus.reduce((n, d) => n + d.text.split(/\s+/).length, 0);
  let t = performance.now();
  const index = new Bm25Index().addAll(Array.from({ length: 20 }, (_, r) => corpus.map((d) => ({ id: `${r}-${d.id}`, text: d.text }))).flat());
  const indexSeconds = (performance.now() - t) / 1000;
  console.log(`BM25 index: ${index.size} docs, ${((words * 20) / 1e6).toFixed(1)}M words in ${indexSeconds.toFixed(2)} s (${((words * 20) / indexSeconds / 1e6).toFixed(2)}M words/s)`);
  const queries = data.splits.flatMap((s) => s.queries);
  t = performance.now();
  for (const q of queries) index.search(q.text, 1000);
  const searchSeconds = (performance.now() - t) / 1000;
  console.log(`BM25 search: ${queries.length} queries over ${index.size} docs in ${searchSeconds.toFixed(2)} s (${((searchSeconds / queries.length) * 1000).toFixed(1)} ms/query)`);
}

if (values.case) {
  const [docs, method] = values.case.split(":") as [string, Method];
  await runCase(Number(docs), method, values.out!);
} else await main();
