/**
 * Public types of @dembed/pooling. Every input is structural, so an onnxruntime tensor, a transformers.js
 * Tensor or a plain `{ data, dims }` record all fit without this package importing either library.
 */

/**
 * Any tensor-like record. The element type is wide on purpose: a generic ORT `Tensor` types its data as the
 * union of every dtype's array (strings included), and it must still be accepted at compile time. The data
 * is checked at run time instead.
 */
export interface TensorLike {
  readonly data: ArrayLike<number | bigint | boolean | string>;
  readonly dims: readonly number[];
  /** ORT and transformers.js tensors carry their dtype name. */
  readonly type?: string;
}

/**
 * Token hidden states, row-major `[B, T, H]` (e.g. a model's `last_hidden_state`). The data must be float32
 * or float64 (a Float32Array, Float64Array or number[]); other dtypes throw, fp16 included.
 */
export type HiddenStates = TensorLike;

/** One mask entry: ORT gives int64 masks as bigint, bool masks as 0/1 bytes; plain arrays may hold booleans. */
export type MaskValue = number | bigint | boolean;

/**
 * A `[B, T]` mask of 0/1 values, in any of three forms:
 * - a tensor-like `{ data, dims: [B, T] }` (ORT int64 → BigInt64Array works),
 * - nested rows (`number[][]`, `bigint[][]`, an array of typed arrays),
 * - a flat array of B·T values, read with B and T from the hidden states.
 */
export type MaskInput =
  | TensorLike
  | ArrayLike<ArrayLike<MaskValue>>
  | ArrayLike<MaskValue>;

/**
 * How token vectors become one vector per row. Only tokens with attention mask 1 (and embed mask 1, when an
 * embed mask is given) take part:
 * - `mean`: the average of the pooled tokens.
 * - `weighted_mean`: llm2vec's position-weighted mean; the k-th pooled token (in position order) has weight k.
 * - `last_token` / `eos_token`: the last pooled token, wherever the padding is. `eos_token` assumes the
 *   tokenizer appended EOS, so the last token is EOS; both names compute the same thing.
 * - `first_token` / `bos_token` / `cls`: the first pooled token.
 * - `max`: the per-dimension maximum over the pooled tokens.
 */
export type PoolingMode =
  | "mean"
  | "weighted_mean"
  | "last_token"
  | "eos_token"
  | "first_token"
  | "bos_token"
  | "cls"
  | "max";

export interface PoolOptions {
  /** Default "mean". */
  readonly mode?: PoolingMode;
  /**
   * `[B, T]`, 1 for the tokens to pool (the text), 0 for instruction tokens. Combined with the attention mask
   * by AND. A row left with no token to pool is an error naming the row: pooling never falls back to padding.
   */
  readonly embedMask?: MaskInput;
  /** L2-normalize each pooled row (x / max(‖x‖, 1e-12), as torch's F.normalize). Default false. */
  readonly normalize?: boolean;
}

/** Pooled embeddings: one row of H values per batch item, row-major `[B, H]`. */
export interface Embeddings {
  readonly data: Float32Array;
  readonly dims: readonly [number, number];
}

/** A `[B, H]` matrix as input: a tensor-like record, or one array per row (e.g. a loss's `Float32Array[]`). */
export type MatrixInput =
  | { readonly data: ArrayLike<number>; readonly dims: readonly number[] }
  | readonly ArrayLike<number>[];

/** dLoss/dHidden, laid out exactly like the hidden states: row-major `[B, T, H]`. */
export interface HiddenGradient {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number];
}
