// One Qwen2-style attention block built from the op functions, for the autodiff's end-to-end tests only (the real
// model lives in @dembed/models; onnx knows no model). LoRA-like extra inputs are added to q and v.
import type { Graph, Value } from "../../src/graph.js";
import * as op from "../../src/ops/index.js";

export interface BlockConfig {
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  /** "op": ONNX Attention (its own VJP rule); "primitives": MatMul, Softmax with an additive mask, GQA by Expand/Reshape. */
  readonly attention: "op" | "primitives";
  readonly ropeTheta: number;
  readonly maxPositions: number;
}

export interface BlockWeights {
  readonly norm: Float32Array;
  readonly q: Float32Array;
  readonly qBias: Float32Array;
  readonly k: Float32Array;
  readonly kBias: Float32Array;
  readonly v: Float32Array;
  readonly vBias: Float32Array;
  readonly o: Float32Array;
}

export function blockWeights(cfg: BlockConfig, random: () => number): BlockWeights {
  const [h, q, kv] = [cfg.hidden, cfg.heads * cfg.headDim, cfg.kvHeads * cfg.headDim];
  const uniform = (n: number, scale: number, offset = 0) => Float32Array.from({ length: n }, () => offset + scale * (2 * random() - 1));
  return {
    norm: uniform(h, 0.2, 1),
    q: uniform(q * h, 0.5), qBias: uniform(q, 0.1),
    k: uniform(kv * h, 0.5), kBias: uniform(kv, 0.1),
    v: uniform(kv * h, 0.5), vBias: uniform(kv, 0.1),
    o: uniform(h * q, 0.5),
  };
}

export interface BlockInputs {
  /** [batch, seq, hidden] */
  readonly x: Value;
  /** [batch, seq] int64, 1 for tokens, 0 for padding (either side). */
  readonly mask: Value;
  /** [batch, seq, heads·headDim], added to q_proj's output. */
  readonly qExtra: Value;
  /** [batch, seq, kvHeads·headDim], added to v_proj's output. */
  readonly vExtra: Value;
}

/** x + o_proj(attention(RoPE(q_proj(n) + qExtra), RoPE(k_proj(n)), v_proj(n) + vExtra)), n = RMSNorm(x). */
export function attentionBlock(graph: Graph, inputs: BlockInputs, w: BlockWeights, cfg: BlockConfig): Value {
  const { hidden: H, heads: Hq, kvHeads: Hkv, headDim: D } = cfg;
  const init = (name: string, dims: number[], data: Float32Array) => graph.initializer(name, "float32", dims, data);
  const { x, mask, qExtra, vExtra } = inputs;

  const n = op.rmsNormalization(x, init("norm", [H], w.norm), { epsilon: 1e-6 }); // [B, T, H]
  const q = op.add(op.linear(n, init("q_proj", [Hq * D, H], w.q), init("q_bias", [Hq * D], w.qBias)), qExtra); // [B, T, Hq·D]
  const k = op.linear(n, init("k_proj", [Hkv * D, H], w.k), init("k_bias", [Hkv * D], w.kBias)); // [B, T, Hkv·D]
  const v = op.add(op.linear(n, init("v_proj", [Hkv * D, H], w.v), init("v_bias", [Hkv * D], w.vBias)), vExtra);

  // Positions from the mask, so left and right padding give the same result; pads get position 0.
  const positions = op.max2(op.sub(op.cumsum(mask, 1), 1), 0); // [B, T]
  const [cos, sin] = ropeCaches(cfg);
  const cosCache = op.constant(graph, cos, { dtype: "float32", dims: [cfg.maxPositions, D / 2] });
  const sinCache = op.constant(graph, sin, { dtype: "float32", dims: [cfg.maxPositions, D / 2] });
  const heads = (t: Value, count: number) => op.transpose(op.reshape(t, [0, 0, count, D]), [0, 2, 1, 3]); // [B, n, T, D]
  const rope = (t: Value) => op.rotaryEmbedding(t, cosCache, sinCache, { positionIds: positions });
  const qh = rope(heads(q, Hq));
  const kh = rope(heads(k, Hkv));
  const vh = heads(v, Hkv);

  const keys = op.unsqueeze(op.cast(mask, "bool"), [1, 2]); // [B, 1, 1, T]: padded keys are never attended
  const attn = cfg.attention === "op"
    ? op.attention(qh, kh, vh, { attnMask: op.expand(keys, [1, 1, x.shape[1]!, 1]), isCausal: cfg.causal })
    : primitiveAttention(qh, kh, vh, keys, cfg);
  const merged = op.reshape(op.transpose(attn, [0, 2, 1, 3]), [0, 0, Hq * D]); // [B, T, Hq·D]
  return op.add(x, op.linear(merged, init("o_proj", [H, Hq * D], w.o)));
}

/** The decomposition training graphs may use instead of the Attention op. */
function primitiveAttention(q: Value, k: Value, v: Value, keys: Value, cfg: BlockConfig): Value {
  const rep = cfg.heads / cfg.kvHeads;
  // kv head j serves query heads j·rep … j·rep + rep − 1.
  const repeat = (t: Value) => op.reshape(op.expand(op.unsqueeze(t, [2]), [1, 1, rep, 1, 1]), [0, cfg.heads, -1, cfg.headDim]);
  const scores = op.mul(op.matmul(q, op.transpose(repeat(k), [0, 1, 3, 2])), 1 / Math.sqrt(cfg.headDim)); // [B, Hq, T, T]
  let allowed = keys;
  if (cfg.causal) {
    const length = op.reshape(op.shape(q, { start: 2, end: 3 }), []);
    const pos = op.range(0, length, 1);
    allowed = op.and(keys, op.lessOrEqual(op.unsqueeze(pos, [0]), op.unsqueeze(pos, [1]))); // key ≤ query
  }
  const bias = op.where(allowed, op.constant(q.graph, 0, { dtype: q.dtype }), -1e9); // additive mask
  // A query row with no visible key (causal + left padding) would get uniform weights whose scores −1e9 + s have
  // lost s in fp32: a flat forward but a nonzero exact gradient. Zero such rows, as ORT's Attention does.
  const probs = op.mul(op.softmax(op.add(scores, bias), -1), op.cast(allowed, q.dtype));
  return op.matmul(probs, repeat(v)); // [B, Hq, T, D]
}

/** Rotate-half RoPE tables [maxPositions, D/2]: inv_freq_i = θ^(−2i/D). */
function ropeCaches(cfg: BlockConfig): [number[], number[]] {
  const half = cfg.headDim / 2;
  const cos: number[] = [];
  const sin: number[] = [];
  for (let p = 0; p < cfg.maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * cfg.ropeTheta ** ((-2 * i) / cfg.headDim);
      cos.push(Math.cos(angle));
      sin.push(Math.sin(angle));
    }
  }
  return [cos, sin];
}
