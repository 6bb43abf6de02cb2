import type { LoraPair } from "./init.js";

function checkSizes(what: string, w: Float32Array, outFeatures: number, inFeatures: number, pair: LoraPair, r: number): void {
  if (w.length !== outFeatures * inFeatures) throw new Error(`${what}: weight has ${w.length} values, expected ${outFeatures}×${inFeatures}`);
  if (pair.a.length !== r * inFeatures) throw new Error(`${what}: lora_A has ${pair.a.length} values, expected ${r}×${inFeatures}`);
  if (pair.b.length !== outFeatures * r) throw new Error(`${what}: lora_B has ${pair.b.length} values, expected ${outFeatures}×${r}`);
}

/**
 * W + scaling·B·A for an HF linear weight W [out, in] (row-major), A [r, in], B [out, r]. Returns a new array;
 * each row is accumulated in float64 and rounded once.
 */
export function mergeLoraWeight(
  weight: Float32Array,
  pair: LoraPair,
  shape: { readonly outFeatures: number; readonly inFeatures: number; readonly r: number },
  scaling: number,
  what = "mergeLoraWeight",
): Float32Array {
  const { outFeatures, inFeatures, r } = shape;
  checkSizes(what, weight, outFeatures, inFeatures, pair, r);
  const merged = new Float32Array(weight.length);
  const row = new Float64Array(inFeatures);
  for (let o = 0; o < outFeatures; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const bk = (pair.b[o * r + k] as number) * scaling;
      if (bk === 0) continue;
      const base = k * inFeatures;
      for (let i = 0; i < inFeatures; i++) row[i] = (row[i] as number) + bk * (pair.a[base + i] as number);
    }
    const base = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) merged[base + i] = (weight[base + i] as number) + (row[i] as number);
  }
  return merged;
}

/**
 * The adapted linear layer in plain TS, y = x·Wᵀ + b + scaling·(x·Aᵀ)·Bᵀ for x [n, in] (no dropout: inference).
 * The reference the graph injection is tested against.
 */
export function loraLinear(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | undefined,
  pair: LoraPair,
  shape: { readonly outFeatures: number; readonly inFeatures: number; readonly r: number },
  scaling: number,
): Float32Array {
  const { outFeatures, inFeatures, r } = shape;
  checkSizes("loraLinear", weight, outFeatures, inFeatures, pair, r);
  if (x.length % inFeatures !== 0) throw new Error(`loraLinear: input has ${x.length} values, not a multiple of ${inFeatures}`);
  const n = x.length / inFeatures;
  const y = new Float32Array(n * outFeatures);
  const xa = new Float64Array(r);
  for (let t = 0; t < n; t++) {
    const xt = t * inFeatures;
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let i = 0; i < inFeatures; i++) s += (x[xt + i] as number) * (pair.a[k * inFeatures + i] as number);
      xa[k] = s;
    }
    for (let o = 0; o < outFeatures; o++) {
      let s = bias === undefined ? 0 : (bias[o] as number);
      for (let i = 0; i < inFeatures; i++) s += (x[xt + i] as number) * (weight[o * inFeatures + i] as number);
      let low = 0;
      for (let k = 0; k < r; k++) low += (xa[k] as number) * (pair.b[o * r + k] as number);
      y[t * outFeatures + o] = s + scaling * low;
    }
  }
  return y;
}
