// Runs a decoder graph on batches: validates ids and masks, picks the attention kernel per call and reshapes the
// batch for it, and keeps one ORT session per (kernel, mode) it has needed. Weights are never rebuilt: every graph
// points at the same .safetensors bytes.
import { createSession, createWorkerSession, type Device, type Logger, type Session, type SessionCacheEvent, type SessionCacheOptions, type Tensor } from "@dembed/onnx";
import type { AttentionMode } from "../config.js";
import type { LoadedModel } from "../model.js";
import type { AttentionKernel } from "../graph/attention.js";
import { buildDecoderGraph, INPUT_NAMES, OUTPUT_NAME, type DecoderGraphOptions, type LinearHook } from "../graph/build.js";
import type { ComputeDtype } from "../graph/inputs.js";
import { InputError, equalLengthGroups, packRight, rowSpans, unpackRows, validateBatch, type InputBatch, type RowSpan } from "./batch.js";
import { EmbeddingRows } from "./embedding-rows.js";

/**
 * "auto": the O(T)-memory flash kernels (causal: GroupQueryAttention on rows moved to right padding; bidirectional:
 * MultiHeadAttention on equal-length groups without padding), falling back to "masked" for masks with holes.
 * "masked" / "primitive": one graph whose attention mode is a runtime input, any mask.
 */
export type KernelChoice = "auto" | AttentionKernel;

export interface DecoderSessionOptions {
  /** The mode run() uses when not told; default the architecture's (Dream: bidirectional, others causal). */
  readonly attention?: AttentionMode;
  readonly kernel?: KernelChoice;
  readonly computeDtype?: ComputeDtype;
  readonly device?: Device;
  readonly threads?: number;
  /** ORT's CPU memory arena (default on). Off returns activation memory after each run; see forward-speed.ts. */
  readonly memoryArena?: boolean;
  /** Run ORT in a worker thread so the event loop (and a progress bar) keeps moving. */
  readonly worker?: boolean;
  /** Injected into every linear layer (LoRA adapters). */
  readonly linearHook?: LinearHook;
  /**
   * Where the embedding rows are gathered (see DecoderGraphOptions.embeddings): default "input", read by EmbeddingRows
   * outside ORT, for float32 compute; "gather" in the graph otherwise.
   */
  readonly embeddings?: "gather" | "input";
  /** Sequence chunk of the MLPs (see DecoderGraphOptions.mlpChunkTokens). */
  readonly mlpChunkTokens?: number;
  /** Extra feeds for graph inputs the hook added (e.g. LoRA A/B tensors). */
  readonly extraFeeds?: () => Readonly<Record<string, Tensor>>;
  /** How the projections' weights are held (prepareWeights decides); default fp32. */
  readonly weights?: DecoderGraphOptions["weights"];
  /**
   * Keep ORT's optimized graphs and pre-packed weights here and open from them next time (CPU only; the @dembed/onnx
   * README, "Session cache", has what it saves and costs).
   */
  readonly sessionCache?: SessionCacheOptions;
  /** Told when a session starts and ends loading (ORT reports no progress of its own; this at least says how long). */
  readonly onNotice?: (message: string) => void;
  readonly logger?: Logger;
}

export interface HiddenStates {
  readonly dims: readonly [number, number, number];
  /** [B, T, hidden] float32, zeros at padded positions. */
  readonly data: Float32Array;
}

const cacheLine = (e: SessionCacheEvent): string =>
  e.kind === "opened"
    ? `session cache: opened ${e.dir}`
    : e.kind === "written"
      ? `session cache: wrote ${e.dir} (${(e.bytes / 1024 ** 3).toFixed(2)} GiB); the next run opens from it`
      : `session cache: not written (${e.reason})`;

/** Where a session gathers embedding rows unless told: outside ORT for float32 compute (see EmbeddingRows). */
export const defaultEmbeddings = (computeDtype: ComputeDtype = "float32"): "gather" | "input" => (computeDtype === "float32" ? "input" : "gather");

type GraphKey = "masked:runtime" | "primitive:runtime" | "flash:causal" | "flash:bidirectional";

export class DecoderSession {
  private readonly sessions = new Map<GraphKey, Promise<Session>>();
  private released = false;
  private saidNoCache = false;
  readonly attention: AttentionMode;
  readonly kernel: KernelChoice;
  private readonly embeddingRows?: EmbeddingRows;

  constructor(
    readonly model: LoadedModel,
    private readonly options: DecoderSessionOptions = {},
  ) {
    this.attention = options.attention ?? model.spec.defaultAttention;
    this.kernel = options.kernel ?? "auto";
    const embeddings = options.embeddings ?? defaultEmbeddings(options.computeDtype);
    if (embeddings === "input") {
      if ((options.computeDtype ?? "float32") !== "float32") throw new Error(`DecoderSession(${model.dir}): embeddings "input" needs float32 compute`);
      this.embeddingRows = new EmbeddingRows(model.weights);
    }
    if (options.computeDtype === "bfloat16" && options.device !== "cuda") {
      // ORT's CPU provider has no bf16 matmul kernels; BF16 checkpoints are cast to float32 (or float16) instead.
      throw new Error(`DecoderSession(${model.dir}): bfloat16 compute needs device "cuda"; on CPU use float32 or float16 (BF16 weights are cast in the graph)`);
    }
  }

  /** The device sessions really run on (after any CUDA → CPU fallback); undefined before the first run. */
  async device(): Promise<Device | undefined> {
    const first = this.sessions.values().next().value;
    return first ? (await first).device : undefined;
  }

  /** last_hidden_state for `batch`; padded positions are zero. */
  async run(batch: InputBatch, options: { attention?: AttentionMode; where?: string } = {}): Promise<HiddenStates> {
    if (this.released) throw new Error(`DecoderSession(${this.model.dir}): run() after release()`);
    const mode = options.attention ?? this.attention;
    if (mode !== "causal" && mode !== "bidirectional") throw new InputError(`attention must be "causal" or "bidirectional", got ${JSON.stringify(mode)}`);
    validateBatch(batch, this.model.spec.config.vocabSize, options.where);
    const [b, t] = batch.dims;
    const hidden = this.model.spec.config.hiddenSize;
    const spans = this.kernel === "auto" || this.kernel === "flash" ? rowSpans(batch) : undefined;
    if (spans?.every((s) => s.length === t)) {
      // No padding at all: both flash kernels take the batch as it is (and a 32k output is not copied twice).
      return { dims: [b, t, hidden], data: await this.forward(`flash:${mode}`, batch, {}) };
    }
    const out = new Float32Array(b * t * hidden);
    if (!spans) {
      if (this.kernel === "flash") {
        throw new InputError(`${options.where ?? "input"}: an attention_mask row has holes; the flash kernels need left or right padding (use kernel "masked")`);
      }
      const kernel = this.kernel === "primitive" ? "primitive" : "masked";
      const causal: Tensor = { dtype: "bool", dims: [], data: Uint8Array.of(mode === "causal" ? 1 : 0) };
      out.set(await this.forward(`${kernel}:runtime`, batch, { [INPUT_NAMES.causal]: causal }));
      return { dims: [b, t, hidden], data: out };
    }
    // Each group runs with no padding that the kernel cannot see: causal rows packed to the right (one run),
    // bidirectional rows of equal length together (one run per length).
    const groups: RowSpan[][] = mode === "causal" ? [spans.filter((s) => s.length > 0)] : equalLengthGroups(spans);
    for (const group of groups) {
      if (group.length === 0) continue;
      const packed = packRight(batch, group);
      const result = await this.forward(`flash:${mode}`, packed, {});
      unpackRows(result, packed.dims[1], group, out, t, hidden);
    }
    return { dims: [b, t, hidden], data: out };
  }

  /**
   * Starts opening the session `run` will use for rows padded at one end, so the caller can do other work (load the
   * tokenizer) while ORT pre-packs the weights; `run` then waits for it. A failure shows at `run`.
   */
  prepare(mode: AttentionMode = this.attention): void {
    if (this.released) return;
    const key: GraphKey = this.kernel === "auto" || this.kernel === "flash" ? `flash:${mode}` : `${this.kernel}:runtime`;
    this.session(key).catch(() => undefined);
  }

  /** Settles when every session being opened is open (its weights resident); rejects with a failure to open one. */
  async opened(): Promise<void> {
    await Promise.all(this.sessions.values());
  }

  private async forward(key: GraphKey, batch: InputBatch, extra: Record<string, Tensor>): Promise<Float32Array> {
    const session = await this.session(key);
    const hidden = this.model.spec.config.hiddenSize;
    const feeds: Record<string, Tensor> = {
      ...(this.embeddingRows
        ? { [INPUT_NAMES.inputsEmbeds]: { dtype: "float32", dims: [...batch.dims, hidden], data: await this.embeddingRows.gather(batch.inputIds) } }
        : { [INPUT_NAMES.inputIds]: { dtype: "int64", dims: [...batch.dims], data: batch.inputIds } }),
      [INPUT_NAMES.attentionMask]: { dtype: "int64", dims: [...batch.dims], data: batch.attentionMask },
      ...extra,
      ...this.options.extraFeeds?.(),
    };
    const result = await session.run(feeds, { outputs: [OUTPUT_NAME] });
    return result[OUTPUT_NAME]!.data as Float32Array;
  }

  private session(key: GraphKey): Promise<Session> {
    let pending = this.sessions.get(key);
    if (!pending) {
      const [kernel, mode] = key.split(":") as [AttentionKernel, AttentionMode | "runtime"];
      const built = buildDecoderGraph(this.model.weights, {
        attention: mode,
        kernel,
        computeDtype: this.options.computeDtype,
        linearHook: this.options.linearHook,
        mlpChunkTokens: this.options.mlpChunkTokens,
        embeddings: this.embeddingRows ? "input" : "gather",
        ...(this.options.weights ? { weights: this.options.weights } : {}),
      });
      const open = this.options.worker ? createWorkerSession : createSession;
      const notice = this.options.onNotice;
      pending = open(built.graph, {
        device: this.options.device,
        ...(this.cacheable() ? { cache: this.options.sessionCache!, ...(notice ? { onCache: (e: SessionCacheEvent) => notice(cacheLine(e)) } : {}) } : {}),
        threads: this.options.threads,
        ...(this.options.memoryArena !== undefined ? { memoryArena: this.options.memoryArena } : {}),
        name: `${this.model.ref} (${key})`,
        ...(this.options.logger ? { logger: this.options.logger } : {}),
      });
      if (notice) {
        const started = performance.now();
        const format = this.options.weights?.format ?? "fp32";
        notice(`loading ${this.model.spec.config.numLayers} layers into ONNX Runtime (${key}, --weights ${format})…`);
        pending.then(() => notice(`session ready in ${((performance.now() - started) / 1000).toFixed(1)} s`), () => undefined);
      }
      this.sessions.set(key, pending);
      pending.catch(() => this.sessions.delete(key));
    }
    return pending;
  }

  /**
   * bf16 weights are cast per layer at run time, so ORT pre-packs none of them: an entry would only copy the checkpoint
   * (≈ 15 GB at 7B) to save the graph optimization. Said once, when asked for.
   */
  private cacheable(): boolean {
    if (!this.options.sessionCache) return false;
    if ((this.options.weights?.format ?? "fp32") !== "bf16") return true;
    if (!this.saidNoCache) this.options.onNotice?.("session cache: not used for --weights bf16 (ONNX Runtime pre-packs no bf16 weight, so an entry would copy the checkpoint and save only the graph optimization)");
    this.saidNoCache = true;
    return false;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map(async (s) => (await s).release()));
  }
}
