// Opset-23 transformer ops: Attention (3-D or 4-D, GQA, causal, masks), RMSNormalization, RotaryEmbedding.
import { attrFloat, type Dim, type Value } from "../graph.js";
import { FLOATS, OpCheck } from "./core.js";
import { dimDiv, dimMul } from "./dims.js";

export interface AttentionOptions {
  /** Bool (true = attend) or additive float mask, broadcastable to [B, Hq, Sq, Skv]; its dim -2 must be Sq (ORT). */
  attnMask?: Value;
  isCausal?: boolean;
  /** Required for 3-D inputs ([B, S, H·D]); optional for 4-D ones. */
  qNumHeads?: number;
  kvNumHeads?: number;
  /** Defaults to 1/√head_dim. */
  scale?: number;
  softcap?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v. 4-D: q [B,Hq,Sq,D], k [B,Hkv,Skv,D], v [B,Hkv,Skv,Dv] → [B,Hq,Sq,Dv]; 3-D: heads folded
 * into the last dim. Query head h reads kv head ⌊h / (Hq/Hkv)⌋.
 */
export function attention(q: Value, k: Value, v: Value, options: AttentionOptions = {}): Value {
  const { attnMask, isCausal = false, qNumHeads, kvNumHeads, scale, softcap } = options;
  const c = new OpCheck("Attention", q.graph, [["q", q], ["k", k], ["v", v], ["attnMask", attnMask]]);
  c.dtype("q", q, FLOATS);
  c.sameDtype([["q", q], ["k", k], ["v", v]]);
  c.rank("q", q, [3, 4]);
  if (k.rank !== q.rank || v.rank !== q.rank) c.fail("q, k and v must all be 3-D or all 4-D");
  c.sameDim("batch of k differs from q", q.shape[0]!, k.shape[0]!);
  c.sameDim("batch of v differs from q", q.shape[0]!, v.shape[0]!);
  const dims = (t: Value): Dim[] => t.shape.map((d) => d);
  let hq: Dim, hkv: Dim, sq: Dim, skv: Dim, dq: Dim, dk: Dim, dv: Dim;
  if (q.rank === 4) {
    const [qs, ks, vs] = [dims(q), dims(k), dims(v)];
    [hq, sq, dq] = [qs[1]!, qs[2]!, qs[3]!];
    [hkv, skv, dk] = [ks[1]!, ks[2]!, ks[3]!];
    c.sameDim("heads of v differ from k", hkv, vs[1]!);
    c.sameDim("sequence of v differs from k", skv, vs[2]!);
    dv = vs[3]!;
    if (qNumHeads !== undefined && qNumHeads !== hq) c.fail(`qNumHeads ${qNumHeads} differs from q's heads ${hq}`);
    if (kvNumHeads !== undefined && kvNumHeads !== hkv) c.fail(`kvNumHeads ${kvNumHeads} differs from k's heads ${hkv}`);
  } else {
    if (qNumHeads === undefined || kvNumHeads === undefined) return c.fail("3-D inputs need qNumHeads and kvNumHeads");
    [hq, hkv] = [qNumHeads, kvNumHeads];
    sq = q.shape[1]!;
    skv = k.shape[1]!;
    c.sameDim("sequence of v differs from k", skv, v.shape[1]!);
    const per = (label: string, hidden: Dim, heads: number): Dim =>
      dimDiv(hidden, heads) ?? c.fail(`${label}'s last dim ${hidden} does not divide into ${heads} heads`);
    [dq, dk, dv] = [per("q", q.shape[2]!, qNumHeads), per("k", k.shape[2]!, kvNumHeads), per("v", v.shape[2]!, kvNumHeads)];
  }
  c.sameDim("head size of k differs from q", dq, dk);
  if (typeof hq === "number" && typeof hkv === "number" && hq % hkv !== 0) c.fail(`q heads ${hq} are not a multiple of kv heads ${hkv}`);
  if (attnMask) {
    if (attnMask.dtype !== "bool") c.sameDtype([["q", q], ["attnMask", attnMask]]);
    c.rank("attnMask", attnMask, [2, 3, 4]);
    const m = attnMask.shape;
    c.sameDim("attnMask's last dim must be the kv sequence", m[m.length - 1]!, skv);
    c.sameDim("attnMask's dim -2 must be the query sequence (ORT does not broadcast it)", m[m.length - 2]!, sq);
    c.broadcast([["attnMask", m], ["scores [B,Hq,Sq,Skv]", [q.shape[0]!, hq, sq, skv]]]);
  }
  const attrs = {
    is_causal: isCausal ? 1 : 0,
    ...(q.rank === 3 ? { q_num_heads: hq as number, kv_num_heads: hkv as number } : {}),
    ...(scale !== undefined ? { scale: attrFloat(scale) } : {}),
    ...(softcap !== undefined ? { softcap: attrFloat(softcap) } : {}),
  };
  const shape = q.rank === 4 ? [q.shape[0]!, hq, sq, dv] : [q.shape[0]!, sq, dimMul(hq, dv)];
  return c.emit1(attnMask ? [q, k, v, attnMask] : [q, k, v], attrs, { dtype: q.dtype, shape });
}

export interface RmsNormOptions {
  epsilon?: number;
  /** First normalized axis; all axes from it on are normalized. */
  axis?: number;
}

/** x / √(mean(x², axes ≥ axis) + ε) · scale, computed in fp32 (stash_type 1). */
export function rmsNormalization(x: Value, scale: Value, { epsilon = 1e-5, axis = -1 }: RmsNormOptions = {}): Value {
  const c = new OpCheck("RMSNormalization", x.graph, [["x", x], ["scale", scale]]);
  c.dtype("x", x, FLOATS);
  c.sameDtype([["x", x], ["scale", scale]]);
  const a = c.axis(axis, x.rank);
  const normalized = x.shape.slice(a);
  const joined = c.broadcast([["normalized shape", normalized], ["scale", scale.shape]]);
  if (joined.length !== normalized.length || joined.some((d, i) => d !== normalized[i])) {
    c.fail(`scale must broadcast to the normalized shape [${normalized.join(",")}]`);
  }
  return c.emit1([x, scale], { axis: a, epsilon: attrFloat(epsilon), stash_type: 1 }, { dtype: x.dtype, shape: x.shape });
}

export interface RotaryOptions {
  /** [B, S] int64 positions into the caches; without it cos/sin are [B, S, rd/2]. */
  positionIds?: Value;
  /** GPT-J pairs (2i, 2i+1) instead of rotate-half (i, i + rd/2). */
  interleaved?: boolean;
  /** Required for 3-D x [B, S, H·D]. */
  numHeads?: number;
  /** Rotate only the first rd dims of each head (0 = all). */
  rotaryEmbeddingDim?: number;
}

/** RoPE. x: [B, H, S, D] or [B, S, H·D]; cos/sin: [maxPos, rd/2] with positionIds, else [B, S, rd/2]. */
export function rotaryEmbedding(x: Value, cos: Value, sin: Value, options: RotaryOptions = {}): Value {
  const { positionIds, interleaved = false, numHeads, rotaryEmbeddingDim = 0 } = options;
  const c = new OpCheck("RotaryEmbedding", x.graph, [["x", x], ["cos", cos], ["sin", sin], ["positionIds", positionIds]]);
  c.dtype("x", x, FLOATS);
  c.sameDtype([["x", x], ["cos", cos], ["sin", sin]]);
  c.rank("x", x, [3, 4]);
  const [b, s] = x.rank === 4 ? [x.shape[0]!, x.shape[2]!] : [x.shape[0]!, x.shape[1]!];
  let head: Dim = x.shape[x.rank - 1]!;
  if (x.rank === 3) {
    if (numHeads === undefined) return c.fail("3-D x needs numHeads");
    head = dimDiv(head, numHeads) ?? c.fail(`x's last dim ${head} does not divide into ${numHeads} heads`);
  }
  const rd = rotaryEmbeddingDim || head;
  if (typeof rd === "number" && rd % 2 !== 0) c.fail(`rotary dim ${rd} must be even`);
  const half = typeof rd === "number" ? rd / 2 : dimDiv(rd, 2);
  for (const [label, t] of [["cos", cos], ["sin", sin]] as const) {
    if (positionIds) {
      c.rank(label, t, 2);
    } else {
      c.rank(label, t, 3);
      c.sameDim(`${label}'s batch dim`, t.shape[0]!, b);
      c.sameDim(`${label}'s sequence dim`, t.shape[1]!, s);
    }
    if (half !== undefined) c.sameDim(`${label}'s last dim must be rotary dim / 2`, t.shape[t.rank - 1]!, half);
  }
  c.sameDim("cos and sin differ in their first dim", cos.shape[0]!, sin.shape[0]!);
  if (positionIds) {
    c.dtype("positionIds", positionIds, ["int64"]);
    c.rank("positionIds", positionIds, 2);
    c.sameDim("positionIds' batch dim", positionIds.shape[0]!, b);
    c.sameDim("positionIds' sequence dim", positionIds.shape[1]!, s);
  }
  const attrs = {
    interleaved: interleaved ? 1 : 0,
    ...(numHeads !== undefined ? { num_heads: numHeads } : {}),
    ...(rotaryEmbeddingDim ? { rotary_embedding_dim: rotaryEmbeddingDim } : {}),
  };
  return c.emit1(positionIds ? [x, cos, sin, positionIds] : [x, cos, sin], attrs, { dtype: x.dtype, shape: x.shape });
}
