// @dembed/models' Embedder as a benchmark TextEncoder: the role picks the token limit (queries and documents may have
// been trained at different lengths), and everything that changes the vectors goes into the cache key and the record.
import type { Embedder, EmbedderDescription } from "@dembed/models";
import type { TextEncoder } from "./encoder.js";
import { TokenizeAhead } from "./tokenize-ahead.js";

/** What the benchmarks need to know about a loaded Embedder besides the Embedder itself. */
export interface EmbedderEncoderInfo {
  /** The model reference as given (folder, HF id, "tiny"). */
  readonly model: string;
  /** Shown in reports instead of `model` when set (e.g. "tiny Dream (random weights, untrained)"). */
  readonly label?: string;
  /** Weight files with size and mtime (or hashes): a changed checkpoint gets a new cache key. */
  readonly weights: string;
  readonly maxLength: { readonly query: number; readonly document: number };
  readonly dtype: string;
  /** How the weights were held (fp32, bf16, int8, int4): quantized weights give other vectors. */
  readonly weightFormat?: string;
  readonly device: string;
  readonly ortVersion: string | null;
  /** L2-normalize the vectors (default true). */
  readonly normalize?: boolean;
  /** A LoRA adapter applied to the model, if any. */
  readonly adapter?: {
    readonly dir: string;
    /** Content hash of the adapter's config and weights. */
    readonly fingerprint: string;
    /** Settings (dembed_adapter.json names) that came from the adapter rather than flags or defaults. */
    readonly settingsFromAdapter: readonly string[];
  };
}

type EmbedderLike = Pick<Embedder, "encodeDetailed" | "tokenize" | "dispose"> & Described;
/** The part of an Embedder (or of `Embedder.describe`'s answer) that decides its vectors. */
type Described = Pick<EmbedderDescription, "pooling" | "attention" | "skipInstruction" | "promptTemplate"> & { readonly model: { readonly dir: string } };

/** "512", or "query 64 / document 512" when the two differ. */
export function maxLengthLabel(m: EmbedderEncoderInfo["maxLength"]): number | string {
  return m.query === m.document ? m.query : `query ${m.query} / document ${m.document}`;
}

function keyAndRecord(embedder: Described, info: EmbedderEncoderInfo): Pick<TextEncoder, "cacheKey" | "describe"> {
  const settings = {
    pooling: embedder.pooling,
    attention: embedder.attention,
    skipInstruction: embedder.skipInstruction,
    promptTemplate: embedder.promptTemplate ?? null,
    maxLength: maxLengthLabel(info.maxLength),
    dtype: info.dtype,
    weights: info.weightFormat ?? "fp32",
  };
  const cacheKey: Record<string, string | number> = {
    model: info.model,
    dir: embedder.model.dir,
    weights: info.weights,
    pooling: settings.pooling,
    attention: settings.attention,
    skipInstruction: String(settings.skipInstruction),
    promptTemplate: settings.promptTemplate ?? "none",
    maxLength: settings.maxLength,
    dtype: settings.dtype,
    // fp32 and bf16 give identical vectors, so they share cached embeddings (and keep the keys caches already have).
    ...(settings.weights === "int8" || settings.weights === "int4" ? { weightFormat: settings.weights } : {}),
    adapter: info.adapter?.dir ?? "none",
    adapterFingerprint: info.adapter?.fingerprint ?? "none",
    // Raw pooled vectors are other vectors; normalized ones keep the keys caches already have.
    ...(info.normalize === false ? { normalize: "false" } : {}),
  };
  return {
    cacheKey,
    describe: () => ({
      model: info.label ?? info.model,
      modelDir: embedder.model.dir,
      adapter: info.adapter?.dir ?? null,
      adapterFingerprint: info.adapter?.fingerprint ?? null,
      settingsFromAdapter: info.adapter ? [...info.adapter.settingsFromAdapter] : null,
      ...settings,
      device: info.device,
      ortVersion: info.ortVersion,
    }),
  };
}

/**
 * The encoder a job-queue coordinator holds: the cache key and record of the model the workers load, from
 * `Embedder.describe`, with nothing to run. Every text goes to the workers, so `encode` is a mistake.
 */
export function describedEncoder(description: Described, info: EmbedderEncoderInfo): TextEncoder {
  return {
    ...keyAndRecord(description, info),
    encode: () => Promise.reject(new Error(`${info.model}: this encoder only describes the model (the queue's workers embed); embed through embedTexts with a shard runner`)),
  };
}

export function embedderEncoder(embedder: EmbedderLike, info: EmbedderEncoderInfo): TextEncoder {
  const maxLengthFor = (role: "query" | "document") => (role === "query" ? info.maxLength.query : info.maxLength.document);
  const ahead = new TokenizeAhead((texts, instruction, maxLength) => embedder.tokenize(texts, instruction, maxLength));
  return {
    ...keyAndRecord(embedder, info),
    plan: (texts, options) => ahead.setPlan(texts, options, maxLengthFor(options.role)),
    async encode(texts, options) {
      const maxLength = maxLengthFor(options.role);
      const instruction = options.instruction ? options.instruction : undefined;
      const tokenized = ahead.take(texts, options, maxLength);
      const running = embedder.encodeDetailed(texts, {
        batchSize: texts.length,
        maxLength,
        ...(info.normalize === false ? { normalize: false } : {}),
        ...(instruction ? { instruction } : {}),
        ...(tokenized ? { tokenized } : {}),
        ...(options.onProgress ? { onProgress: (done: number) => options.onProgress!(done) } : {}),
      });
      let modelDone = Infinity;
      running.then(() => (modelDone = performance.now()), () => undefined); // handled: awaited below
      // While the model runs this call, the main thread tokenizes the texts the plan says come next.
      const aheadSeconds = await ahead.prepare(ahead.next(texts, options, maxLength, texts.length), instruction, maxLength);
      const result = await running;
      // Tokenizing that outlasted the model was not overlapped: it counts as plain tokenize time of this call.
      const late = Math.min(aheadSeconds, Math.max(0, (performance.now() - modelDone) / 1000));
      const cut = new Set(result.truncatedIndices);
      return {
        embeddings: result.embeddings,
        truncated: result.truncated,
        truncatedFlags: texts.map((_, i) => cut.has(i)),
        tokens: result.tokens,
        seconds: { ...result.seconds, tokenize: result.seconds.tokenize + late, tokenizeAhead: aheadSeconds - late },
      };
    },
    dispose: () => embedder.dispose(),
  };
}
