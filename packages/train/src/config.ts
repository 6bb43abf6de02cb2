import { readTextFile } from "@dembed/files";
import { z } from "zod";

/** The seven projections of a Llama / Qwen2 block, PEFT module names. */
export const ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;

const positiveInt = z.int().positive();

const ModelSchema = z.strictObject({
  /** Hugging Face id (`org/name`, found in the local HF cache) or a folder in HF layout. */
  base: z.string().min(1),
  /** A PEFT LoRA adapter merged into the base before training (llm2vec's MNTP adapters), or none. */
  adapter: z.string().min(1).nullable().default(null),
  attention: z.enum(["bidirectional", "causal"]),
  pooling: z.enum(["mean", "weighted_mean", "last_token", "eos_token", "bos_token"]),
  /**
   * Pool only the text's tokens (true) or also the instruction's (false). Saved with the adapter so evaluation
   * pools the way training did.
   */
  skip_instruction: z.boolean(),
  /** Wraps every input (instruction + text); `{input}` marks where it goes. Also saved with the adapter. */
  prompt_template: z.string().refine((t) => t.split("{input}").length === 2, "must contain {input} exactly once").default("{input}"),
});

/** Options every source takes: caps on what is read. Batching follows the source (E5 by file, ReasonAug by task). */
const capFields = {
  /** Keep at most this many records in all (in file order). */
  max_samples: positiveInt.nullable().default(null),
  /**
   * For an HF id: the Hub-cache snapshot to read (a 40-hex commit, or a ref name under refs/); null for refs/main.
   * No revision is pinned by default because the reference names none (datasets/README.md).
   */
  revision: z
    .string()
    .regex(/^(?:[0-9a-f]{40}|[A-Za-z0-9._/-]+)$/, "must be a 40-hex commit or a ref name")
    .nullable()
    .default(null),
};

const DataSchema = z.discriminatedUnion("source", [
  z.strictObject({
    source: z.literal("e5"),
    /** Folder of `{name}.jsonl` files (echo-data). */
    path: z.string().min(1),
    /** Rows taken from the top of each file (the long-document recipe uses 8000). */
    max_per_file: positiveInt.nullable().default(null),
    /** Only these files (names without .jsonl); null for the reference's 12 (E5_REFERENCE_FILES in @dembed/data). */
    files: z.array(z.string().min(1)).nonempty().nullable().default(null),
    ...capFields,
  }),
  z.strictObject({
    source: z.literal("msmarco-w-instructions"),
    /** Folder or parquet file of the HF dataset, or its id in the local HF cache. */
    path: z.string().min(1),
    /** Hard negatives per query: up to new_negatives from new_negatives first, the rest sampled from negative_passages. */
    negatives: positiveInt.default(15),
    /** At most this many instruction-aware negatives (the reference takes 3). */
    new_negatives: z.int().nonnegative().default(3),
    instruction: z.string().nullable().default(null),
    ...capFields,
  }),
  z.strictObject({
    source: z.literal("reasonaug"),
    path: z.string().min(1),
    ...capFields,
  }),
  z.strictObject({
    source: z.literal("custom"),
    /** JSONL lines `{"query","positive","negatives":[...]}`, optional "instruction", "task", "id". */
    path: z.string().min(1),
    /** Instruction for records without one. */
    instruction: z.string().default(""),
    /** Require exactly this many negatives per record; null for any. */
    negatives: z.int().nonnegative().nullable().default(null),
    ...capFields,
  }),
]);

const LossSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hard-negative-nll"), scale: z.number().positive().default(50) }),
  z.strictObject({
    type: z.literal("repllama"),
    scale_by_dim: z.boolean().default(false),
    in_batch_negatives: z.boolean().default(false),
  }),
]);

const OptimSchema = z.strictObject({
  lr: z.number().positive(),
  schedule: z.enum(["linear", "constant"]).default("linear"),
  warmup_steps: z.int().nonnegative(),
  weight_decay: z.number().nonnegative().default(0),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  max_grad_norm: z.number().positive().default(1.0),
});

const BatchSchema = z.strictObject({
  /** Queries per optimizer step (the reference's per-device batch × GPUs × accumulation). */
  global: positiveInt,
  /**
   * Loss computations per optimizer step. The loss sees global / accumulation_steps queries at once, which is
   * how many the reference's gathered loss saw (per-device batch × 4 GPUs).
   */
  accumulation_steps: positiveInt.default(1),
  /** Texts per forward/VJP chunk in GradCache: bounds activation memory, not the loss batch. */
  chunk_size: positiveInt,
});

const LoraSchema = z.strictObject({
  r: positiveInt,
  /** Scaling is alpha / r; a real setting, not tied to 2r. */
  alpha: z.number().positive(),
  dropout: z.number().min(0).lt(1),
  target_modules: z.array(z.enum(ALL_PROJECTIONS)).nonempty().default([...ALL_PROJECTIONS]),
  /** PEFT's `init_lora_weights`: true = A Kaiming-uniform, B zero; "gaussian" = A normal(0, 1/r), B zero. */
  init: z.union([z.literal(true), z.literal("gaussian")]).default(true),
});

export const TrainConfigSchema = z
  .strictObject({
    /** Free text: where the values come from, deviations from the reference. Ignored by the trainer. */
    notes: z.string().optional(),
    model: ModelSchema,
    data: DataSchema,
    loss: LossSchema,
    optim: OptimSchema,
    batch: BatchSchema,
    /** Token limits: queries (instruction included) and documents. */
    max_length: z.strictObject({ query: positiveInt, document: positiveInt }),
    lora: LoraSchema,
    /** The step training stops at; the linear schedule decays to 0 exactly here. */
    steps: positiveInt,
    save_steps: positiveInt,
    /** Complete checkpoints kept on disk (the newest ones). */
    keep_checkpoints: positiveInt.default(2),
    log_steps: positiveInt.default(1),
    seed: z.int().nonnegative(),
  })
  .superRefine((c, ctx) => {
    if (c.batch.global % c.batch.accumulation_steps !== 0) {
      ctx.addIssue({ code: "custom", path: ["batch", "accumulation_steps"], message: `must divide batch.global (${c.batch.global})` });
    }
    if (c.optim.warmup_steps > c.steps) {
      ctx.addIssue({ code: "custom", path: ["optim", "warmup_steps"], message: `must not exceed steps (${c.steps})` });
    }
  });

/** A validated train config with every default filled in. */
export type TrainConfig = z.output<typeof TrainConfigSchema>;
/** What a config file may contain (defaults optional). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Validates a parsed config; errors list every problem as `<source>: <field path>: <message>`. */
export function parseTrainConfig(value: unknown, source = "train config"): TrainConfig {
  const result = TrainConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${source}: ${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`);
  throw new Error(`invalid train config\n${lines.join("\n")}`);
}

/**
 * The config run for `steps` steps instead (a short trial of a long recipe): checkpoints at most every `steps`, and a
 * warmup longer than the run scaled to the same fraction of it. `note` says what was changed, for the log.
 */
export function withSteps(config: TrainConfig, steps: number, source: string): { config: TrainConfig; note?: string } {
  const warmup = config.optim.warmup_steps;
  const scaled = warmup > steps ? Math.round((warmup * steps) / config.steps) : warmup;
  const next = parseTrainConfig({ ...config, steps, save_steps: Math.min(config.save_steps, steps), optim: { ...config.optim, warmup_steps: scaled } }, source);
  if (scaled === warmup) return { config: next };
  const percent = ((100 * warmup) / config.steps).toFixed(1);
  return {
    config: next,
    note: `${steps} steps is shorter than the config's warmup of ${warmup} steps; warmup scaled to ${scaled} (the recipe's ${percent} % of the run). Set optim.warmup_steps to choose it yourself.`,
  };
}

/** Reads and validates a JSON config file; JSON syntax errors name the file. */
export async function loadTrainConfig(path: string): Promise<TrainConfig> {
  const text = await readTextFile(path, "train config");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  return parseTrainConfig(value, path);
}
