// Text → embedding as small visible parts (sentence-transformers style): tokenize (instruction + text, embed mask,
// counted truncation) → sort by length and batch → model (last_hidden_state) → pool over the embed mask → normalize.
import { pool, rows, type PoolingMode } from "@dembed/pooling";
import type { Device, Logger, Tensor } from "@dembed/onnx";
import type { AttentionMode } from "./config.js";
import type { LinearHook } from "./graph/build.js";
import type { ComputeDtype } from "./graph/inputs.js";
import { join } from "node:path";
import { loadModel, type LoadedModel } from "./model.js";
import { dembedCacheDir } from "./tiny-ref.js";
import type { ResolveOptions } from "./resolve.js";
import { DecoderSession, defaultEmbeddings, type HiddenStates, type KernelChoice } from "./session/decoder.js";
import { planModelWeights, prepareWeights } from "./load-weights.js";
import type { QuantizeProgress } from "./quantized.js";
import { availableMemory, fittingBatch, type WeightChoice, type WeightFormat } from "./weight-format.js";
import { encodeForEmbedding, loadTokenizer, padBatch, profileWithTemplate, type EncodedBatch, type EncodedRows, type Tokenizer, type TokenizerProfile } from "./tokenizer/index.js";

/**
 * What an adapter package (e.g. @dembed/lora applying a PEFT folder) hands the Embedder: a hook that rewrites each
 * linear layer's output while the graph is built, plus values for any graph inputs that hook created.
 */
export interface LinearAdapter {
  readonly name: string;
  readonly linearHook: LinearHook;
  readonly feeds?: () => Readonly<Record<string, Tensor>>;
}

export interface EmbedderOptions {
  readonly device?: Device;
  /** Default: the architecture's own (Dream bidirectional, autoregressive models causal). */
  readonly attention?: AttentionMode;
  /** Default "mean". last_token / eos_token append the EOS token after truncation. */
  readonly pooling?: PoolingMode;
  /** Longest input in tokens, special tokens included. Default 512 (llm2vec's default); `encode` may override it. */
  readonly maxLength?: number;
  /**
   * Pool only the text's tokens (true, default) or also the instruction's, BOS and template (false, as the
   * reference trains). Use the value the adapter was trained with (its dembed_adapter.json).
   */
  readonly skipInstruction?: boolean;
  /** Wraps instruction + text; `{input}` marks where it goes. Default: the architecture's profile template (none). */
  readonly promptTemplate?: string;
  readonly dtype?: ComputeDtype;
  readonly adapter?: LinearAdapter;
  readonly threads?: number;
  readonly kernel?: KernelChoice;
  /** Run ORT in a worker thread (keeps progress displays moving). */
  readonly worker?: boolean;
  /** Overrides of the architecture's tokenizer profile (pad, eos, padding side, template …). */
  readonly profile?: Partial<TokenizerProfile>;
  readonly resolve?: ResolveOptions;
  /** An already loaded tokenizer for this model (loading Qwen's takes seconds). */
  readonly tokenizer?: Tokenizer;
  readonly logger?: Logger;
  /**
   * How the weights are held: fp32, bf16 (a BF16/F16 checkpoint as stored, widened per layer at run time), int8 or
   * int4 (MatMulNBits, quantized at load and cached), or auto (default): the most faithful that fits in memory.
   */
  readonly weights?: WeightChoice;
  /**
   * Keep ORT's optimized graph and pre-packed weights in $DEMBED_CACHE/sessions and open from there next time: a first
   * run is slower and the entry takes disk, later runs start faster (measured in the @dembed/onnx README, "Session
   * cache"). Default: on when $DEMBED_SESSION_CACHE is "1". CPU only.
   */
  readonly sessionCache?: boolean;
  /** Bytes the memory plan may use (default: what the OS reports available). */
  readonly memoryBytes?: number;
  /** One-line notes: what --weights auto picked, a batch lowered to fit in memory. */
  readonly onNotice?: (message: string) => void;
  /** Progress of quantizing at load (int8/int4 without a cached copy). */
  readonly onLoadProgress?: (p: QuantizeProgress) => void;
}

/** $DEMBED_SESSION_CACHE: "1" turns the session cache on, "0" or unset leaves it off; anything else is refused. */
export function sessionCacheFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = env.DEMBED_SESSION_CACHE;
  if (value === undefined || value === "" || value === "0") return false;
  if (value === "1") return true;
  throw new Error(`DEMBED_SESSION_CACHE must be 1 or 0, got ${JSON.stringify(value)}`);
}

export interface EmbedOptions {
  /** One instruction for all inputs or one per input; only the text's tokens are pooled. */
  readonly instruction?: string | readonly (string | undefined)[];
  /** Default 8. */
  readonly batchSize?: number;
  /** This call's token limit (e.g. queries and documents trained at different lengths). Default: the Embedder's. */
  readonly maxLength?: number;
  /** L2-normalize each embedding. Default true (cosine similarity becomes a dot product). */
  readonly normalize?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * The inputs already tokenized by {@link Embedder.tokenize} with this call's instruction and maxLength, one row per
   * input in input order (e.g. done while the model ran the previous batch); they are used as given.
   */
  readonly tokenized?: EncodedRows;
}

export interface EncodeResult {
  /** One row per input, in input order. */
  readonly embeddings: Float32Array[];
  /** How many inputs were cut to maxLength, and which. */
  readonly truncated: number;
  readonly truncatedIndices: readonly number[];
  /** Tokens run through the model (special tokens included, padding not). */
  readonly tokens: number;
  /**
   * Seconds this call spent in each step (benchmarks report where their time goes); `model` includes padding, and
   * `tokenize` is 0 when the call was given its rows.
   */
  readonly seconds: { readonly tokenize: number; readonly model: number; readonly pooling: number };
}

/**
 * What decides an Embedder's vectors, short of running it: a job-queue coordinator keys its cache by this while the
 * workers load the real thing. An Embedder is one too.
 */
export interface EmbedderDescription {
  readonly model: LoadedModel;
  readonly pooling: PoolingMode;
  readonly attention: AttentionMode;
  readonly skipInstruction: boolean;
  readonly promptTemplate: string | undefined;
  /** What --weights resolved to (auto: by this machine's memory plan). */
  readonly weightFormat: WeightFormat;
}

/** The settings that decide the vectors, with their defaults: one place for `load` and `describe`. */
function vectorSettings(options: EmbedderOptions): Pick<EmbedderDescription, "pooling" | "skipInstruction" | "promptTemplate"> {
  return { pooling: options.pooling ?? "mean", skipInstruction: options.skipInstruction ?? true, promptTemplate: options.promptTemplate };
}

/** What the memory plan reads from the options (the longest input, a budget, where to say what auto picked). */
function weightPlanOptions(options: EmbedderOptions): { maxLength: number; embeddings: "gather" | "input"; availableBytes?: number; onNotice?: (message: string) => void } {
  return {
    maxLength: options.maxLength ?? 512,
    embeddings: defaultEmbeddings(options.dtype),
    ...(options.memoryBytes !== undefined ? { availableBytes: options.memoryBytes } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  };
}

export class Embedder implements EmbedderDescription {
  readonly pooling: PoolingMode;
  readonly maxLength: number;
  readonly skipInstruction: boolean;
  readonly promptTemplate: string | undefined;
  /** The architecture's profile with `options.profile` and the prompt template applied. */
  readonly profile: TokenizerProfile;

  private constructor(
    readonly model: LoadedModel,
    readonly tokenizer: Tokenizer,
    readonly session: DecoderSession,
    private readonly options: EmbedderOptions,
    /** How the weights are held (what --weights auto resolved to). */
    readonly weightFormat: WeightFormat = "fp32",
    /** Weights + runtime baseline: what a memory budget keeps besides activations. */
    private readonly fixedBytes = 0,
  ) {
    ({ pooling: this.pooling, skipInstruction: this.skipInstruction, promptTemplate: this.promptTemplate } = vectorSettings(options));
    this.maxLength = options.maxLength ?? 512;
    const profile = { ...model.spec.tokenizer.profile, ...options.profile };
    this.profile = options.promptTemplate === undefined ? profile : profileWithTemplate(profile, options.promptTemplate);
  }

  static async load(ref: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const model = await loadModel(ref, options.resolve);
    const prepared = await prepareWeights(model, options.weights ?? "auto", {
      ...weightPlanOptions(options),
      ...(options.device ? { device: options.device } : {}),
      ...(options.onLoadProgress ? { onProgress: options.onLoadProgress } : {}),
    });
    const session = new DecoderSession(model, {
      attention: options.attention,
      kernel: options.kernel,
      computeDtype: options.dtype,
      device: options.device,
      threads: options.threads,
      worker: options.worker,
      linearHook: options.adapter?.linearHook,
      extraFeeds: options.adapter?.feeds,
      weights: { format: prepared.format, ...(prepared.quantized ? { quantized: prepared.quantized } : {}) },
      ...((options.sessionCache ?? sessionCacheFromEnv()) ? { sessionCache: { dir: join(dembedCacheDir(), "sessions") } } : {}),
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      logger: options.logger,
    });
    // In a worker thread, ORT pre-packs the weights while this thread loads the tokenizer (≈ 1 s for Qwen's).
    if (options.worker) session.prepare();
    let tokenizer: Tokenizer;
    try {
      tokenizer = options.tokenizer ?? (await loadTokenizer(model.dir));
    } catch (err) {
      await session.release();
      throw err;
    }
    return new Embedder(model, tokenizer, session, options, prepared.format, prepared.plan.estimate.total - prepared.plan.estimate.activations);
  }

  /**
   * The Embedder `load` would give, described without loading the tokenizer, quantizing or opening a session: the
   * model's config and weight headers and the memory plan (so `auto` resolves, and a plan that cannot fit refuses).
   */
  static async describe(ref: string, options: Omit<EmbedderOptions, "onLoadProgress"> = {}): Promise<EmbedderDescription> {
    const model = await loadModel(ref, options.resolve);
    const plan = planModelWeights(model, options.weights ?? "auto", weightPlanOptions(options));
    return { model, ...vectorSettings(options), attention: options.attention ?? model.spec.defaultAttention, weightFormat: plan.format };
  }

  /** Embedding size (the model's hidden size). */
  get dimension(): number {
    return this.model.spec.config.hiddenSize;
  }

  get attention(): AttentionMode {
    return this.session.attention;
  }

  async encode(inputs: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    return (await this.encodeDetailed(inputs, options)).embeddings;
  }

  async encodeDetailed(inputs: readonly string[], options: EmbedOptions = {}): Promise<EncodeResult> {
    if (!Array.isArray(inputs)) throw new TypeError("Embedder.encode: inputs must be an array of strings");
    if (inputs.length === 0) return { embeddings: [], truncated: 0, truncatedIndices: [], tokens: 0, seconds: { tokenize: 0, model: 0, pooling: 0 } };
    const requested = options.batchSize ?? 8;
    if (!Number.isSafeInteger(requested) || requested < 1) throw new RangeError(`Embedder.encode: batchSize must be a positive integer, got ${requested}`);
    const tokenizeStart = performance.now();
    const encoded = options.tokenized ?? this.tokenize(inputs, options.instruction, options.maxLength);
    if (encoded.rows.length !== inputs.length) {
      throw new RangeError(`Embedder.encode: ${encoded.rows.length} tokenized rows given for ${inputs.length} inputs`);
    }
    const seconds = { tokenize: (performance.now() - tokenizeStart) / 1000, model: 0, pooling: 0 };
    const longest = encoded.rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
    // Once the session is open its weights are resident, and what the OS reports is what activations can have; a
    // given budget shares with them.
    const opening = performance.now();
    this.session.prepare();
    await this.session.opened();
    seconds.model += (performance.now() - opening) / 1000; // as when the first forward opened it
    const available = this.options.memoryBytes !== undefined ? Math.max(0, this.options.memoryBytes - this.fixedBytes) : availableMemory();
    const batchSize = fittingBatch({ config: this.model.spec.config, batch: requested, length: longest, embeddings: defaultEmbeddings(this.options.dtype) }, available);
    if (batchSize < requested) {
      this.options.onNotice?.(`batch size ${requested} → ${batchSize}: ${requested} × ${longest} tokens would not fit in the ${(available / 1024 ** 3).toFixed(1)} GiB free`);
    }
    // Longest first: similar lengths share a batch (little padding), and the largest batch runs first.
    const order = encoded.rows.map((_, i) => i).sort((a, b) => encoded.rows[b]!.ids.length - encoded.rows[a]!.ids.length || a - b);
    const embeddings: Float32Array[] = new Array(inputs.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const indices = order.slice(start, start + batchSize);
      const modelStart = performance.now();
      const batch = padBatch(indices.map((i) => encoded.rows[i]!), encoded.profile);
      const hidden = await this.forward(batch);
      const poolStart = performance.now();
      const pooled = this.pool(hidden, batch, options.normalize ?? true);
      seconds.model += (poolStart - modelStart) / 1000;
      seconds.pooling += (performance.now() - poolStart) / 1000;
      indices.forEach((i, k) => (embeddings[i] = pooled[k]!));
      options.onProgress?.(Math.min(start + batchSize, order.length), order.length);
    }
    const truncatedIndices = encoded.rows.flatMap((r, i) => (r.truncated ? [i] : []));
    const tokens = encoded.rows.reduce((sum, r) => sum + r.ids.length, 0);
    return { embeddings, truncated: encoded.truncated, truncatedIndices, tokens, seconds };
  }

  /** Step 1: tokens, embed-mask starts and truncation flags, unpadded (the trainer's chunker calls the same code). */
  tokenize(inputs: readonly string[], instruction?: EmbedOptions["instruction"], maxLength = this.maxLength): EncodedRows {
    return encodeForEmbedding(this.tokenizer, inputs, instruction, {
      profile: this.profile,
      maxLength,
      pooling: this.pooling,
      skipInstruction: this.skipInstruction,
    });
  }

  /** Step 2: one padded batch through the model. */
  forward(batch: EncodedBatch): Promise<HiddenStates> {
    return this.session.run(batch, { where: "Embedder.encode" });
  }

  /** Step 3: pool the embed mask's tokens (the text's, or every real token without skipInstruction), optionally normalize. */
  pool(hidden: HiddenStates, batch: EncodedBatch, normalize: boolean): Float32Array[] {
    const pooled = pool(hidden, { data: batch.attentionMask, dims: batch.dims }, {
      mode: this.pooling,
      embedMask: { data: batch.embedMask, dims: batch.dims },
      normalize,
    });
    // Copies, so each row owns its buffer rather than pinning the whole batch.
    return rows(pooled).map((r) => r.slice());
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
