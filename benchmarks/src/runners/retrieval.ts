import { bm25Search, DenseSearcher, HnswSearcher, IvfSearcher, type Run } from "@dembed/retrieval";
import { addStats, embedTexts, emptyStats, type EmbedOptions, type EmbedStats } from "../embed.js";
import { scoreRun } from "../scoring.js";
import { EncoderMeter, formatSeconds, formatTotals, StageClock, stageTotals, wallSeconds, type StageTime } from "../stages.js";
import type { RunSettings, System } from "../systems.js";
import { silentProgress } from "../systems.js";
import type { RetrievalSplit, RetrievalTaskData } from "../types.js";

export interface SplitResult {
  split: string;
  contextLength?: number;
  run: Run;
  /** MTEB-named scores (fractions in [0, 1]). */
  scores: Record<string, number>;
  mainScore: number;
  numQueries: number;
  numDocs: number;
}

export interface RetrievalTaskResult {
  kind: "retrieval";
  benchmark: RetrievalTaskData["benchmark"];
  taskId: string;
  mainMetric: string;
  splits: SplitResult[];
  /** Mean of the splits' main scores (LongEmbed passkey/needle: the average over context lengths). */
  mainScore: number;
  embedding: EmbedStats;
  instruction: string;
  evaluationSeconds: number;
  /** Where the time went, per split (tokenize, model, pooling, embedding cache, search, BM25, scoring). */
  stages: StageTime[];
}

/**
 * Queries, then documents chunk by chunk, embedded through the cache and searched. `clock` gets the split's time:
 * the encoder's own split (tokenize / model / pooling), the embedding cache (the rest of embedding) and search.
 */
async function denseRun(
  split: RetrievalSplit,
  system: Extract<System, { kind: "dense" }>,
  instruction: string,
  settings: RunSettings,
  label: string,
  stats: EmbedStats,
  clock: StageClock,
  where: Omit<StageTime, "stage" | "seconds">,
): Promise<Run> {
  const progress = settings.progress ?? silentProgress;
  const meter = new EncoderMeter(system.encoder);
  let embedding = 0;
  const embed = async (texts: string[], options: Omit<EmbedOptions, "batchSize" | "cacheDir">) => {
    const started = performance.now();
    // The order embedTexts asks for them (cache hits skipped), so the encoder can tokenize ahead.
    meter.encoder.plan?.(texts, { role: options.role, ...(options.instruction ? { instruction: options.instruction } : {}) });
    const result = await embedTexts(meter.encoder, texts, {
      batchSize: settings.batchSize ?? 8,
      ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}),
      ...(system.sharded ? { sharded: system.sharded } : {}),
      ...options,
    });
    embedding += (performance.now() - started) / 1000;
    addStats(stats, result);
    return result;
  };
  const search = { ...where, stage: "search" } as const;
  const qBar = progress.start(`${label} queries`, split.queries.length);
  const queries = await embed(split.queries.map((q) => q.text), { role: "query", instruction, onProgress: (done, total) => qBar.update(done, total) });
  qBar.stop();
  const searcher = clock.timeSync(search, () => {
    const labeled = { ids: split.queries.map((q) => q.id), vectors: queries.vectors };
    const common = { k: settings.topK ?? 1000, similarity: system.similarity ?? "cosine", ...removedIds(split, settings) };
    const kernel = settings.scorer ? { scorer: settings.scorer } : {};
    if (settings.index === "hnsw") return new HnswSearcher(labeled, { ...common, ...settings.hnsw });
    if (settings.index === "ivf") return new IvfSearcher(labeled, { ...common, ...settings.ivf, ...kernel, ...(settings.pairScorer ? { pairScorer: settings.pairScorer } : {}) });
    return new DenseSearcher(labeled, { ...common, ...kernel });
  });
  // Documents go through in chunks: each chunk is embedded (or read from the cache), scored, and dropped.
  const chunk = settings.docChunk ?? 1024;
  const dBar = progress.start(`${label} documents`, split.corpus.length);
  for (let start = 0; start < split.corpus.length; start += chunk) {
    const docs = split.corpus.slice(start, start + chunk);
    const embedded = await embed(docs.map((d) => d.text), {
      role: "document",
      ...(settings.corpusStorage ? { storage: settings.corpusStorage } : {}),
      onProgress: (done) => dBar.update(start + done, split.corpus.length),
    });
    await clock.time(search, () => searcher.addDocumentsAsync({ ids: docs.map((d) => d.id), vectors: embedded.vectors }));
  }
  dBar.stop();
  clock.addAll(meter.stages(where));
  clock.add({ ...where, stage: "embedding cache", seconds: Math.max(0, embedding - meter.wall) });
  // HNSW and IVF search only now, in run() (IVF builds its lists there too), and release() frees the index: run first.
  const run = await clock.time(search, () => searcher.run());
  await searcher.release();
  return run;
}

/** The ids the searcher drops from the ranking: BRIGHT's exclusions, under its own protocol only. */
function removedIds(split: RetrievalSplit, settings: RunSettings): { exclude?: Record<string, string[]> } {
  const protocol = settings.brightProtocol ?? "bright";
  return split.excluded !== undefined && protocol === "bright" ? { exclude: split.excluded } : {};
}

/** The paper's protocol: an excluded id found in a query's results scores 0; scoring then re-sorts the run. */
export function zeroExcluded(run: Run, excluded: Record<string, string[]>): Run {
  const out: Run = {};
  for (const [qid, docs] of Object.entries(run)) {
    const zeroed = { ...docs };
    for (const id of excluded[qid] ?? []) if (id in zeroed) zeroed[id] = 0;
    out[qid] = zeroed;
  }
  return out;
}

/**
 * Runs one LongEmbed or BRIGHT task: retrieve top-k for every query of every split (BRIGHT's excluded ids removed
 * from the ranking), then score with trec_eval semantics. Queries carry `instruction`; documents none. BM25 reads
 * the bare query, as BRIGHT's and LongEmbed's BM25 baselines do.
 */
export async function runRetrievalTask(
  task: RetrievalTaskData,
  mainMetric: string,
  system: System,
  instruction: string,
  settings: RunSettings = {},
): Promise<RetrievalTaskResult> {
  const started = performance.now();
  const stats = emptyStats();
  const clock = new StageClock();
  const splits: SplitResult[] = [];
  for (const split of task.splits) {
    const label = `${task.taskId}${task.splits.length > 1 ? ` ${split.split}` : ""}`;
    const where = { task: task.taskId, split: split.split, system: system.name };
    const before = clock.entries.length;
    let run: Run;
    if (system.kind === "bm25") {
      const bar = (settings.progress ?? silentProgress).start(`${label} BM25`, split.queries.length);
      run = clock.timeSync({ ...where, stage: "BM25" }, () =>
        bm25Search(split.queries, split.corpus, { ...system.options, k: settings.topK ?? 1000, ...removedIds(split, settings) }),
      );
      bar.update(split.queries.length);
      bar.stop();
    } else {
      run = await denseRun(split, system, instruction, settings, label, stats, clock, where);
    }
    const { scores, numQueries } = clock.timeSync({ ...where, stage: "scoring" }, () => {
      if (split.excluded !== undefined && settings.brightProtocol === "paper") run = zeroExcluded(run, split.excluded);
      return scoreRun(split.qrels, run);
    });
    const spent = stageTotals(clock.entries.slice(before));
    settings.log?.(`${label}, ${system.name}: ${formatSeconds(wallSeconds(spent))} (${formatTotals(spent)})`);
    const mainScore = scores[mainMetric];
    if (mainScore === undefined) throw new Error(`task ${task.taskId}: main metric ${mainMetric} was not computed`);
    splits.push({
      split: split.split,
      ...(split.contextLength === undefined ? {} : { contextLength: split.contextLength }),
      run,
      scores,
      mainScore,
      numQueries,
      numDocs: split.corpus.length,
    });
  }
  const mainScore = splits.reduce((s, r) => s + r.mainScore, 0) / Math.max(1, splits.length);
  return {
    kind: "retrieval",
    benchmark: task.benchmark,
    taskId: task.taskId,
    mainMetric,
    splits,
    mainScore,
    embedding: stats,
    instruction: system.kind === "bm25" ? "" : instruction,
    evaluationSeconds: (performance.now() - started) / 1000,
    stages: [...clock.entries],
  };
}
