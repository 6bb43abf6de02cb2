// A train config → a real training run: the base model (a folder, an HF cache id, or `tiny:<Arch>`, the built-in
// tiny model), an optional starting adapter merged in, the data source, a fresh PEFT-initialized adapter, the LoRA
// encoder and the tokenizer, all handed to the GradCache loop in trainer.ts.
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { lockOutput, removeDeadTemps } from "@dembed/files";
import { join, resolve } from "node:path";
import { openSource, type SourceSpec, type TrainingSource } from "@dembed/data";
import { dembedCacheDir, ensureTinyModel, loadModel, parseTinyRef, loadTokenizer, resolveModel, type LoadedModel } from "@dembed/models";
import {
  adapterTensors, createAdapter, loadAdapter, loraConfig, loraScaling, mergeAdapterIntoModel, saveAdapter, type AdapterSettings, type LoraAdapter,
} from "@dembed/lora";
import type { TrainConfig } from "./config.js";
import { DataExampleSampler, type TrainText } from "./data-sampler.js";
import { planAccumulation } from "./accumulate.js";
import { LoraEncoder, type PrepackChoice, type TokenChunk } from "./lora-encoder.js";
import { safetensorsStore } from "./store.js";
import type { NamedTensors } from "./tensors.js";
import { tokenChunker } from "./token-chunks.js";
import { train, type ExampleSampler, type TrainerParts, type TrainOptions } from "./trainer.js";

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** A model reference → a model folder; `tiny:<Arch>` is the built-in tiny model, generated once into the cache. */
export async function resolveBaseModel(ref: string, cacheDir = dembedCacheDir()): Promise<string> {
  const tiny = parseTinyRef(ref);
  return tiny === undefined ? (await resolveModel(ref)).dir : ensureTinyModel(tiny, cacheDir);
}

/** The base with the config's starting adapter (e.g. llm2vec MNTP) merged in, cached by (base, adapter). */
async function baseWithAdapter(baseDir: string, adapterRef: string, cacheDir: string): Promise<string> {
  const adapterDir = (await exists(join(adapterRef, "adapter_config.json"))) ? resolve(adapterRef) : (await resolveModel(adapterRef).catch(() => {
    throw new Error(`model.adapter "${adapterRef}": not a PEFT adapter folder (no adapter_config.json) and not found in the local HF cache`);
  })).dir;
  const key = createHash("sha256").update(`${baseDir}\n${adapterDir}`).digest("hex").slice(0, 16);
  const out = resolve(cacheDir, "merged", key);
  if (!(await exists(join(out, "config.json")))) {
    await mkdir(resolve(cacheDir, "merged"), { recursive: true });
    await mergeAdapterIntoModel(baseDir, await loadAdapter(adapterDir), out);
  }
  return out;
}

export function sourceSpec(data: TrainConfig["data"], seed: number): SourceSpec {
  const caps = { seed, ...(data.max_samples === null ? {} : { maxSamples: data.max_samples }), ...(data.revision === null ? {} : { revision: data.revision }) };
  switch (data.source) {
    case "e5":
      return { kind: "e5", path: data.path, ...caps, ...(data.max_per_file === null ? {} : { maxPerFile: data.max_per_file }), ...(data.files === null ? {} : { files: data.files }) };
    case "msmarco-w-instructions":
      return { kind: "msmarco-w-instructions", path: data.path, ...caps, negatives: data.negatives, newNegatives: data.new_negatives, ...(data.instruction === null ? {} : { instruction: data.instruction }) };
    case "reasonaug":
      return { kind: "reasonaug", path: data.path, ...caps };
    case "custom":
      return { kind: "custom", path: data.path, ...caps, instruction: data.instruction, ...(data.negatives === null ? {} : { negatives: data.negatives }) };
  }
}

export function adapterSettings(config: TrainConfig): AdapterSettings {
  return {
    attention: config.model.attention,
    pooling: config.model.pooling,
    skipInstruction: config.model.skip_instruction,
    promptTemplate: config.model.prompt_template,
    maxLength: { query: config.max_length.query, document: config.max_length.document },
  };
}

export interface ModelRunOptions {
  readonly outputDir: string;
  /** ORT in worker threads (keeps a progress display moving). */
  readonly worker?: boolean;
  readonly threads?: number;
  /** ORT session config entries for the training session (see LoraEncoderOptions.sessionConfig). */
  readonly sessionConfig?: Readonly<Record<string, string>>;
  /** Which projections' weights ORT pre-packs (LoraEncoderOptions.prepack). */
  readonly prepack?: PrepackChoice;
  /** ORT's CPU memory arena for the training session (see LoraEncoderOptions.memoryArena). */
  readonly memoryArena?: boolean;
  /** ORT's per-node profile of the training session, written when the run is released (LoraEncoderOptions). */
  readonly profileFilePrefix?: string;
  readonly cacheDir?: string;
  /** An already-open source (tests); default: opened from config.data. */
  readonly source?: TrainingSource;
  /** Replaces the data sampler altogether (benchmarks with synthetic batches); config.data is then not read. */
  readonly sampler?: ExampleSampler<TrainText>;
}

export interface ModelRun {
  readonly parts: TrainerParts<TrainText, TokenChunk>;
  readonly encoder: LoraEncoder;
  readonly model: LoadedModel;
  readonly adapter: LoraAdapter;
  /** The model folder trained on (after any starting adapter was merged). */
  readonly baseDir: string;
  release(): Promise<void>;
}

/** Everything `train` needs for a config, with the model-backed encoder. */
export async function createModelRun(config: TrainConfig, options: ModelRunOptions): Promise<ModelRun> {
  const cacheDir = options.cacheDir ?? dembedCacheDir();
  let baseDir = await resolveBaseModel(config.model.base, cacheDir);
  if (config.model.adapter !== null) baseDir = await baseWithAdapter(baseDir, config.model.adapter, cacheDir);
  const model = await loadModel(baseDir);
  const tokenizer = await loadTokenizer(model.dir);
  const c = model.spec.config;
  const lora = loraConfig({ r: config.lora.r, alpha: config.lora.alpha, dropout: config.lora.dropout, targetModules: config.lora.target_modules, init: config.lora.init });
  // The adapter's own init stream, apart from the run's RNG (dropout seeds), so neither shifts the other.
  let s = (config.seed ^ 0x5bd1e995) >>> 0;
  const uniform = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const adapter = createAdapter(
    { numHiddenLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numAttentionHeads: c.numHeads, numKeyValueHeads: c.numKvHeads, headDim: c.headDim },
    lora,
    uniform,
    { baseModelNameOrPath: config.model.base.startsWith("tiny:") || config.model.adapter !== null ? baseDir : config.model.base, settings: adapterSettings(config) },
  );
  const params: NamedTensors = Object.fromEntries(Object.entries(adapterTensors(adapter)).map(([k, t]) => [k, t.data]));
  const encoder = await LoraEncoder.create(model, {
    attention: config.model.attention,
    pooling: config.model.pooling,
    skipInstruction: config.model.skip_instruction,
    modules: adapter.modules,
    r: lora.r,
    scaling: loraScaling(lora),
    dropout: lora.dropout,
    params,
    ...(options.worker === undefined ? {} : { worker: options.worker }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.sessionConfig === undefined ? {} : { sessionConfig: options.sessionConfig }),
    ...(options.memoryArena === undefined ? {} : { memoryArena: options.memoryArena }),
    ...(options.prepack === undefined ? {} : { prepack: options.prepack }),
    ...(options.profileFilePrefix === undefined ? {} : { profileFilePrefix: options.profileFilePrefix }),
  });
  const plan = planAccumulation(config.batch.global, config.batch.accumulation_steps);
  const sampler =
    options.sampler ??
    new DataExampleSampler(options.source ?? (await openSource(sourceSpec(config.data, config.seed))), { batchSize: plan.microBatchSize, seed: config.seed });
  const parts: TrainerParts<TrainText, TokenChunk> = {
    config,
    params,
    encoder,
    makeChunk: tokenChunker(tokenizer, { profile: model.spec.tokenizer.profile, promptTemplate: config.model.prompt_template, pooling: config.model.pooling, maxLength: config.max_length, skipInstruction: config.model.skip_instruction }),
    chunkTokens: (chunk) => chunk.tokens,
    sampler,
    store: safetensorsStore,
    outputDir: options.outputDir,
    saveAdapter: (dir) => saveAdapter(dir, adapter),
    loadAdapter: async (dir) => {
      const loaded = await loadAdapter(dir);
      return Object.fromEntries(Object.entries(adapterTensors(loaded)).map(([k, t]) => [k, t.data]));
    },
  };
  return { parts, encoder, model, adapter, baseDir, release: () => encoder.release() };
}

/** Trains a config end to end; the output folder ends as a PEFT adapter for `Embedder.load(base, { adapter })`. */
export async function trainModel(config: TrainConfig, options: ModelRunOptions & TrainOptions): Promise<{ step: number; loss: number; baseDir: string }> {
  // One run per output folder: two would interleave logs and overwrite each other's adapter.
  const lock = await lockOutput(resolve(options.outputDir), { ...(options.onWarning ? { onTakeover: options.onWarning } : {}) });
  try {
    // A killed run's half-written adapter files (the final save's temp files) go before this run writes its own.
    await removeDeadTemps(options.outputDir);
    const run = await createModelRun(config, options);
    try {
      const result = await train(run.parts, options);
      return { ...result, baseDir: run.baseDir };
    } finally {
      await run.release();
    }
  } finally {
    await lock.release();
  }
}
