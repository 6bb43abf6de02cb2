import type { ContrastiveBatch, ContrastiveLoss } from "../src/index.js";

/** Deterministic vectors for tests (LCG); values in [-1, 1). */
export function randomVectors(count: number, dim: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => next() * 2 - 1));
}

function copyBatch(b: ContrastiveBatch): { queries: Float32Array[]; positives: Float32Array[]; negatives: Float32Array[][] } {
  return {
    queries: b.queries.map((v) => v.slice()),
    positives: b.positives.map((v) => v.slice()),
    negatives: b.negatives.map((l) => l.map((v) => v.slice())),
  };
}

/**
 * Central finite differences of the loss w.r.t. every embedding entry, against the analytic gradients.
 * Uses the float32-rounded step actually taken, so only the O(h²) truncation error remains.
 * Returns the worst |analytic − numeric| / max(1e-3, |numeric|).
 */
export function worstGradientError(loss: ContrastiveLoss, batch: ContrastiveBatch, h = 1e-4): number {
  const analytic = loss.fromEmbeddings(batch);
  let worst = 0;
  const probe = (pick: (b: ReturnType<typeof copyBatch>) => Float32Array, grad: Float32Array): void => {
    for (let k = 0; k < grad.length; k++) {
      const plus = copyBatch(batch);
      const minus = copyBatch(batch);
      const vp = pick(plus);
      const vm = pick(minus);
      vp[k] = (vp[k] as number) + h;
      vm[k] = (vm[k] as number) - h;
      const step = (vp[k] as number) - (vm[k] as number);
      const lp = loss.fromEmbeddings({ ...batch, ...plus }).loss;
      const lm = loss.fromEmbeddings({ ...batch, ...minus }).loss;
      const numeric = (lp - lm) / step;
      const err = Math.abs((grad[k] as number) - numeric) / Math.max(1e-3, Math.abs(numeric));
      if (err > worst) worst = err;
    }
  };
  analytic.dQueries.forEach((g, i) => probe((b) => b.queries[i] as Float32Array, g));
  analytic.dPositives.forEach((g, i) => probe((b) => b.positives[i] as Float32Array, g));
  analytic.dNegatives.forEach((list, i) => list.forEach((g, k) => probe((b) => (b.negatives[i] as Float32Array[])[k] as Float32Array, g)));
  return worst;
}
