import { GradientAccumulator } from "./accumulate.js";
import { NonFiniteError, type NamedTensors } from "./tensors.js";

/**
 * What GradCache needs from a model: a forward without gradients, and a VJP for the same chunk. `seed` fixes
 * the dropout masks; the step passes the same seed to both calls of a chunk, so pass 2 differentiates exactly
 * the function pass 1 evaluated (GradCache's RandContext).
 */
export interface ChunkEncoder<Chunk> {
  /** One embedding per text of the chunk, in order. */
  encodeNoGrad(chunk: Chunk, seed: number): Promise<Float32Array[]>;
  /** Gradients w.r.t. the trainable parameters of Σᵢ dEmbeddings[i]·embedding[i] (a vector–Jacobian product). */
  backwardChunk(chunk: Chunk, dEmbeddings: readonly Float32Array[], seed: number): Promise<NamedTensors>;
}

/** The loss over every embedding of the batch, in chunk order, and its gradient per embedding. */
export type EmbeddingLoss = (embeddings: readonly Float32Array[]) => { loss: number; dEmbeddings: Float32Array[] };

export interface GradCacheInput<Chunk> {
  readonly chunks: readonly Chunk[];
  /** Number of texts in each chunk (how many embeddings encodeNoGrad must return). */
  readonly chunkSizes: readonly number[];
  readonly encoder: ChunkEncoder<Chunk>;
  readonly loss: EmbeddingLoss;
  /** One dropout seed per chunk. */
  readonly seeds: readonly number[];
}

export interface GradCacheResult {
  readonly loss: number;
  /** Parameter gradients summed over chunks (float32). */
  readonly grads: NamedTensors;
  readonly embeddings: Float32Array[];
  /** Milliseconds in pass 1, the loss, and pass 2. */
  readonly timings: { readonly encode: number; readonly loss: number; readonly backward: number };
}

/**
 * One GradCache pass over a batch (Gao et al., 2021): encode every chunk without gradients, compute the loss
 * and dLoss/dEmbedding on the whole batch, then run each chunk's VJP with its slice of those gradients and sum.
 * Memory holds one chunk's activations at a time, yet the gradient equals that of one un-chunked pass.
 */
export async function gradCacheStep<Chunk>(input: GradCacheInput<Chunk>): Promise<GradCacheResult> {
  const { chunks, encoder, seeds } = input;
  if (chunks.length === 0) throw new Error("gradCacheStep: no chunks");
  if (seeds.length !== chunks.length) throw new Error(`gradCacheStep: ${seeds.length} seeds for ${chunks.length} chunks`);
  if (input.chunkSizes.length !== chunks.length) throw new Error(`gradCacheStep: ${input.chunkSizes.length} chunk sizes for ${chunks.length} chunks`);
  const t0 = performance.now();
  const embeddings: Float32Array[] = [];
  const sizes: number[] = [];
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c] as Chunk;
    const expected = input.chunkSizes[c] as number;
    const out = await encoder.encodeNoGrad(chunk, seeds[c] as number);
    if (out.length !== expected) throw new Error(`gradCacheStep: chunk ${c} has ${expected} texts but the encoder returned ${out.length} embeddings`);
    out.forEach((e, t) => {
      const bad = e.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new NonFiniteError(`chunk ${c}, text ${t}: embedding[${bad}] is ${e[bad]}`);
    });
    sizes.push(expected);
    embeddings.push(...out);
  }
  const t1 = performance.now();
  const { loss, dEmbeddings } = input.loss(embeddings);
  if (dEmbeddings.length !== embeddings.length) {
    throw new Error(`gradCacheStep: the loss returned ${dEmbeddings.length} embedding gradients for ${embeddings.length} embeddings`);
  }
  const t2 = performance.now();
  const acc = new GradientAccumulator();
  let offset = 0;
  for (let c = 0; c < chunks.length; c++) {
    const size = sizes[c] as number;
    acc.add(await encoder.backwardChunk(chunks[c] as Chunk, dEmbeddings.slice(offset, offset + size), seeds[c] as number));
    offset += size;
  }
  const t3 = performance.now();
  return { loss, grads: acc.result(), embeddings, timings: { encode: t1 - t0, loss: t2 - t1, backward: t3 - t2 } };
}

/** Splits items into consecutive chunks of at most `size`. */
export function chunkItems<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`chunk size must be an integer ≥ 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
