// What every layer shares, computed once from input_ids / attention_mask: positions from the mask, the RoPE cos/sin
// tables for those positions, and the attention masks the masked and primitive kernels need.
import {
  and, cast, constant, cumsum, equal, lessOrEqual, max2, mul, not, or, range, reduceSum, shape, squeeze, sub,
  unsqueeze, where, type DType, type Graph, type Value,
} from "@dembed/onnx";
import type { AttentionMode } from "../config.js";

/** Float dtypes the decoder can compute in (bf16 only where the execution provider has kernels, i.e. CUDA). */
export type ComputeDtype = "float32" | "float16" | "bfloat16";

/**
 * position = (number of real tokens up to and including t) − 1, clamped at 0 on leading pads, so a row's real
 * tokens get 0, 1, 2 … whichever side it is padded on. int64 [B, T].
 */
export function positionIds(attentionMask: Value): Value {
  return max2(sub(cumsum(attentionMask, 1), 1), 0);
}

/** cos and sin of position·inv_freq, [B, T, D/2] each, formed in float32 as HF does and then cast to `dtype`. */
export function ropeTables(graph: Graph, positions: Value, invFreq: Float64Array, dtype: ComputeDtype): { cos: Value; sin: Value } {
  const freqs = graph.initializer("rope.inv_freq", "float32", [invFreq.length], Float32Array.from(invFreq));
  const angles = mul(unsqueeze(cast(positions, "float32"), [2]), freqs); // [B, T, D/2]
  const unary = (op: "Cos" | "Sin") => {
    const [v] = graph.addNode(op, [angles], {}, [{ dtype: "float32", shape: angles.shape }], { name: op });
    return dtype === "float32" ? v! : cast(v!, dtype);
  };
  return { cos: unary("Cos"), sin: unary("Sin") };
}

/**
 * bool [B, 1, T, T]: query t may see key s when s is a real token (and s ≤ t in causal mode). The diagonal is always
 * open, so a padded query row that sees no real key still has one finite score instead of a NaN softmax; such
 * rows are zeroed at the output.
 */
export function attentionMask(attentionMask: Value, mode: AttentionMode | Value): Value {
  const seq = squeeze(shape(attentionMask, { start: 1, end: 2 }), [0]);
  const idx = range(0, seq, 1); // [T]
  const rows = unsqueeze(idx, [1]); // [T, 1]
  const cols = unsqueeze(idx, [0]); // [1, T]
  const keyReal = unsqueeze(cast(attentionMask, "bool"), [1, 2]); // [B, 1, 1, T]
  let visible = keyReal;
  if (mode !== "bidirectional") {
    const causal = lessOrEqual(cols, rows); // [T, T]
    visible = and(keyReal, typeof mode === "string" ? causal : or(causal, not(mode)));
  }
  return or(visible, equal(cols, rows)); // [B, 1, T, T]
}

/** The additive form for Softmax: 0 where visible, the dtype's lowest finite value elsewhere (HF's finfo.min). */
export function additiveMask(mask: Value, dtype: DType): Value {
  const lowest = dtype === "float16" ? -65504 : dtype === "bfloat16" ? -3.3895313892515355e38 : -3.4028234663852886e38;
  return where(mask, constant(mask.graph, 0, { dtype, dims: [] }), lowest);
}

/** Real-token count per row minus one, int32 [B]: GroupQueryAttention's seqlens_k for a right-padded prompt. */
export function seqlensK(attentionMask: Value): Value {
  return cast(max2(sub(reduceSum(attentionMask, [1], { keepdims: false }), 1), 0), "int32");
}

/** The padded length T of a [B, T] input as an int32 scalar (GroupQueryAttention's total_sequence_length). */
export function totalLength(attentionMask: Value): Value {
  return cast(squeeze(shape(attentionMask, { start: 1, end: 2 }), [0]), "int32");
}

/** [B, T, 1] bool, true on real tokens: used to zero the outputs at padded positions. */
export const realTokens = (attentionMaskValue: Value): Value => unsqueeze(cast(attentionMaskValue, "bool"), [2]);
