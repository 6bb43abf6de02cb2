// How a run holds the decoder's weights, and the memory plan that picks one (or refuses) before any weight is read.
// The estimate is weights by format + activations at batch × length + ORT's own baseline; the constants were fitted
// to peak RSS measured by benchmarks/scripts/big-model.ts (its table is in the package README).
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import type { DecoderConfig } from "./config.js";
import { mlpChunkLength } from "./graph/chunks.js";
import { HELD_TABLE_BYTES } from "./session/embedding-rows.js";

/**
 * fp32: widened once at load. bf16: the checkpoint's BF16/F16 bytes, widened per layer as it runs. int8/int4:
 * MatMulNBits, and on CPU the down projections as int8 per token (perTokenModules).
 */
export const WEIGHT_FORMATS = ["fp32", "bf16", "int8", "int4"] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];
export type WeightChoice = WeightFormat | "auto";
export const WEIGHT_CHOICES: readonly WeightChoice[] = ["auto", ...WEIGHT_FORMATS];

export function parseWeightChoice(value: string, where = "--weights"): WeightChoice {
  if ((WEIGHT_CHOICES as readonly string[]).includes(value)) return value as WeightChoice;
  throw new Error(`${where}: ${JSON.stringify(value)} is not a weight format; expected one of ${WEIGHT_CHOICES.join(", ")}`);
}

const GIB = 1024 ** 3;
export const gib = (bytes: number): string => (bytes / GIB).toFixed(bytes < GIB ? 2 : 1);

/** Bytes per stored element of each layer projection, by format. */
// int: codes + float32 scale + zero point per block of 32 (1.16 and 0.64 bytes), plus, for int8's int8 compute, the
// scales and block sums ORT pre-packs beside the codes (≈ 1.25 bytes). Both formats keep the down projections (29 %
// of a Dream-7B layer) at ≈ 1 byte per channel-quantized element on CPU. Fitted to big-model.ts's warm-cache peaks
// with the embedding rows read outside ORT (28-layer Dream-7B shape, MLP as a Scan: int8 8.19 GiB at 1 × 512 alone and
// 8.96–9.1 GiB at the worst of 1 × 512, 4 × 512 and 1 × 8192; int4 4.91 and 5.64–5.73 GiB), so the plan stays above
// them: int8 ≈ 8.4 / 9.5 GiB, int4 ≈ 5.1 / 6.1 GiB at 1 × 512 / 1 × 8192.
const PROJECTION_BYTES: Record<Exclude<WeightFormat, "bf16">, number> = { fp32: 4, int8: 1.29, int4: 0.74 };
/** Node, ORT and the tokenizer before any weight: measured ≈ 0.35 GiB. */
const BASELINE_BYTES = 0.4 * GIB;

export interface MemoryPlanInput {
  readonly config: DecoderConfig;
  /** Bytes per element the checkpoint stores (2 for BF16/F16, 4 for F32). */
  readonly storedBytes: number;
  readonly batch: number;
  readonly length: number;
  /** "masked" attention materialises [B, heads, T, T] scores; the flash kernels do not. Default flash. */
  readonly attention?: "flash" | "masked";
  readonly mlpChunkTokens?: number;
  /**
   * Where the embedding rows come from (DecoderSessionOptions.embeddings). "input" (float32 compute, the default):
   * read a row at a time through the page cache into the activations, so a large table costs the process nothing
   * (one up to HELD_TABLE_BYTES is read whole and kept). "gather": ORT maps the table and a run's faults bring in
   * nearly all of it. Default "gather", the larger.
   */
  readonly embeddings?: "gather" | "input";
}

export interface MemoryEstimate {
  readonly weights: number;
  readonly activations: number;
  readonly total: number;
}

function projectionParams(c: DecoderConfig): { perLayer: number; total: number } {
  const perLayer = c.hiddenSize * (c.numHeads + 2 * c.numKvHeads) * c.headDim + c.numHeads * c.headDim * c.hiddenSize + 3 * c.intermediateSize * c.hiddenSize;
  return { perLayer, total: perLayer * c.numLayers };
}

/** Peak activations of one forward: the widest layer's live tensors at batch × length. */
export function activationBytes(input: Omit<MemoryPlanInput, "storedBytes">): number {
  const c = input.config;
  const tokens = input.batch * input.length;
  const chunk = mlpChunkLength(tokens, input.mlpChunkTokens);
  // Residual, norm, q, k, v, attention output, o and the float32 output copy: ≈ 8 hidden-sized tensors.
  // With embeddings "input", the float32 rows the caller gathered are one more, held on the JS side.
  const hidden = (input.embeddings === "input" ? 9 : 8) * tokens * c.hiddenSize * 4;
  const mlp = 3 * chunk * c.intermediateSize * 4;
  const scores = input.attention === "masked" ? 2 * input.batch * c.numHeads * input.length * input.length * 4 : 0;
  return hidden + mlp + scores;
}

export function estimateMemory(format: WeightFormat, input: MemoryPlanInput): MemoryEstimate {
  const c = input.config;
  const { perLayer, total } = projectionParams(c);
  const table = c.vocabSize * c.hiddenSize * input.storedBytes;
  const embed = input.embeddings === "input" && table > HELD_TABLE_BYTES ? 0 : table;
  const projections = format === "bf16" ? total * input.storedBytes + 2 * perLayer * 4 : total * PROJECTION_BYTES[format];
  const weights = embed + projections + 2 * c.numLayers * c.hiddenSize * 4;
  const activations = activationBytes(input);
  return { weights, activations, total: weights + activations + BASELINE_BYTES };
}

/** A cgroup v2 limit minus what the group uses (containers), or undefined when there is none. */
function cgroupRoom(): number | undefined {
  try {
    const max = readFileSync("/sys/fs/cgroup/memory.max", "utf8").trim();
    if (max === "max") return undefined;
    return Number(max) - Number(readFileSync("/sys/fs/cgroup/memory.current", "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * Memory a new allocation can get: MemAvailable (free + reclaimable cache) on Linux, else os.freemem(); inside a
 * container, no more than its cgroup's limit leaves.
 */
export function availableMemory(): number {
  let available = freemem();
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match) available = Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  const room = cgroupRoom();
  return room !== undefined && Number.isFinite(room) ? Math.min(available, Math.max(0, room)) : available;
}

export class MemoryPlanError extends Error {
  override name = "MemoryPlanError";
}

export interface WeightPlan {
  readonly format: WeightFormat;
  readonly estimate: MemoryEstimate;
  /** One line: what was picked and why (auto), or the estimate. */
  readonly reason: string;
}

/**
 * The format to run with: `choice` itself when it fits in `available` bytes, else a one-line MemoryPlanError naming
 * the need, what is free and the most faithful format that would fit. "auto" picks that format (fp32 first: it and
 * bf16 give identical numbers, and fp32 runs faster) and says why.
 */
export function planWeights(name: string, choice: WeightChoice, input: MemoryPlanInput, available = availableMemory()): WeightPlan {
  const candidates = WEIGHT_FORMATS.filter((f) => f !== "bf16" || input.storedBytes === 2);
  const fits = (f: WeightFormat) => estimateMemory(f, input).total <= available;
  const where = `${input.batch} × ${input.length} tokens`;
  if (choice === "auto") {
    const picked = candidates.find(fits);
    if (!picked) {
      const smallest = estimateMemory("int4", input).total;
      throw new MemoryPlanError(`${name} needs ≈ ${gib(smallest)} GiB even at --weights int4 at ${where} (${gib(available)} GiB free)`);
    }
    const estimate = estimateMemory(picked, input);
    const skipped = candidates.slice(0, candidates.indexOf(picked));
    const why = skipped.length === 0 ? "the most faithful, and it fits" : `${skipped.map((f) => `${f} needs ≈ ${gib(estimateMemory(f, input).total)} GiB`).join(", ")}`;
    return { format: picked, estimate, reason: `--weights auto: ${picked}, ≈ ${gib(estimate.total)} GiB of ${gib(available)} GiB free (${why})` };
  }
  const estimate = estimateMemory(choice, input);
  if (estimate.total > available) {
    const alternative = candidates.slice(candidates.indexOf(choice) + 1).find(fits);
    const hint = alternative ? `; --weights ${alternative} needs ≈ ${gib(estimateMemory(alternative, input).total)} GiB` : "; no --weights format fits";
    throw new MemoryPlanError(`${name} needs ≈ ${gib(estimate.total)} GiB at --weights ${choice} (${gib(available)} GiB free)${hint}`);
  }
  return { format: choice, estimate, reason: `--weights ${choice}: ≈ ${gib(estimate.total)} GiB of ${gib(available)} GiB free` };
}

/**
 * The largest batch ≤ `batch` whose activations at `length` fit in `available` bytes beside weights already loaded
 * (at least 1: a single row that does not fit is left to fail in ORT with its own message).
 */
export function fittingBatch(input: Omit<MemoryPlanInput, "storedBytes">, available = availableMemory()): number {
  let b = input.batch;
  while (b > 1 && activationBytes({ ...input, batch: b }) > available) b = Math.floor(b / 2);
  return b;
}
