// Dropout keep-masks for training graphs, drawn in TypeScript from a seed.
//
// Why masks are graph inputs: ONNX Dropout / RandomUniformLike take their seed as a static attribute and ORT advances
// a hidden generator on every run, so pass 1 and pass 2 of a GradCache chunk would see different masks, and a resumed
// run could not replay them. A counter-based hash computed in-graph would be exact, but costs ~10 integer passes over
// every adapted input (≈ 500 M elements per 0.5B-model chunk), more than the matmuls. Here the masks come from a
// seeded generator by geometric skipping: only the dropped ~p of the elements cost a random draw, the rest is one
// fill. Same seed and chunk shape → the same masks, in pass 1, in pass 2 and after a resume.
import type { Tensor } from "@dembed/onnx";
import { dropoutMaskName } from "./inject.js";

/** mulberry32: tiny, fast, platform-independent; one stream per (seed, layer). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes the chunk seed with the layer index so layers get independent streams. */
function streamSeed(seed: number, layer: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(layer + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Fills `mask` with 1 (keep) and sets each element to 0 with probability p, independently. */
export function fillKeepMask(mask: Uint8Array, p: number, uniform: () => number): void {
  mask.fill(1);
  if (p <= 0) return;
  const logKeep = Math.log1p(-p);
  // Gap before the next drop ~ Geometric(p): ⌊ln U / ln(1 − p)⌋ kept elements, U ∈ (0, 1].
  for (let i = Math.floor(Math.log(1 - uniform()) / logKeep); i < mask.length; i += 1 + Math.floor(Math.log(1 - uniform()) / logKeep)) {
    mask[i] = 0;
  }
}

/**
 * One bool keep-mask [rows, tokens, in] per adapted layer, named as the training graph's inputs. Deterministic in
 * (seed, layer order, shape).
 */
export function dropoutMasks(
  layers: readonly { readonly path: string; readonly inFeatures: number }[],
  dims: readonly [number, number],
  p: number,
  seed: number,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  layers.forEach((layer, index) => {
    const data = new Uint8Array(dims[0] * dims[1] * layer.inFeatures);
    fillKeepMask(data, p, mulberry32(streamSeed(seed, index)));
    out[dropoutMaskName(layer.path)] = { dtype: "bool", dims: [dims[0], dims[1], layer.inFeatures], data };
  });
  return out;
}
