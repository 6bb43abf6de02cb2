// VJP of ONNX Attention (opset 23), in primitives. The backward recomputes the probabilities P = softmax(QKᵀ·scale +
// mask) from the saved inputs, in the [B, Hq, T, S] layout with kv heads repeated (GQA), then:
//   dV = Pᵀ·dY   dS = P ⊙ (dP − rowsum(dP ⊙ P)) with dP = dY·Vᵀ   dQ = dS·K·scale   dK = dSᵀ·Q·scale
// and folds the repeated kv heads back by summing over each group. This materializes B·Hq·T·S scores: fine for
// training chunks; long-input inference never differentiates.
import { GraphBuildError, type Value } from "../graph.js";
import {
  add, and, expand, greater, lessOrEqual, max2, mul, range, reduceSum, reshape, shape, softmax, sub, transpose, unsqueeze, where,
} from "../ops/index.js";
import type { Grad, RuleContext } from "./rules.js";
import { lazy, mmT } from "./util.js";

/** What a masked score becomes; finite so a fully masked row gives uniform weights rather than NaN. */
const MASKED_SCORE = -3.0e38;

export function attentionRule(c: RuleContext): Grad[] {
  const [q, k, v] = c.x;
  const where_ = `vjp: Attention node '${c.node.name}'`;
  if (c.opt(4) || c.opt(5)) throw new GraphBuildError(`${where_}: past_key/past_value have no rule (training graphs use no KV cache)`);
  if (c.opt(6)) throw new GraphBuildError(`${where_}: nonpad_kv_seqlen has no rule; pass a mask instead`);
  if (c.float("softcap", 0) !== 0) throw new GraphBuildError(`${where_}: softcap has no rule`);
  if (c.gs.slice(1).some((g) => g)) throw new GraphBuildError(`${where_}: only output 0 (Y) can be differentiated`);

  const threeD = q.rank === 3;
  const hq = threeD ? c.int("q_num_heads", 0) : q.shape[1];
  const hkv = threeD ? c.int("kv_num_heads", 0) : k.shape[1];
  if (typeof hq !== "number" || typeof hkv !== "number" || hq <= 0 || hkv <= 0 || hq % hkv !== 0) {
    throw new GraphBuildError(`${where_}: needs static head counts with q heads a multiple of kv heads (got ${hq}, ${hkv})`);
  }
  const width = (t: Value, heads: number): number => {
    const d = t.shape[t.rank - 1];
    if (typeof d !== "number") throw new GraphBuildError(`${where_}: needs a static head size (${t.name} has '${d}')`);
    return threeD ? d / heads : d;
  };
  const [dk, dv, rep] = [width(q, hq), width(v, hkv), hq / hkv];
  const scale = c.float("scale", 1 / Math.sqrt(dk));

  // [B, T, h·d] ↔ [B, h, T, d] for the 3-D form.
  const heads = (t: Value, h: number, d: number): Value => (threeD ? transpose(reshape(t, [0, 0, h, d]), [0, 2, 1, 3]) : t);
  const unheads = (t: Value, h: number, d: number): Value => (threeD ? reshape(transpose(t, [0, 2, 1, 3]), [0, 0, h * d]) : t);
  // kv head j serves query heads j·rep … j·rep+rep−1: [B, Hkv, S, d] → [B, Hq, S, d], and the sum back.
  const repeatKv = (t: Value, d: number): Value =>
    rep === 1 ? t : reshape(expand(unsqueeze(t, [2]), [1, 1, rep, 1, 1]), [0, hq, -1, d]);
  const sumGroups = (t: Value, d: number): Value =>
    rep === 1 ? t : reduceSum(reshape(t, [0, hkv, rep, -1, d]), [2], { keepdims: false });

  const Q = lazy(() => heads(q, hq, dk)); // [B, Hq, T, dk]
  const K = lazy(() => repeatKv(heads(k, hkv, dk), dk)); // [B, Hq, S, dk]
  const V = lazy(() => repeatKv(heads(v, hkv, dv), dv)); // [B, Hq, S, dv]
  const dY = lazy(() => heads(c.g, hq, dv)); // [B, Hq, T, dv]
  const P = lazy(() => {
    const { scores, keep } = masked(c, mmT(Q(), K(), false, true, scale), Q(), K());
    const p = softmax(scores, -1); // [B, Hq, T, S]
    return keep ? where(keep, p, 0) : p;
  });
  const dS = lazy(() => {
    const dP = mmT(dY(), V(), false, true);
    return mul(P(), sub(dP, reduceSum(mul(dP, P()), [-1], { keepdims: true })));
  });
  return [
    () => unheads(mmT(dS(), K(), false, false, scale), hq, dk),
    () => unheads(sumGroups(mmT(dS(), Q(), true, false, scale), dk), hkv, dk),
    () => unheads(sumGroups(mmT(P(), dY(), true, false), dv), hkv, dv),
    () => dS(), // an additive float mask; the engine sums it over the axes the mask broadcast along
    null, null, null,
  ];
}

/**
 * Scores with the node's mask (bool: keep where true; float: added) and causal flag applied, and the keep mask.
 * ORT's fp32 kernel outputs zeros for a query row with no visible key, so P is zeroed there too (those rows get no
 * gradient); a float mask's −inf entries are clamped to MASKED_SCORE and count as masked, else such a row would be NaN.
 */
function masked(c: RuleContext, scores: Value, Q: Value, K: Value): { scores: Value; keep: Value | null } {
  const mask = c.opt(3);
  let keep: Value | null = null;
  let out = scores;
  if (mask && mask.dtype === "bool") {
    keep = mask;
  } else if (mask) {
    out = max2(add(out, mask), MASKED_SCORE);
    keep = greater(out, MASKED_SCORE);
  }
  if (c.int("is_causal", 0) === 1) {
    // Upper-left aligned, as the ONNX spec puts it: query t sees keys 0…t.
    const length = (t: Value): Value => reshape(shape(t, { start: 2, end: 3 }), []);
    const rows = unsqueeze(range(0, length(Q), 1), [1]); // [T, 1]
    const cols = unsqueeze(range(0, length(K), 1), [0]); // [1, S]
    const causal = lessOrEqual(cols, rows); // [T, S]
    keep = keep ? and(keep, causal) : causal;
  }
  return { scores: keep ? where(keep, out, MASKED_SCORE) : out, keep };
}
