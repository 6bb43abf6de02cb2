import { basename } from "node:path";
import type { FollowIrTaskResult } from "../runners/followir.js";
import type { RetrievalTaskResult } from "../runners/retrieval.js";
import type { StageTime } from "../stages.js";
import { slug, type System } from "../systems.js";
import type { ReproducibilityRecord } from "./repro.js";

/**
 * The MTEB release whose result format dembed writes. MTEB reads `mteb_version` to pick a loader: below 1.11.0 it
 * converts an older layout, below 1.12.48 it rewrites pair-classification scores; 1.14.12 is what the paper's fork
 * was built on, and MTEB 2.x reads its files unchanged.
 */
export const MTEB_VERSION = "1.14.12";
/** MTEB's own label for a model without a revision (its results folder is named so). */
export const NO_REVISION = "no_revision_available";
/** dataset_revision of a generated task MTEB does not have: says plainly that no dataset was read. */
export const GENERATED = "generated";

const LANGUAGES = ["eng-Latn"];

/** One entry of MTEB's `scores[split]` list. */
type ScoreEntry = Record<string, unknown> & { main_score: number; hf_subset: string; languages: string[] };

/**
 * A result file as MTEB writes it (1.14.12's MTEBResults, 2.x's TaskResult): `dataset_revision`, `task_name`,
 * `mteb_version`, `scores` by split → entries with `main_score`, the metrics, `hf_subset` and `languages`,
 * `evaluation_time`, `kg_co2_emissions`. MTEB ignores other keys; dembed's own record sits under `dembed`.
 */
export interface MtebResult {
  dataset_revision: string;
  task_name: string;
  mteb_version: string;
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
    /** For generated data, what generated it (dataset_revision then names the dataset MTEB reads for the task). */
    generated_data: string | null;
    /** Where this system's time on these tasks went, per split and stage (see stages.ts); seconds of wall time. */
    stage_seconds: Array<{ task: string; split: string | null; stage: string; seconds: number }>;
    reproducibility: ReproducibilityRecord;
  };
}

const stageSeconds = (stages: readonly StageTime[]) => stages.map((e) => ({ task: e.task ?? "", split: e.split ?? null, stage: e.stage, seconds: e.seconds }));

/** What every result file of one task needs besides its scores. */
export interface ResultContext {
  taskName: string;
  system: string;
  record: ReproducibilityRecord;
  /** The dataset revision MTEB 1.14.12's task metadata names, when MTEB has the task; written for generated data. */
  mtebRevision: string | null;
}

/**
 * The revision read, or for generated data MTEB's own revision of the task (MTEB compares it with its metadata),
 * else "generated". Never a free-text description: that goes to `dembed.generated_data`.
 */
function datasetRevision(ctx: ResultContext): string {
  const d = ctx.record.dataset;
  if (d.kind === "generated") return ctx.mtebRevision ?? GENERATED;
  return d.revision ?? "unknown";
}

function generatedData(record: ReproducibilityRecord): string | null {
  const d = record.dataset;
  if (d.kind !== "generated") return null;
  const g = d.generator;
  const sizes = g ? `; context lengths ${g.contextLengths.join(", ")} tokens at ${g.wordsPerToken} words per token, ${g.docsPerLength} documents and ${g.queriesPerLength} queries per length` : "";
  return `${d.dataset}, seed ${d.seed ?? "?"}${sizes}`;
}

function header(ctx: ResultContext, evaluationSeconds: number) {
  return { dataset_revision: datasetRevision(ctx), task_name: ctx.taskName, mteb_version: MTEB_VERSION, evaluation_time: evaluationSeconds, kg_co2_emissions: null } as const;
}

/** The MTEB result for one task of LongEmbed, or several BRIGHT subsets merged into one BrightRetrieval file. */
export function mtebRetrievalResult(ctx: ResultContext, results: readonly RetrievalTaskResult[], hfSubset: (r: RetrievalTaskResult) => string): MtebResult {
  const scores: Record<string, ScoreEntry[]> = {};
  for (const r of results) {
    for (const s of r.splits) {
      (scores[s.split] ??= []).push({ ...s.scores, main_score: s.mainScore, hf_subset: hfSubset(r), languages: LANGUAGES });
    }
  }
  const first = results[0];
  return {
    ...header(ctx, results.reduce((t, r) => t + r.evaluationSeconds, 0)),
    scores,
    dembed: {
      benchmark: first?.benchmark ?? "",
      tasks: results.map((r) => r.taskId),
      system: ctx.system,
      main_metric: first?.mainMetric ?? "",
      average_main_score: Object.fromEntries(results.map((r) => [r.taskId, r.mainScore])),
      generated_data: generatedData(ctx.record),
      stage_seconds: stageSeconds(results.flatMap((r) => r.stages)),
      reproducibility: ctx.record,
    },
  };
}

/** FollowIR in MTEB's InstructionRetrieval form: p-MRR as the main score, og and changed runs under `individual`. */
export function mtebFollowIrResult(ctx: ResultContext, r: FollowIrTaskResult): MtebResult {
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
    ...header(ctx, r.evaluationSeconds),
    scores: { [r.split]: [entry] },
    dembed: {
      benchmark: "followir",
      tasks: [r.taskId],
      system: ctx.system,
      main_metric: "p-MRR",
      average_main_score: { [r.taskId]: r.mainScore },
      generated_data: generatedData(ctx.record),
      stage_seconds: stageSeconds(r.stages),
      reproducibility: ctx.record,
    },
  };
}

/**
 * model_meta.json: the keys MTEB 1.14.12's ModelMeta requires (name, revision, release_date, languages) and every
 * key 2.x's ModelMeta has no default for, so either version accepts it. 2.x reads name and revision from it.
 */
export interface MtebModelMeta {
  name: string;
  revision: string;
  release_date: null;
  languages: string[] | null;
  loader: null;
  n_parameters: number | null;
  memory_usage_mb: null;
  max_tokens: number | null;
  embed_dim: number | null;
  license: null;
  open_weights: null;
  public_training_code: null;
  public_training_data: null;
  framework: string[];
  similarity_fn_name: "cosine" | null;
  use_instructions: boolean;
  training_datasets: null;
  adapted_from: string | null;
  modalities: ["text"];
}

const looksLikePath = (name: string) => /^(\/|\.\.?\/|~)/.test(name);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * The model as MTEB names it. A model folder is named by its last path part; a hub snapshot
 * (…/snapshots/<commit>) gives its commit as the revision. A LoRA adapter makes another model: "<base>+<adapter>",
 * adapted from the base, its revision the adapter's content hash.
 */
export function mtebModelMeta(system: System, instruction: string): MtebModelMeta {
  const described = system.kind === "dense" ? system.encoder.describe() : {};
  const base = looksLikePath(system.name) ? basename(system.name) : system.name;
  const modelDir = typeof described.modelDir === "string" ? described.modelDir : "";
  const commit = /\/snapshots\/([0-9a-f]{40})\/?$/.exec(modelDir)?.[1];
  const adapter = typeof described.adapter === "string" ? described.adapter : undefined;
  const fingerprint = typeof described.adapterFingerprint === "string" ? described.adapterFingerprint : undefined;
  return {
    name: adapter ? `${base}+${basename(adapter)}` : base,
    revision: adapter ? (fingerprint?.slice(0, 16) ?? NO_REVISION) : (commit ?? NO_REVISION),
    release_date: null,
    languages: null,
    loader: null,
    n_parameters: null,
    memory_usage_mb: null,
    max_tokens: num(described.maxLength),
    embed_dim: num(described.dim),
    license: null,
    open_weights: null,
    public_training_code: null,
    public_training_data: null,
    framework: system.kind === "dense" ? ["ONNX"] : [],
    similarity_fn_name: system.kind === "dense" ? "cosine" : null,
    use_instructions: system.kind === "dense" && instruction !== "",
    training_datasets: null,
    adapted_from: adapter ? base : null,
    modalities: ["text"],
  };
}

/** `<model>/<revision>`, MTEB's results folder for a model: "/" in the name becomes "__", other unsafe characters "_". */
export function mtebResultFolder(meta: Pick<MtebModelMeta, "name" | "revision">): string {
  return `${slug(meta.name.replaceAll("/", "__"))}/${slug(meta.revision)}`;
}
