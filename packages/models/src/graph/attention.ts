// Scaled dot-product attention over [B, T, heads·D] projections, in three kernels:
//   masked    – ONNX Attention (opset 23) with a bool [B,1,T,T] mask: any padding, either mode, or the mode as a
//               runtime input. Holds heads·T² scores per layer, so it is for short and medium inputs.
//   primitive – MatMul / Softmax with an additive mask, kv heads expanded: every op has a VJP rule (training graphs).
//   flash     – O(T) memory: com.microsoft MultiHeadAttention without a mask, one per kv head (bidirectional,
//               unpadded rows only) or GroupQueryAttention with seqlens_k (causal, right-padded rows). The
//               session runner (decoder-session.ts) splits or repacks batches so that these conditions hold.
import {
  add, attention, concat, expand, groupQueryAttention, matmul, multiHeadAttention, mul, reshape, slice, softmax, transpose, unsqueeze,
  type Value,
} from "@dembed/onnx";
import type { AttentionMode } from "../config.js";

export type AttentionKernel = "masked" | "primitive" | "flash";

export interface AttentionShape {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

/** Per-graph values the kernels read (built once, shared by every layer). */
export interface AttentionInputs {
  readonly kernel: AttentionKernel;
  /** A constant mode, or a bool scalar graph input (true = causal). */
  readonly mode: AttentionMode | Value;
  /** masked: bool [B, 1, T, T]; primitive: additive [B, 1, T, T]. */
  readonly mask?: Value;
  /** flash + causal: int32 [B] real length − 1, and int32 scalar T. */
  readonly seqlensK?: Value;
  readonly totalLength?: Value;
}

/** q [B, T, H·D], k and v [B, T, KV·D] (RoPE already applied) → [B, T, H·D]. */
export function attend(inputs: AttentionInputs, s: AttentionShape, q: Value, k: Value, v: Value): Value {
  switch (inputs.kernel) {
    case "masked":
      return attention(q, k, v, { attnMask: inputs.mask!, qNumHeads: s.numHeads, kvNumHeads: s.numKvHeads });
    case "primitive":
      return primitiveAttention(inputs.mask!, s, q, k, v);
    case "flash":
      if (inputs.mode === "causal") {
        return groupQueryAttention(q, k, v, {
          seqlensK: inputs.seqlensK!,
          totalSequenceLength: inputs.totalLength!,
          numHeads: s.numHeads,
          kvNumHeads: s.numKvHeads,
        }).output;
      }
      return groupedFlashAttention(s, q, k, v);
  }
}

/**
 * Bidirectional flash attention, one MultiHeadAttention per kv head over the query heads that share it. MLAS flash
 * attention needs 3-D q/k/v with as many kv heads as query heads and no mask at all, and copies each of them into
 * [B, heads, T, D] first; per group, the widened k and v and those copies hold one group's heads instead of all of
 * them (ORT runs the groups one after another, as it runs MLP chunks).
 */
function groupedFlashAttention(s: AttentionShape, q: Value, k: Value, v: Value): Value {
  const groups = s.numHeads / s.numKvHeads;
  if (groups === 1) return multiHeadAttention(q, k, v, { numHeads: s.numHeads });
  const width = groups * s.headDim;
  const outputs: Value[] = [];
  for (let g = 0; g < s.numKvHeads; g++) {
    const heads = (x: Value, size: number) => slice(x, { starts: [g * size], ends: [(g + 1) * size], axes: [2] });
    const widen = (x: Value) => reshape(expand(reshape(heads(x, s.headDim), [0, 0, 1, s.headDim]), [1, 1, groups, 1]), [0, 0, width]);
    outputs.push(q.graph.scope(`kv${g}`, () => multiHeadAttention(heads(q, width), widen(k), widen(v), { numHeads: groups })));
  }
  return concat(outputs, 2); // [B, T, H·D]
}

function primitiveAttention(additive: Value, s: AttentionShape, q: Value, k: Value, v: Value): Value {
  const heads = (x: Value, n: number) => transpose(reshape(x, [0, 0, n, s.headDim]), [0, 2, 1, 3]); // [B, n, T, D]
  const groups = s.numHeads / s.numKvHeads;
  const widen = (x: Value) =>
    groups === 1 ? x : reshape(expand(unsqueeze(x, [2]), [1, 1, groups, 1, 1]), [0, s.numHeads, -1, s.headDim]); // [B, H, T, D]
  const qh = mul(heads(q, s.numHeads), 1 / Math.sqrt(s.headDim));
  const kh = widen(heads(k, s.numKvHeads));
  const vh = widen(heads(v, s.numKvHeads));
  const scores = add(matmul(qh, transpose(kh, [0, 1, 3, 2])), additive); // [B, H, T, T]
  const context = matmul(softmax(scores, -1), vh); // [B, H, T, D]
  return reshape(transpose(context, [0, 2, 1, 3]), [0, 0, s.numHeads * s.headDim]); // [B, T, H·D]
}
