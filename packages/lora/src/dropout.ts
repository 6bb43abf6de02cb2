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

/** mulberry32: tiny, fast, platform-independent; one stream per (seed, layer). seededDropPositions inlines it. */
export function mulberry32(seed: number): () => number {
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
export function streamSeed(seed: number, layer: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(layer + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Fills `mask` with 1 (keep) and sets each element to 0 with probability p, independently. */
export function fillKeepMask(mask: Uint8Array, p: number, uniform: () => number): void {
  applyDrops(mask, dropPositions(mask.length, p, uniform));
}

/**
 * Where fillKeepMask would put its zeros, ascending: the same draws, kept compact (≈ p·length positions) so a mask
 * can be rebuilt for GradCache's second pass without drawing again.
 */
export function dropPositions(length: number, p: number, uniform: () => number): Uint32Array {
  if (length > 2 ** 32) throw new Error(`dropPositions: ${length} elements exceed a 32-bit index`);
  if (p <= 0) return new Uint32Array(0);
  const gaps = gapTable(p);
  const positions = new Positions(length, p);
  for (let i = gapAfter(uniform(), gaps, p); i < length; i += 1 + gapAfter(uniform(), gaps, p)) positions.push(i);
  return positions.done();
}

/** dropPositions(length, p, mulberry32(seed)) with the generator inlined: the training step draws ~25 M gaps. */
function seededDropPositions(length: number, p: number, seed: number): Uint32Array {
  if (length > 2 ** 32) throw new Error(`dropPositions: ${length} elements exceed a 32-bit index`);
  if (p <= 0) return new Uint32Array(0);
  const gaps = gapTable(p);
  const positions = new Positions(length, p);
  let state = seed >>> 0;
  for (let i = -1; ; ) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    i += 1 + gapAfter(((t ^ (t >>> 14)) >>> 0) / 4294967296, gaps, p);
    if (!(i < length)) return positions.done(); // as the for loop's test: a NaN gap (p > 1) ends the draws too
    positions.push(i);
  }
}

// Gap before the next drop ~ Geometric(p): ⌊ln(1 − U) / ln(1 − p)⌋ kept elements, U ∈ [0, 1). The formula is the
// definition (it fixes the mask stream that resumed runs replay); the table only skips its logarithm. It is
// non-decreasing in U, so a bucket of U whose two ends give the same gap gives it throughout; the few buckets that
// straddle a step (≈ 180 of 65,536 at p = 0.05) are marked −1 and computed.
const GAP_BUCKETS = 65536;
const gapTables = new Map<number, Float64Array>();

function exactGap(u: number, p: number): number {
  return Math.floor(Math.log(1 - u) / Math.log1p(-p));
}

function gapAfter(u: number, gaps: Float64Array, p: number): number {
  const gap = gaps[(u * GAP_BUCKETS) | 0];
  return gap !== undefined && gap >= 0 ? gap : exactGap(u, p);
}

function gapTable(p: number): Float64Array {
  let gaps = gapTables.get(p);
  if (gaps !== undefined) return gaps;
  gaps = new Float64Array(GAP_BUCKETS);
  for (let b = 0; b < GAP_BUCKETS; b++) {
    const first = exactGap(b / GAP_BUCKETS, p);
    gaps[b] = first === exactGap(justBelow((b + 1) / GAP_BUCKETS), p) ? first : -1;
  }
  if (gapTables.size >= 8) gapTables.clear();
  gapTables.set(p, gaps);
  return gaps;
}

const bitsView = new Float64Array(1);
const bitsAsInt = new BigInt64Array(bitsView.buffer);
/** The largest double below a positive x. */
function justBelow(x: number): number {
  bitsView[0] = x;
  bitsAsInt[0]! -= 1n;
  return bitsView[0];
}

/** An ascending position list, sized for ≈ p·length and grown by doubling. */
class Positions {
  private data: Uint32Array;
  private n = 0;
  constructor(length: number, p: number) {
    this.data = new Uint32Array(Math.max(16, Math.ceil(length * p * 1.1)));
  }
  push(i: number): void {
    if (this.n === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = i;
  }
  done(): Uint32Array {
    return this.data.subarray(0, this.n);
  }
}

/** `mask` all ones but zeros at `positions`. */
export function applyDrops(mask: Uint8Array, positions: Uint32Array): void {
  mask.fill(1);
  for (let k = 0; k < positions.length; k++) mask[positions[k]!] = 0;
}

/** The drops of every adapted layer for one chunk shape and seed: what dropoutMasks draws, before it is spread out. */
export interface DropoutDraws {
  readonly dims: readonly [number, number];
  readonly p: number;
  readonly seed: number;
  /** Per layer, in the order given. */
  readonly positions: readonly Uint32Array[];
}

export function drawDropouts(
  layers: readonly { readonly path: string; readonly inFeatures: number }[],
  dims: readonly [number, number],
  p: number,
  seed: number,
): DropoutDraws {
  const positions = layers.map((layer, index) => seededDropPositions(dims[0] * dims[1] * layer.inFeatures, p, streamSeed(seed, index)));
  return { dims: [dims[0], dims[1]], p, seed, positions };
}

/**
 * The keep-mask tensors of `draws`, named as the graph's inputs. `reuse` (per layer, same order) supplies buffers of
 * the right length to write into instead of allocating ~p⁻¹ times the draws' size again.
 */
export function keepMasks(
  layers: readonly { readonly path: string; readonly inFeatures: number }[],
  draws: DropoutDraws,
  reuse?: readonly (Uint8Array | undefined)[],
): Record<string, Tensor> {
  if (draws.positions.length !== layers.length) throw new Error(`keepMasks: draws for ${draws.positions.length} layers, ${layers.length} layers given`);
  const [b, t] = draws.dims;
  const out: Record<string, Tensor> = {};
  layers.forEach((layer, index) => {
    const length = b * t * layer.inFeatures;
    const given = reuse?.[index];
    const data = given !== undefined && given.length === length ? given : new Uint8Array(length);
    applyDrops(data, draws.positions[index]!);
    out[dropoutMaskName(layer.path)] = { dtype: "bool", dims: [b, t, layer.inFeatures], data };
  });
  return out;
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
  return keepMasks(layers, drawDropouts(layers, dims, p, seed));
}
