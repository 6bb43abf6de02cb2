// An independent, naive forward pass (plain loops, float64) of the decoder a DecoderSpec describes. Only tests use
// it: the ONNX graph must match it on tiny models. It shares no code with the graph builder beyond the spec.
import type { AttentionMode } from "./config.js";
import type { DecoderSpec } from "./architectures/types.js";

/** Parameter name ("model.norm.weight") → its values in float64, row-major as stored. */
export type ReferenceWeights = (name: string) => Float64Array;

export interface ReferenceBatch {
  readonly inputIds: readonly (readonly number[])[];
  readonly attentionMask: readonly (readonly number[])[];
}

/** Hidden states [B, T, hidden] after the final norm; padded positions are 0. */
export function referenceForward(spec: DecoderSpec, weights: ReferenceWeights, batch: ReferenceBatch, mode: AttentionMode): Float64Array {
  const { hiddenSize } = spec.config;
  const batchSize = batch.inputIds.length;
  const seqLen = batch.inputIds[0]?.length ?? 0;
  const out = new Float64Array(batchSize * seqLen * hiddenSize);
  batch.inputIds.forEach((ids, b) => {
    const mask = batch.attentionMask[b]!;
    const rows = forwardRow(spec, weights, ids, mask, mode);
    rows.forEach((row, t) => {
      if (mask[t]) out.set(row, (b * seqLen + t) * hiddenSize);
    });
  });
  return out;
}

function forwardRow(spec: DecoderSpec, w: ReferenceWeights, ids: readonly number[], mask: readonly number[], mode: AttentionMode): Float64Array[] {
  const c = spec.config;
  const T = ids.length;
  // Positions count real tokens only, so left padding does not shift them.
  const positions: number[] = [];
  let seen = 0;
  for (let t = 0; t < T; t++) {
    if (mask[t]) seen++;
    positions.push(Math.max(seen - 1, 0));
  }
  const embed = w(`${spec.modules.embed}.weight`);
  let x: Float64Array[] = ids.map((id) => embed.slice(id * c.hiddenSize, (id + 1) * c.hiddenSize));
  for (let layer = 0; layer < c.numLayers; layer++) {
    const m = spec.modules.layer(layer);
    const h = x.map((row) => rmsNorm(row, w(`${m.inputNorm}.weight`), c.rmsNormEps));
    const attn = attention(spec, w, h, positions, mask, mode, layer);
    x = x.map((row, t) => add(row, attn[t]!));
    const h2 = x.map((row) => rmsNorm(row, w(`${m.postAttentionNorm}.weight`), c.rmsNormEps));
    x = x.map((row, t) => {
      const gate = linear(h2[t]!, w, m.gate, spec.bias.mlp);
      const up = linear(h2[t]!, w, m.up, spec.bias.mlp);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      return add(row, linear(act, w, m.down, spec.bias.mlp));
    });
  }
  return x.map((row) => rmsNorm(row, w(`${spec.modules.finalNorm}.weight`), c.rmsNormEps));
}

function attention(
  spec: DecoderSpec,
  w: ReferenceWeights,
  h: Float64Array[],
  positions: number[],
  mask: readonly number[],
  mode: AttentionMode,
  layer: number,
): Float64Array[] {
  const c = spec.config;
  const m = spec.modules.layer(layer);
  const D = c.headDim;
  const groupSize = c.numHeads / c.numKvHeads;
  const headsOf = (rows: Float64Array[], count: number, norm: string | undefined) =>
    rows.map((row, t) =>
      Array.from({ length: count }, (_, head) => {
        let v: Float64Array = row.slice(head * D, (head + 1) * D);
        if (norm) v = rmsNorm(v, w(`${norm}.weight`), c.rmsNormEps);
        return rotate(v, positions[t]!, spec.invFreq);
      }),
    );
  const q = headsOf(h.map((r) => linear(r, w, m.q, spec.bias.q)), c.numHeads, m.qNorm);
  const k = headsOf(h.map((r) => linear(r, w, m.k, spec.bias.k)), c.numKvHeads, m.kNorm);
  const v = h.map((r) => linear(r, w, m.v, spec.bias.v));
  const T = h.length;
  const scale = 1 / Math.sqrt(D);
  return h.map((_, t) => {
    const merged = new Float64Array(c.numHeads * D);
    for (let head = 0; head < c.numHeads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const keys: number[] = [];
      for (let s = 0; s < T; s++) if (mask[s] && (mode === "bidirectional" || s <= t)) keys.push(s);
      if (keys.length === 0) continue; // a padded query with nothing visible; its output is not compared
      const scores = keys.map((s) => dot(q[t]![head]!, k[s]![kvHead]!) * scale);
      const top = Math.max(...scores);
      const e = scores.map((z) => Math.exp(z - top));
      const total = e.reduce((a, b) => a + b, 0);
      keys.forEach((s, j) => {
        const p = e[j]! / total;
        for (let d = 0; d < D; d++) merged[head * D + d]! += p * v[s]![kvHead * D + d]!;
      });
    }
    return linear(merged, w, m.o, spec.bias.o);
  });
}

/** Rotate-half RoPE: dim i pairs with i + D/2. */
function rotate(v: Float64Array, position: number, invFreq: Float64Array): Float64Array {
  const half = v.length / 2;
  const out = new Float64Array(v.length);
  for (let i = 0; i < half; i++) {
    // HF forms the angle in float32; rounding it the same way keeps long positions comparable.
    const angle = Math.fround(position * Math.fround(invFreq[i]!));
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    out[i] = v[i]! * cos - v[i + half]! * sin;
    out[i + half] = v[i + half]! * cos + v[i]! * sin;
  }
  return out;
}

function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sq = 0;
  for (const v of x) sq += v * v;
  const inv = 1 / Math.sqrt(sq / x.length + eps);
  return Float64Array.from(x, (v, i) => v * inv * weight[i]!);
}

/** y = x Wᵀ (+ b) with W in HF's [out, in] layout. */
function linear(x: Float64Array, w: ReferenceWeights, module: string, bias: boolean): Float64Array {
  const weight = w(`${module}.weight`);
  const outDim = weight.length / x.length;
  const y = bias ? Float64Array.from(w(`${module}.bias`)) : new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = 0;
    const row = o * x.length;
    for (let i = 0; i < x.length; i++) s += weight[row + i]! * x[i]!;
    y[o]! += s;
  }
  return y;
}

const add = (a: Float64Array, b: Float64Array): Float64Array => Float64Array.from(a, (v, i) => v + b[i]!);
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
