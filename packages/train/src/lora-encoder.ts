// The model-backed GradCache encoder: tokenized chunk → decoder with LoRA (A/B and dropout masks as graph inputs) →
// last_hidden_state → pooling in TypeScript → embeddings; and the chunk's VJP graph for pass 2.
//
// Pooling runs in TS (@dembed/pooling's pool / poolBackward), not in the graph: it is the very code the Embedder
// pools with, so training and evaluation cannot drift apart, every mode (mean, weighted, last token, embed mask)
// comes for free, and what crosses the session boundary is [B, T, hidden], a few MB per chunk. The VJP graph
// therefore takes dLoss/d(last_hidden_state) as its seed input.
import { buildDecoderGraph, EmbeddingRows, INPUT_NAMES, OUTPUT_NAME, type AttentionMode, type EncodedBatch, type LoadedModel } from "@dembed/models";
import { createSession, createWorkerSession, externalDataRoot, toGatedModelProto, vjp, type Session, type SessionOptions, type Tensor } from "@dembed/onnx";
import { drawDropouts, dropoutMaskName, keepMasks, loraInjection, type DropoutDraws, type LoraInjection, type LoraModule } from "@dembed/lora";
import { pool, poolBackward, rows, type PoolingMode } from "@dembed/pooling";
import { ALL_PROJECTIONS } from "./config.js";
import type { ChunkEncoder } from "./gradcache.js";
import type { NamedTensors } from "./tensors.js";

/** A run of tokenized texts of one role, padded to one length. */
export interface TokenChunk {
  readonly batch: EncodedBatch;
  /** Number of real tokens (for tokens/s). */
  readonly tokens: number;
}

export interface LoraEncoderOptions {
  readonly attention: AttentionMode;
  readonly pooling: PoolingMode;
  /** Pool only the text's tokens (the embed mask) rather than every real token. */
  readonly skipInstruction: boolean;
  readonly modules: readonly LoraModule[];
  readonly r: number;
  readonly scaling: number;
  readonly dropout: number;
  /** The trainable A/B arrays by PEFT key, updated in place by the optimizer and fed on every run. */
  readonly params: NamedTensors;
  /** Run ORT in worker threads so the event loop (a progress bar) keeps moving. */
  readonly worker?: boolean;
  readonly threads?: number;
  /**
   * Which projections' base weights ORT pre-packs (default DEFAULT_PREPACK, none). A pre-packed weight is held twice,
   * packed for the forward's x·Wᵀ and for the backward's dY·W, in place of the one memory-mapped original; the others
   * are packed again in every matmul. Measured trade: the package README.
   */
  readonly prepack?: PrepackChoice;
  /** ORT session config entries, over the defaults (pre-packing set by `prepack`). */
  readonly sessionConfig?: Readonly<Record<string, string>>;
  /** ORT's memory pattern; off by default (a lower peak for the VJP graph's long-lived forward values). */
  readonly memoryPattern?: boolean;
  /** ORT's CPU memory arena; on by default. */
  readonly memoryArena?: boolean;
  /** Profile every node with ORT's profiler, written at release() (see @dembed/onnx's readProfile). */
  readonly profileFilePrefix?: string;
}

/** "all", "none" or projection names (q_proj … down_proj) whose weights ORT pre-packs. */
export type PrepackChoice = "all" | "none" | readonly string[];
/**
 * None: the weights stay memory-mapped, one copy. "all" was as fast to 1.2× faster per step on the Qwen2-0.5B
 * shape, for 1.3 GiB more (2 × the projection weights in place of 1×), 28 GB more at 7B (package README).
 */
export const DEFAULT_PREPACK: PrepackChoice = "none";

/** `--prepack`'s value: "all", "none" or comma-separated projection names; an unknown name is refused. */
export function parsePrepack(value: string | readonly string[]): PrepackChoice {
  if (value === "all" || value === "none") return value;
  const names = typeof value === "string" ? value.split(",").map((n) => n.trim()) : value;
  const unknown = names.filter((name) => !(ALL_PROJECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    const what = unknown.length === 0 ? "no projection named" : `${unknown.map((n) => JSON.stringify(n)).join(", ")} ${unknown.length === 1 ? "is not a projection" : "are not projections"}`;
    throw new Error(`prepack: ${what}; expected "all", "none" or names from ${ALL_PROJECTIONS.join(", ")}`);
  }
  return names;
}

/** The module paths' test for buildDecoderGraph's `prepacked`, or undefined when nothing is pre-packed. */
function prepackedModules(choice: PrepackChoice): ((module: string) => boolean) | undefined {
  const parsed = parsePrepack(choice);
  if (parsed === "none") return undefined;
  if (parsed === "all") return () => true;
  const names = new Set(parsed);
  return (module) => names.has(module.slice(module.lastIndexOf(".") + 1));
}

/** Drop positions kept from pass 1 for pass 2: ≈ 25 MB per 2 × 256-token chunk of a 0.5B model at p = 0.05. */
const DRAW_CACHE_BYTES = 512 * 2 ** 20;

/** Name of the VJP graph's seed input, and of each gradient output. */
export const HIDDEN_GRAD_INPUT = "grad_last_hidden_state";
/** Name of the bool scalar input that runs the backward (pass 2) or skips it (pass 1). */
export const GRADIENT_GATE_INPUT = "compute_gradients";
export const gradOutputName = (key: string): string => `grad.${key}`;

/**
 * Forward results the backward recomputes rather than keeps (SwiGLU's sigmoid and products, the dropout-masked
 * inputs of the LoRA paths and their widened masks): elementwise, so recomputing costs a memory pass, while keeping
 * them held about half of the backward's saved activations (measured on the Qwen2-0.5B shape).
 */
const RECOMPUTED_OPS = ["Sigmoid", "Mul", "Where", "Cast"] as const;

export class LoraEncoder implements ChunkEncoder<TokenChunk> {
  /** Milliseconds spent inside session.run (pass 1 and pass 2), for the outside-ORT share. */
  ortMs = 0;
  private readonly draws = new Map<number, DropoutDraws>();
  private maskBuffers: Uint8Array[] | undefined;
  private running = 0;

  private constructor(
    private readonly options: LoraEncoderOptions,
    private readonly injection: LoraInjection,
    private readonly session: Session,
    private readonly paramShapes: ReadonlyMap<string, readonly number[]>,
    private readonly hiddenSize: number,
    private readonly embeddingRows: EmbeddingRows,
  ) {}

  /**
   * Builds the VJP graph once (forward + backward); updates to `params` never rebuild it. The backward sits behind
   * an If on GRADIENT_GATE_INPUT (toGatedModelProto): ORT runs every node of a graph whatever is fetched, so without
   * the gate pass 1 would pay for a whole backward. One session means one copy of the weights in memory (two
   * sessions would each load the external data), and pass 1 and pass 2 are the same function by construction.
   */
  static async create(model: LoadedModel, options: LoraEncoderOptions): Promise<LoraEncoder> {
    const injection = loraInjection(options.modules, { scaling: options.scaling, r: options.r, dropout: options.dropout });
    // "masked" = ONNX Attention with a bool mask: any padding, either mode, and a VJP rule.
    // No MLP sequence chunking: a keep-mask covers the whole [B, T, in] input of its layer, and GradCache already bounds
    // the tokens per run. The embedding rows are read outside ORT (EmbeddingRows), as the Embedder reads them: a Gather
    // in the graph maps every page its ids touch into the process, on varied text most of the table (0.5 GiB at 0.5B).
    const prepacked = prepackedModules(options.prepack ?? DEFAULT_PREPACK);
    const built = buildDecoderGraph(model.weights, {
      attention: options.attention,
      kernel: "masked",
      mlpChunkTokens: 0,
      embeddings: "input",
      ...(prepacked ? { prepacked } : {}),
      linearHook: injection.linearHook,
      name: "train",
    });
    if (injection.layers.length !== options.modules.length) {
      const seen = new Set(injection.layers.map((l) => l.module.path));
      throw new Error(`LoraEncoder: the model graph has no linear layer ${options.modules.find((m) => !seen.has(m.path))?.path}`);
    }
    const g = built.graph;
    const seed = g.input(HIDDEN_GRAD_INPUT, "float32", built.lastHiddenState.shape);
    const wrt = injection.layers.flatMap((l) => [l.a, l.b]);
    const grads = g.scope("vjp", () => vjp(g, [built.lastHiddenState], wrt, { seeds: [seed] }));
    const shapes = new Map<string, readonly number[]>();
    const gradOutputs = wrt.map((w, i) => {
      shapes.set(w.name, w.shape as readonly number[]);
      return g.output(grads[i]!, gradOutputName(w.name));
    });
    const gate = g.input(GRADIENT_GATE_INPUT, "bool", []);
    for (const [key, shape] of shapes) {
      const t = options.params[key];
      const size = shape.reduce((a, b) => a * b, 1);
      if (t === undefined || t.length !== size) throw new Error(`LoraEncoder: parameter ${key} is ${t === undefined ? "missing" : `${t.length} values`}, the graph takes [${shape.join(", ")}]`);
    }
    const folder = externalDataRoot(g);
    const bytes = toGatedModelProto(g, { gate, gated: gradOutputs, recompute: RECOMPUTED_OPS, ...(folder === undefined ? {} : { externalDataFolder: folder }) });
    const open = options.worker ? createWorkerSession : createSession;
    const sessionOptions: SessionOptions = {
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(folder === undefined ? {} : { externalDataFolder: folder }),
      config: { "session.disable_prepacking": prepacked ? "0" : "1", ...options.sessionConfig },
      memoryPattern: options.memoryPattern ?? false,
      ...(options.memoryArena === undefined ? {} : { memoryArena: options.memoryArena }),
      ...(options.profileFilePrefix === undefined ? {} : { profileFilePrefix: options.profileFilePrefix }),
      name: `${model.ref} (train)`,
    };
    const session = await open(bytes, sessionOptions);
    return new LoraEncoder(options, injection, session, shapes, model.spec.config.hiddenSize, new EmbeddingRows(model.weights));
  }

  private async feeds(chunk: TokenChunk, seed: number, withGradients: boolean): Promise<Record<string, Tensor>> {
    const { batch } = chunk;
    const embeds = await this.embeddingRows.gather(batch.inputIds);
    // Worker sessions take the feed buffers over (no second copy of the dropout masks or rows); the chunk's mask and the
    // live parameters are needed again, so the worker gets copies of those.
    const own = <T extends { slice(): T }>(x: T): T => (this.options.worker ? x.slice() : x);
    const feeds: Record<string, Tensor> = {
      [INPUT_NAMES.inputsEmbeds]: { dtype: "float32", dims: [...batch.dims, this.hiddenSize], data: embeds },
      [INPUT_NAMES.attentionMask]: { dtype: "int64", dims: [...batch.dims], data: own(batch.attentionMask) },
      [GRADIENT_GATE_INPUT]: { dtype: "bool", dims: [], data: new Uint8Array([withGradients ? 1 : 0]) },
    };
    for (const [key, shape] of this.paramShapes) feeds[key] = { dtype: "float32", dims: shape, data: own(this.options.params[key]!) };
    if (this.options.dropout > 0) {
      const layers = this.injection.layers.map((l) => l.module);
      // Pass 2 of a chunk replays pass 1's drops (same seed) from the kept positions instead of drawing them again.
      const kept = this.draws.get(seed);
      const sameShape = kept !== undefined && kept.dims[0] === batch.dims[0] && kept.dims[1] === batch.dims[1];
      const draws = sameShape ? kept : drawDropouts(layers, batch.dims, this.options.dropout, seed);
      if (withGradients) this.draws.delete(seed);
      else this.keepDraws(draws);
      // In-thread runs are awaited one at a time and ORT keeps no reference to a feed afterwards, so the mask buffers
      // are written again for the next run; worker runs take their feeds over, so they get fresh ones.
      const reuse = !this.options.worker && this.running === 0;
      const masks = keepMasks(layers, draws, reuse ? this.maskBuffers : undefined);
      if (reuse) this.maskBuffers = layers.map((l) => masks[dropoutMaskName(l.path)]!.data as Uint8Array);
      Object.assign(feeds, masks);
    }
    return feeds;
  }

  /** Keeps a chunk's drops for its pass 2, oldest first out beyond DRAW_CACHE_BYTES. */
  private keepDraws(draws: DropoutDraws): void {
    this.draws.delete(draws.seed);
    this.draws.set(draws.seed, draws);
    let bytes = 0;
    for (const d of this.draws.values()) bytes += d.positions.reduce((s, p) => s + p.byteLength, 0);
    for (const [seed, d] of this.draws) {
      if (bytes <= DRAW_CACHE_BYTES) break;
      bytes -= d.positions.reduce((s, p) => s + p.byteLength, 0);
      this.draws.delete(seed);
    }
  }

  private poolOptions(chunk: TokenChunk) {
    const { batch } = chunk;
    return {
      mode: this.options.pooling,
      ...(this.options.skipInstruction ? { embedMask: { data: batch.embedMask, dims: batch.dims } } : {}),
      normalize: false,
    };
  }

  private async run(session: Session, feeds: Record<string, Tensor>, outputs: string[]): Promise<Record<string, Tensor>> {
    const started = performance.now();
    this.running++;
    try {
      return await session.run(feeds, { outputs, transferFeeds: this.options.worker === true });
    } finally {
      this.running--;
      this.ortMs += performance.now() - started;
    }
  }

  async encodeNoGrad(chunk: TokenChunk, seed: number): Promise<Float32Array[]> {
    const hidden = await this.hidden(chunk, seed);
    const mask = { data: chunk.batch.attentionMask, dims: chunk.batch.dims };
    return rows(pool(hidden, mask, this.poolOptions(chunk))).map((r) => r.slice());
  }

  /** last_hidden_state of the training forward (dropout masks from `seed`). */
  async hidden(chunk: TokenChunk, seed: number): Promise<{ data: Float32Array; dims: readonly [number, number, number] }> {
    const [b, t] = chunk.batch.dims;
    const feeds = await this.feeds(chunk, seed, false);
    // Not read by the forward nodes; fed because the session validates every graph input.
    feeds[HIDDEN_GRAD_INPUT] = { dtype: "float32", dims: [b, t, this.hiddenSize], data: new Float32Array(b * t * this.hiddenSize) };
    const out = await this.run(this.session, feeds, [OUTPUT_NAME]);
    const hidden = out[OUTPUT_NAME]!;
    return { data: hidden.data as Float32Array, dims: [b, t, hidden.dims[2] as number] };
  }

  async backwardChunk(chunk: TokenChunk, dEmbeddings: readonly Float32Array[], seed: number): Promise<NamedTensors> {
    const [b, t] = chunk.batch.dims;
    if (dEmbeddings.length !== b) throw new Error(`LoraEncoder.backwardChunk: ${dEmbeddings.length} embedding gradients for a chunk of ${b} texts`);
    const width = dEmbeddings[0]!.length;
    // Mean / last-token pooling read only the mask, so the hidden values passed here do not matter except for max
    // pooling and normalize (neither is used in training); zeros avoid a second forward.
    const shapeOnly = { data: new Float32Array(b * t * width), dims: [b, t, width] as const };
    const mask = { data: chunk.batch.attentionMask, dims: chunk.batch.dims };
    const dHidden = poolBackward(shapeOnly, mask, { data: concatRows(dEmbeddings), dims: [b, width] }, this.poolOptions(chunk));
    const feeds = await this.feeds(chunk, seed, true);
    feeds[HIDDEN_GRAD_INPUT] = { dtype: "float32", dims: [...dHidden.dims], data: dHidden.data };
    const names = [...this.paramShapes.keys()];
    const out = await this.run(this.session, feeds, names.map(gradOutputName));
    const grads: NamedTensors = {};
    for (const key of names) grads[key] = out[gradOutputName(key)]!.data as Float32Array;
    return grads;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function concatRows(rowsIn: readonly Float32Array[]): Float32Array {
  const width = rowsIn[0]!.length;
  const out = new Float32Array(rowsIn.length * width);
  rowsIn.forEach((r, i) => out.set(r, i * width));
  return out;
}
