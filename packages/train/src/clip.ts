import { sortedNames, type NamedTensors } from "./tensors.js";

/**
 * Global L2 norm over all gradients (float64, fixed name order), and scaling in place to `maxNorm` when above
 * it, as torch.nn.utils.clip_grad_norm_ does (coefficient maxNorm / (norm + 1e-6)). A non-finite norm is
 * returned untouched for the caller to stop on.
 */
export function clipGradNorm(grads: NamedTensors, maxNorm = 1.0): { norm: number; clipped: boolean } {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  let sq = 0;
  const names = sortedNames(grads);
  for (const name of names) {
    const g = grads[name] as Float32Array;
    for (let k = 0; k < g.length; k++) sq += (g[k] as number) * (g[k] as number);
  }
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) return { norm, clipped: false };
  const coef = maxNorm / (norm + 1e-6);
  if (coef >= 1) return { norm, clipped: false };
  for (const name of names) {
    const g = grads[name] as Float32Array;
    for (let k = 0; k < g.length; k++) g[k] = (g[k] as number) * coef;
  }
  return { norm, clipped: true };
}
