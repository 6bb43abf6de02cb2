// com.microsoft attention kernels, forward only (no VJP rules): the O(T)-memory paths ORT has for long inputs.
// See REFERENCE.md "onnxruntime-node 1.30, as probed here" for which option combinations keep the flash path.
import { attrFloat, type Dim, type Value } from "../graph.js";
import { OpCheck } from "./core.js";
import { dimDiv } from "./dims.js";

export interface MultiHeadAttentionOptions {
  numHeads: number;
  /** Defaults to 1/√head_dim. */
  scale?: number;
  /** [B, L] int32 (1 = keep) or [B] lengths; turns ORT's flash path off. */
  keyPaddingMask?: Value;
  /** Additive bias broadcastable to [B, H, S, L]; turns ORT's flash path off. */
  attentionBias?: Value;
  unidirectional?: boolean;
  maskFilterValue?: number;
}

/** q [B,S,H·D], k [B,L,H·D], v [B,L,H·Dv] → [B,S,H·Dv]. k/v heads must already equal q's (repeat them for GQA). */
export function multiHeadAttention(q: Value, k: Value, v: Value, options: MultiHeadAttentionOptions): Value {
  const { numHeads, scale, keyPaddingMask, attentionBias, unidirectional = false, maskFilterValue } = options;
  const c = new OpCheck("MultiHeadAttention", q.graph, [["q", q], ["k", k], ["v", v], ["keyPaddingMask", keyPaddingMask], ["attentionBias", attentionBias]]);
  c.dtype("q", q, ["float32", "float16"]);
  c.sameDtype([["q", q], ["k", k], ["v", v]]);
  for (const [label, t] of [["q", q], ["k", k], ["v", v]] as const) c.rank(label, t, 3);
  c.sameDim("batch of k differs from q", q.shape[0]!, k.shape[0]!);
  c.sameDim("batch of v differs from q", q.shape[0]!, v.shape[0]!);
  c.sameDim("hidden size of k differs from q", q.shape[2]!, k.shape[2]!);
  c.sameDim("sequence of v differs from k", k.shape[1]!, v.shape[1]!);
  for (const [label, t] of [["q", q], ["v", v]] as const) {
    if (dimDiv(t.shape[2]!, numHeads) === undefined) c.fail(`${label}'s hidden size ${t.shape[2]} does not divide into ${numHeads} heads`);
  }
  if (keyPaddingMask) c.dtype("keyPaddingMask", keyPaddingMask, ["int32"]);
  if (attentionBias) c.sameDtype([["q", q], ["attentionBias", attentionBias]]);
  const attrs = {
    num_heads: numHeads,
    unidirectional: unidirectional ? 1 : 0,
    ...(scale !== undefined ? { scale: attrFloat(scale) } : {}),
    ...(maskFilterValue !== undefined ? { mask_filter_value: attrFloat(maskFilterValue) } : {}),
  };
  const inputs = trimNulls([q, k, v, null, keyPaddingMask ?? null, attentionBias ?? null]);
  q.graph.useOpset("com.microsoft", 1);
  return c.emit1(inputs, attrs, { dtype: q.dtype, shape: [q.shape[0]!, q.shape[1]!, v.shape[2]!] }, "com.microsoft");
}

export interface GroupQueryAttentionOptions {
  /** int32 [B]: valid length − 1 of each sequence (ORT's convention). */
  seqlensK: Value;
  /** int32 scalar: the padded total length. */
  totalSequenceLength: Value;
  numHeads: number;
  kvNumHeads: number;
  /** [maxPos, D/2] caches; given both, ORT applies rotary itself (do_rotary). */
  cosCache?: Value;
  sinCache?: Value;
  positionIds?: Value;
  rotaryInterleaved?: boolean;
  scale?: number;
  softcap?: number;
  localWindowSize?: number;
}

export interface GroupQueryAttentionResult {
  output: Value;
  /** [B, Hkv, total, D]; always produced because ORT's flash path needs the outputs connected. */
  presentKey: Value;
  presentValue: Value;
}

/** Always causal. q [B,S,Hq·D], k/v [B,S,Hkv·D] → output [B,S,Hq·D]; padding is given through seqlensK. */
export function groupQueryAttention(q: Value, k: Value, v: Value, options: GroupQueryAttentionOptions): GroupQueryAttentionResult {
  const { seqlensK, totalSequenceLength, numHeads, kvNumHeads, cosCache, sinCache, positionIds } = options;
  const c = new OpCheck("GroupQueryAttention", q.graph, [["q", q], ["k", k], ["v", v], ["seqlensK", seqlensK], ["totalSequenceLength", totalSequenceLength]]);
  c.dtype("q", q, ["float32", "float16", "bfloat16"]);
  c.sameDtype([["q", q], ["k", k], ["v", v]]);
  for (const [label, t] of [["q", q], ["k", k], ["v", v]] as const) c.rank(label, t, 3);
  c.dtype("seqlensK", seqlensK, ["int32"]);
  c.rank("seqlensK", seqlensK, 1);
  c.dtype("totalSequenceLength", totalSequenceLength, ["int32"]);
  if (totalSequenceLength.rank > 1 || (totalSequenceLength.rank === 1 && totalSequenceLength.shape[0] !== 1)) c.fail("totalSequenceLength must be a scalar");
  if (numHeads % kvNumHeads !== 0) c.fail(`numHeads ${numHeads} is not a multiple of kvNumHeads ${kvNumHeads}`);
  const head: Dim = dimDiv(q.shape[2]!, numHeads) ?? c.fail(`q's hidden size does not divide into ${numHeads} heads`);
  c.sameDim(`k's hidden size must be kvNumHeads·head_dim`, k.shape[2]!, typeof head === "number" ? head * kvNumHeads : k.shape[2]!);
  c.sameDim("k and v differ", k.shape[2]!, v.shape[2]!);
  c.sameDim("sequence of k differs from q", q.shape[1]!, k.shape[1]!);
  if ((cosCache === undefined) !== (sinCache === undefined)) c.fail("give both cosCache and sinCache, or neither");
  const attrs = {
    num_heads: numHeads,
    kv_num_heads: kvNumHeads,
    ...(cosCache ? { do_rotary: 1, rotary_interleaved: options.rotaryInterleaved ? 1 : 0 } : {}),
    ...(options.scale !== undefined ? { scale: attrFloat(options.scale) } : {}),
    ...(options.softcap !== undefined ? { softcap: attrFloat(options.softcap) } : {}),
    ...(options.localWindowSize !== undefined ? { local_window_size: options.localWindowSize } : {}),
  };
  const inputs = trimNulls([q, k, v, null, null, seqlensK, totalSequenceLength, cosCache ?? null, sinCache ?? null, positionIds ?? null]);
  const present = { dtype: q.dtype, shape: [q.shape[0]!, kvNumHeads, k.shape[1]!, head] };
  q.graph.useOpset("com.microsoft", 1);
  const [output, presentKey, presentValue] = c.emit(inputs, attrs, [{ dtype: q.dtype, shape: q.shape }, present, present], "com.microsoft") as [Value, Value, Value];
  return { output, presentKey, presentValue };
}

function trimNulls(inputs: (Value | null)[]): (Value | null)[] {
  let n = inputs.length;
  while (n > 0 && inputs[n - 1] === null) n--;
  return inputs.slice(0, n);
}
