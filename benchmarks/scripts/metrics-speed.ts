/**
 * How fast @dembed/metrics scores a large run: 10,000 queries × 1,000 scored documents (the figure),
 * plus the TREC run file round trip at the same size. Prints numbers; asserts nothing.
 *
 *   npx tsx benchmarks/scripts/metrics-speed.ts [--queries 10000] [--docs 1000] [--relevant 5] [--no-io]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { evaluate, formatTrecEval, readRun, writeRun } from "@dembed/metrics";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const numQueries = flag("queries", 10_000);
const docsPerQuery = flag("docs", 1_000);
const relevantPerQuery = flag("relevant", 5);
const withIo = !process.argv.includes("--no-io");
const MEASURES = ["map", "recip_rank", "P.10", "recall.100", "ndcg", "ndcg_cut.10", "map_cut.100", "success.10", "mrr_cut.10"];

let seed = 12345;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};

/** Wall time, and CPU time of this process (steadier when other work shares the machine). */
function report(label: string, wallStart: number, cpuStart: NodeJS.CpuUsage): void {
  const cpu = process.cpuUsage(cpuStart);
  const wall = (performance.now() - wallStart) / 1000;
  console.log(`${label.padEnd(44)} ${wall.toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s cpu`);
}

function time<T>(label: string, work: () => T): T {
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const result = work();
  report(label, wall, cpu);
  return result;
}

async function timeAsync<T>(label: string, work: () => Promise<T>): Promise<T> {
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const result = await work();
  report(label, wall, cpu);
  return result;
}

console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${cpus().length} cores`);
console.log(`${numQueries} queries × ${docsPerQuery} docs, ~${relevantPerQuery} graded judgements per query (+ as many judged non-relevant)`);
const { qrels, run } = time("build qrels and run in memory", () => {
  const qrels = new Map<string, Map<string, number>>();
  const run = new Map<string, Map<string, number>>();
  for (let q = 0; q < numQueries; q++) {
    const docs = new Map<string, number>();
    // Scores rounded to 1e-3 so ties (broken by doc id) occur as they do in real runs.
    for (let d = 0; d < docsPerQuery; d++) docs.set(`doc${(q * 7919 + d * 104729) % 5_000_000}`, Math.round(random() * 1000) / 1000);
    run.set(`q${q}`, docs);
    const judged = new Map<string, number>();
    const ids = [...docs.keys()];
    for (let j = 0; j < 2 * relevantPerQuery; j++) {
      const id = random() < 0.8 ? ids[Math.floor(random() * ids.length)]! : `unretrieved${q}-${j}`;
      judged.set(id, j < relevantPerQuery ? 1 + Math.floor(random() * 3) : 0);
    }
    qrels.set(`q${q}`, judged);
  }
  return { qrels, run };
});

const result = time(`evaluate ${MEASURES.length} measure families`, () => evaluate(qrels, run, MEASURES));
time("format trec_eval -q output", () => formatTrecEval(result, { perQuery: true }));
time("evaluate again (warm)", () => evaluate(qrels, run, MEASURES));
console.log(`queries evaluated: ${result.numQueries}; ndcg_cut_10 = ${result.aggregate.ndcg_cut_10!.toFixed(4)}`);

if (withIo) {
  const dir = mkdtempSync(join(tmpdir(), "dembed-metrics-speed-"));
  try {
    const path = join(dir, "run.trec");
    await timeAsync("write TREC run file (atomic)", () => writeRun(path, run, { tag: "bench" }));
    console.log(`run file size: ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB`);
    const back = await timeAsync("read TREC run file (streamed)", () => readRun(path));
    console.log(`read back: ${back.size} queries`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
