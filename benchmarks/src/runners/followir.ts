import { bm25Rerank, rerankDense, type Run } from "@dembed/retrieval";
import { embedTexts, emptyStats, addStats, type EmbedStats } from "../embed.js";
import { scoreFollowIr, type FollowIrScores } from "../scoring.js";
import { EncoderMeter, formatSeconds, formatTotals, StageClock, stageTotals, wallSeconds, type StageTime } from "../stages.js";
import type { RunSettings, System } from "../systems.js";
import { silentProgress } from "../systems.js";
import type { FollowIrTaskData, InstructionQuery } from "../types.js";

export interface FollowIrTaskResult {
  kind: "followir";
  benchmark: "followir";
  taskId: string;
  split: string;
  /** Main score: p-MRR in [-1, 1]. */
  mainScore: number;
  scores: FollowIrScores;
  /** The og-instruction metric the task reports beside p-MRR (map_at_1000 or ndcg_at_5). */
  secondaryMetric: string;
  runOg: Run;
  runChanged: Run;
  embedding: EmbedStats;
  instruction: string;
  evaluationSeconds: number;
  /** Where the time went (tokenize, model, pooling, embedding cache, search = reranking, BM25, scoring). */
  stages: StageTime[];
}

/** FollowIR's query text: the query, a space, then the narrative instruction. */
const queryText = (q: InstructionQuery, which: "og" | "changed") => `${q.text} ${which === "og" ? q.instructionOg : q.instructionChanged}`;

/**
 * Reranks each query's top_ranked candidates twice, under the original and the changed instruction, and scores
 * p-MRR between the two runs plus the og run's trec_eval measures. Documents are embedded once for both runs.
 */
export async function runFollowIrTask(
  task: FollowIrTaskData,
  secondaryMetric: string,
  system: System,
  instruction: string,
  settings: RunSettings = {},
): Promise<FollowIrTaskResult> {
  const started = performance.now();
  const stats = emptyStats();
  const clock = new StageClock();
  const where = { task: task.taskId, split: task.split, system: system.name };
  const progress = settings.progress ?? silentProgress;
  const queryItems = (which: "og" | "changed") => task.queries.map((q) => ({ id: q.id, text: queryText(q, which) }));
  let runOg: Run;
  let runChanged: Run;
  if (system.kind === "bm25") {
    const bar = progress.start(`${task.taskId} BM25`, 2);
    const bm25 = { ...where, stage: "BM25" } as const;
    runOg = clock.timeSync(bm25, () => bm25Rerank(queryItems("og"), task.corpus, task.topRanked, system.options));
    bar.update(1);
    runChanged = clock.timeSync(bm25, () => bm25Rerank(queryItems("changed"), task.corpus, task.topRanked, system.options));
    bar.update(2);
    bar.stop();
  } else {
    const common = { batchSize: settings.batchSize ?? 8, ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}), ...(system.sharded ? { sharded: system.sharded } : {}) };
    const meter = new EncoderMeter(system.encoder);
    let embedding = 0;
    const embed: typeof embedTexts = async (encoder, texts, options) => {
      const at = performance.now();
      encoder.plan?.(texts, { role: options.role, ...(options.instruction ? { instruction: options.instruction } : {}) });
      const result = await embedTexts(encoder, texts, options);
      embedding += (performance.now() - at) / 1000;
      addStats(stats, result);
      return result;
    };
    const needed = new Set(Object.values(task.topRanked).flat());
    const docs = task.corpus.filter((d) => needed.has(d.id));
    const dBar = progress.start(`${task.taskId} documents`, docs.length);
    const docVectors = await embed(meter.encoder, docs.map((d) => d.text), {
      ...common,
      role: "document",
      ...(settings.corpusStorage ? { storage: settings.corpusStorage } : {}),
      onProgress: (done, total) => dBar.update(done, total),
    });
    dBar.stop();
    const byId = new Map(docs.map((d, i) => [d.id, docVectors.vectors[i] as Float32Array]));
    const runs: Run[] = [];
    for (const which of ["og", "changed"] as const) {
      const items = queryItems(which);
      const qBar = progress.start(`${task.taskId} queries (${which})`, items.length);
      const q = await embed(meter.encoder, items.map((i) => i.text), { ...common, role: "query", instruction, onProgress: (done, total) => qBar.update(done, total) });
      qBar.stop();
      runs.push(clock.timeSync({ ...where, stage: "search" }, () => rerankDense({ ids: items.map((i) => i.id), vectors: q.vectors }, byId, task.topRanked, system.similarity ?? "cosine")));
    }
    clock.addAll(meter.stages(where));
    clock.add({ ...where, stage: "embedding cache", seconds: Math.max(0, embedding - meter.wall) });
    [runOg, runChanged] = runs as [Run, Run];
  }
  const scores = clock.timeSync({ ...where, stage: "scoring" }, () => scoreFollowIr(runOg, runChanged, task.qrelsOg, task.qrelsChanged, settings.followirScoring ?? "paired"));
  const spent = stageTotals(clock.entries);
  settings.log?.(`${task.taskId}, ${system.name}: ${formatSeconds(wallSeconds(spent))} (${formatTotals(spent)})`);
  return {
    kind: "followir",
    benchmark: "followir",
    taskId: task.taskId,
    split: task.split,
    mainScore: scores.pMRR,
    scores,
    secondaryMetric,
    runOg,
    runChanged,
    embedding: stats,
    instruction: system.kind === "bm25" ? "" : instruction,
    evaluationSeconds: (performance.now() - started) / 1000,
    stages: [...clock.entries],
  };
}
