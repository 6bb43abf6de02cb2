// Shared by the integration suites: tiny models in a temp folder, their float64 reference weights, and the error
// measure the correctness bound is stated in.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, type LoadedModel } from "../src/model.js";
import { createTinyModel, type TinyArchitecture, type TinyModelOptions } from "../src/tiny.js";
import { readParameter } from "../src/weights.js";
import type { ReferenceWeights } from "../src/reference.js";

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `dembed-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function tinyModel(arch: TinyArchitecture, root: string, options: TinyModelOptions = {}): Promise<LoadedModel> {
  const dir = await createTinyModel(arch, join(root, `${arch}-${options.dtype ?? "F32"}`), { seed: 7, ...options });
  return loadModel(dir);
}

/** Every bound parameter read once as float64. */
export async function referenceWeights(model: LoadedModel): Promise<ReferenceWeights> {
  const cache = new Map<string, Float64Array>();
  for (const name of model.weights.tensors.keys()) cache.set(name, await readParameter(model.weights, name));
  return (name) => {
    const w = cache.get(name);
    if (!w) throw new Error(`reference: no parameter ${name}`);
    return w;
  };
}

/** max |a − b| / max |b|: the error relative to the tensor's scale (elementwise ratios blow up near zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity;
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Rows of [ids, real length] laid out left- or right-padded to `width`. */
export function paddedRows(rows: readonly (readonly number[])[], width: number, side: "left" | "right", pad = 0) {
  const inputIds = rows.map((r) => (side === "left" ? [...Array(width - r.length).fill(pad), ...r] : [...r, ...Array(width - r.length).fill(pad)]));
  const attentionMask = rows.map((r) =>
    side === "left" ? [...Array(width - r.length).fill(0), ...r.map(() => 1)] : [...r.map(() => 1), ...Array(width - r.length).fill(0)],
  );
  return { inputIds, attentionMask };
}

/** The hidden vectors of row `row`'s real tokens, in order, from a [B, T, H] tensor. */
export function realTokenStates(data: ArrayLike<number>, mask: readonly (readonly number[])[], row: number, hidden: number): number[] {
  const t = mask[0]!.length;
  const out: number[] = [];
  mask[row]!.forEach((m, col) => {
    if (m) for (let h = 0; h < hidden; h++) out.push(data[(row * t + col) * hidden + h]!);
  });
  return out;
}
