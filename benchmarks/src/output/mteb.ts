import type { FollowIrTaskResult } from "../runners/followir.js";
import type { RetrievalTaskResult } from "../runners/retrieval.js";
import type { ReproducibilityRecord } from "./repro.js";

const LANGUAGES = ["eng-Latn"];

/** One entry of MTEB's `scores[split]` list. */
type ScoreEntry = Record<string, unknown> & { main_score: number; hf_subset: string; languages: string[] };

/**
 * A result file in MTEB's layout (`task_name`, `dataset_revision`, `scores` by split → list of entries with
 * `main_score`, the metrics, `hf_subset` and `languages`, `evaluation_time`). `mteb_version` is null because MTEB
 * did not produce it; dembed's own record sits under `dembed`.
 */
export interface MtebResult {
  dataset_revision: string;
  task_name: string;
  mteb_version: null;
  scores: Record<string, ScoreEntry[]>;
  evaluation_time: number;
  kg_co2_emissions: null;
  dembed: {
    benchmark: string;
    tasks: string[];
    system: string;
    main_metric: string;
    /** Per task: the main score averaged over its splits (LongEmbed passkey/needle: over context lengths). */
    average_main_score: Record<string, number>;
    reproducibility: ReproducibilityRecord;
  };
}

function revisionOf(record: ReproducibilityRecord): string {
  const d = record.dataset;
  if (d.kind === "generated") return `generated:${d.dataset}:seed=${d.seed ?? "?"}`;
  return d.revision ?? "unknown";
}

/** The MTEB result for one task of LongEmbed, or several BRIGHT subsets merged into one BrightRetrieval file. */
export function mtebRetrievalResult(
  taskName: string,
  results: readonly RetrievalTaskResult[],
  systemName: string,
  record: ReproducibilityRecord,
  hfSubset: (r: RetrievalTaskResult) => string,
): MtebResult {
  const scores: Record<string, ScoreEntry[]> = {};
  for (const r of results) {
    for (const s of r.splits) {
      (scores[s.split] ??= []).push({ ...s.scores, main_score: s.mainScore, hf_subset: hfSubset(r), languages: LANGUAGES });
    }
  }
  const first = results[0];
  return {
    dataset_revision: revisionOf(record),
    task_name: taskName,
    mteb_version: null,
    scores,
    evaluation_time: results.reduce((t, r) => t + r.evaluationSeconds, 0),
    kg_co2_emissions: null,
    dembed: {
      benchmark: first?.benchmark ?? "",
      tasks: results.map((r) => r.taskId),
      system: systemName,
      main_metric: first?.mainMetric ?? "",
      average_main_score: Object.fromEntries(results.map((r) => [r.taskId, r.mainScore])),
      reproducibility: record,
    },
  };
}

/** FollowIR in MTEB's InstructionRetrieval form: p-MRR as the main score, og and changed runs under `individual`. */
export function mtebFollowIrResult(taskName: string, r: FollowIrTaskResult, systemName: string, record: ReproducibilityRecord): MtebResult {
  const entry: ScoreEntry = {
    "p-MRR": r.scores.pMRR,
    main_score: r.scores.pMRR,
    [`og_${r.secondaryMetric}`]: r.scores.og[r.secondaryMetric] ?? null,
    individual: { original: r.scores.og, changed: r.scores.changed },
    p_mrr_queries: r.scores.pMRRQueries,
    hf_subset: "default",
    languages: LANGUAGES,
  };
  return {
    dataset_revision: revisionOf(record),
    task_name: taskName,
    mteb_version: null,
    scores: { [r.split]: [entry] },
    evaluation_time: r.evaluationSeconds,
    kg_co2_emissions: null,
    dembed: {
      benchmark: "followir",
      tasks: [r.taskId],
      system: systemName,
      main_metric: "p-MRR",
      average_main_score: { [r.taskId]: r.mainScore },
      reproducibility: record,
    },
  };
}
