// How fast can the main job (`bench:longembed`: the tiny Dream model on generated passkey + needle, 100 documents per
// length, 256…16384 tokens) be? Measures, per context length, the model's forward per document (rows tokenized
// beforehand, as the benchmark's tokenize-ahead has them) and tokenizing per document, then projects the default job's
// forward-only and tokenize-only seconds (2 tasks × 100 documents per length). The forward is almost all attention at
// long lengths (hidden 64, 2 layers: the linears are ≈ 0.15 MFLOP per token, attention 4·layers·hidden·T per token),
// so it is also given in GFLOP/s and as a fraction of ORT's sustained matmul throughput measured in the same run.
//   npx tsx benchmarks/scripts/main-job-floor.ts [--lengths 256,…,16384] [--docs N] [--threads N]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Embedder, ensureTinyModel, padBatch } from "@dembed/models";
import { generatePasskey } from "../src/generate/synthetic.js";
import { matmulCeiling } from "./matmul-ceiling.js";

const { values } = parseArgs({
  options: {
    lengths: { type: "string", default: "256,512,1024,2048,4096,8192,16384" },
    docs: { type: "string", default: "4" },
    threads: { type: "string", default: String(availableParallelism()) },
  },
});
const lengths = values.lengths!.split(",").map(Number);
const docs = Number(values.docs);
const threads = Number(values.threads);
const DOCS_PER_LENGTH = 100;
const TASKS = 2;

const embedder = await Embedder.load(await ensureTinyModel("Dream"), { maxLength: 20480, threads, worker: true });
const { hiddenSize, numLayers } = embedder.model.spec.config;
console.log(`measuring the fp32 matmul ceiling with ${threads} threads …`);
const before = await matmulCeiling(threads, 2);
console.log(`tiny Dream (hidden ${hiddenSize}, ${numLayers} layers), ${threads} threads, ${docs} documents per length`);
console.log("length   tokens/doc   forward s/doc   tokens/s   attention GFLOP/s   tokenize s/doc   job forward s   job tokenize s");
let jobForward = 0;
let jobTokenize = 0;
const rows: Array<{ length: number; gflops: number }> = [];
for (const length of lengths) {
  const texts = generatePasskey({ seed: 42, contextLengths: [length] }).splits[0]!.corpus.map((d) => d.text).slice(0, docs);
  let started = performance.now();
  const encoded = embedder.tokenize(texts, undefined, 20480);
  const tokenizeSeconds = (performance.now() - started) / 1000 / docs;
  await embedder.forward(padBatch([encoded.rows[0]!], encoded.profile)); // session creation and warm-up
  started = performance.now();
  for (const row of encoded.rows) await embedder.forward(padBatch([row], encoded.profile));
  const forwardSeconds = (performance.now() - started) / 1000 / docs;
  const tokens = encoded.rows.reduce((t, r) => t + r.ids.length, 0) / docs;
  const gflops = (4 * numLayers * hiddenSize * tokens * tokens) / forwardSeconds / 1e9;
  rows.push({ length, gflops });
  jobForward += TASKS * DOCS_PER_LENGTH * forwardSeconds;
  jobTokenize += TASKS * DOCS_PER_LENGTH * tokenizeSeconds;
  console.log(
    `${String(length).padStart(6)} ${tokens.toFixed(0).padStart(12)} ${forwardSeconds.toFixed(3).padStart(15)} ${(tokens / forwardSeconds).toFixed(0).padStart(10)} ` +
      `${gflops.toFixed(1).padStart(19)} ${tokenizeSeconds.toFixed(3).padStart(16)} ${(TASKS * DOCS_PER_LENGTH * forwardSeconds).toFixed(1).padStart(15)} ${(TASKS * DOCS_PER_LENGTH * tokenizeSeconds).toFixed(1).padStart(16)}`,
  );
}
await embedder.dispose();
// Other work on a shared machine lowers the ceiling as much as the forward; the higher reading is the fairer anchor.
const ceiling = Math.max(before, await matmulCeiling(threads, 2));
const longest = rows.at(-1)!;
console.log(`matmul ceiling ${ceiling.toFixed(1)} GFLOP/s; attention at ${longest.length} tokens reaches ${((100 * longest.gflops) / ceiling).toFixed(0)}% of it`);
console.log(`default job: forward ≥ ${jobForward.toFixed(0)} s, tokenizing ${jobTokenize.toFixed(0)} s (one thread); peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
