// config.json → the one decoder description that the graph builder and the reference read. Architectures supply
// their Hugging Face class defaults; this file validates and names every bad field with the file it came from.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export type AttentionMode = "causal" | "bidirectional";

export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}

export type RopeScaling =
  | { readonly type: "default" }
  | { readonly type: "linear"; readonly factor: number }
  | {
      readonly type: "llama3";
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/** Sizes and numerics shared by every Llama-family decoder (what HF's config classes hold, normalized). */
export interface DecoderConfig {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** attention_bias / mlp_bias as read from config.json (architectures decide what they mean). */
  readonly attentionBias: boolean | undefined;
  readonly mlpBias: boolean;
  readonly padTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
  /** The raw JSON, for architecture-specific fields (e.g. Dream's mask_token_id). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Hugging Face class defaults: used only when config.json leaves a field out. */
export interface ConfigDefaults {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly max_position_embeddings: number;
  readonly tie_word_embeddings: boolean;
}

const posInt = z.number().int().positive();
// Sane ceilings, checked before anything is sized from them: the largest public decoders stay far below these, and a
// typo (num_hidden_layers: 1e9) must fail in a line, not after minutes of allocation.
const bounded = (max: number) => posInt.max(max, `must be at most ${max}`);
const LIMITS = { layers: 1024, hidden: 65_536, intermediate: 262_144, vocab: 4_194_304, heads: 1024, headDim: 1024, positions: 1 << 24 };
// Storage dtypes a config may declare (transformers writes `torch_dtype`, or `dtype` since 4.56).
const declaredDtype = z.enum(["float32", "float16", "bfloat16", "float64", "auto"], {
  message: "expected float32, float16 or bfloat16 (quantized checkpoints are not read; dembed quantizes at load with --weights)",
});
const tokenId = z.number().int().nonnegative().nullable().optional();
const ropeScalingSchema = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().positive().optional(),
    high_freq_factor: z.number().positive().optional(),
    original_max_position_embeddings: posInt.optional(),
  })
  .loose();

function schemaWith(d: ConfigDefaults) {
  return z
    .object({
      model_type: z.string(),
      vocab_size: bounded(LIMITS.vocab).default(d.vocab_size),
      hidden_size: bounded(LIMITS.hidden).default(d.hidden_size),
      intermediate_size: bounded(LIMITS.intermediate).default(d.intermediate_size),
      num_hidden_layers: bounded(LIMITS.layers).default(d.num_hidden_layers),
      num_attention_heads: bounded(LIMITS.heads).default(d.num_attention_heads),
      // null/absent means multi-head attention (as many kv heads as query heads), per HF.
      num_key_value_heads: bounded(LIMITS.heads).nullable().optional(),
      // Llama 3.2 / Qwen3 set head_dim explicitly; otherwise hidden_size / heads.
      head_dim: bounded(LIMITS.headDim).nullable().optional(),
      torch_dtype: declaredDtype.nullable().optional(),
      dtype: declaredDtype.nullable().optional(),
      hidden_act: z.literal("silu", { message: "only 'silu' (SwiGLU) MLPs are supported" }).default("silu"),
      rms_norm_eps: z.number().positive().default(d.rms_norm_eps),
      rope_theta: z.number().positive().optional(),
      rope_scaling: ropeScalingSchema.nullable().optional(),
      // transformers ≥ 4.56 may write rope settings as rope_parameters instead.
      rope_parameters: ropeScalingSchema.extend({ rope_theta: z.number().positive().optional() }).nullable().optional(),
      max_position_embeddings: bounded(LIMITS.positions).default(d.max_position_embeddings),
      tie_word_embeddings: z.boolean().default(d.tie_word_embeddings),
      attention_bias: z.boolean().optional(),
      mlp_bias: z.boolean().default(false),
      pad_token_id: tokenId,
      bos_token_id: tokenId,
      eos_token_id: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullable().optional(),
    })
    .loose();
}

/** "rope_scaling.factor: expected number > 0 (got -1)" — one line per problem. */
export function describeIssues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.map(String).join(".") || "(root)";
      let got: unknown = raw;
      for (const key of issue.path) got = got && typeof got === "object" ? (got as Record<PropertyKey, unknown>)[key] : undefined;
      const shown = got === undefined ? "missing" : JSON.stringify(got)?.slice(0, 60);
      return `field '${field}': ${issue.message} (got ${shown})`;
    })
    .join("; ");
}

function parseRopeScaling(
  raw: z.infer<typeof ropeScalingSchema> | null | undefined,
  file: string,
  supported: readonly RopeScaling["type"][],
): RopeScaling {
  const type = raw?.rope_type ?? raw?.type ?? "default";
  if (!supported.includes(type as RopeScaling["type"])) {
    throw new ModelConfigError(`${file}: field 'rope_scaling.rope_type' is '${type}'; supported here: ${supported.join(", ")}`);
  }
  const need = (key: keyof z.infer<typeof ropeScalingSchema>): number => {
    const v = raw?.[key];
    if (typeof v !== "number") throw new ModelConfigError(`${file}: field 'rope_scaling.${key}' is required for rope_type '${type}'`);
    return v;
  };
  if (type === "linear") return { type, factor: need("factor") };
  if (type === "llama3") {
    return {
      type,
      factor: need("factor"),
      lowFreqFactor: need("low_freq_factor"),
      highFreqFactor: need("high_freq_factor"),
      originalMaxPositionEmbeddings: need("original_max_position_embeddings"),
    };
  }
  return { type: "default" };
}

/** Validates a parsed config.json against one architecture's defaults; errors name `file` and the field. */
export function parseDecoderConfig(
  raw: unknown,
  file: string,
  defaults: ConfigDefaults,
  options: { supportedRopeScaling?: readonly RopeScaling["type"][] } = {},
): DecoderConfig {
  const parsed = schemaWith(defaults).safeParse(raw);
  if (!parsed.success) throw new ModelConfigError(`${file}: ${describeIssues(parsed.error, raw)}`);
  const c = parsed.data;
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    throw new ModelConfigError(
      `${file}: field 'num_key_value_heads' (${numKvHeads}) must divide num_attention_heads (${c.num_attention_heads})`,
    );
  }
  if (c.head_dim == null && c.hidden_size % c.num_attention_heads !== 0) {
    throw new ModelConfigError(
      `${file}: field 'hidden_size' (${c.hidden_size}) is not a multiple of num_attention_heads (${c.num_attention_heads}) and no head_dim is given`,
    );
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (headDim % 2 !== 0) throw new ModelConfigError(`${file}: field 'head_dim' must be even for rotary embeddings (got ${headDim})`);
  const rope = c.rope_parameters ?? c.rope_scaling;
  const eos = c.eos_token_id;
  return {
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta ?? c.rope_parameters?.rope_theta ?? defaults.rope_theta,
    ropeScaling: parseRopeScaling(rope, file, options.supportedRopeScaling ?? ["default"]),
    maxPositionEmbeddings: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings,
    attentionBias: c.attention_bias,
    mlpBias: c.mlp_bias,
    padTokenId: c.pad_token_id ?? null,
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
    raw: c as Record<string, unknown>,
  };
}

/** Reads `<dir>/config.json` as JSON; the error names the file and what is wrong with it. */
export function readConfigJson(dir: string): { raw: Record<string, unknown>; file: string } {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelConfigError(code === "ENOENT" ? `${file}: not found (a model folder needs config.json)` : `${file}: ${String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ModelConfigError(`${file}: expected a JSON object`);
  return { raw: raw as Record<string, unknown>, file };
}
