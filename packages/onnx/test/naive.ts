// Naive references for the op tests: an n-d array of JS numbers and "compute each output element from its index".
// Deliberately slow and obvious, so a test failure points at the op, not at the reference.
import type { DType } from "../src/graph.js";
import { numberAt, tensor, type Tensor } from "../src/tensor.js";
import type { TestInput } from "../src/testing.js";

export class Nd {
  readonly strides: number[];
  constructor(
    readonly dims: readonly number[],
    readonly data: readonly number[],
  ) {
    this.strides = stridesOf(dims);
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`Nd: ${data.length} values for [${dims}]`);
  }
  static of(t: Tensor | TestInput): Nd {
    return new Nd(t.dims, Array.from({ length: t.data.length }, (_, i) => numberAt(t.dtype, t.data, i)));
  }
  get rank(): number {
    return this.dims.length;
  }
  at(idx: readonly number[]): number {
    let flat = 0;
    idx.forEach((v, i) => (flat += v * this.strides[i]!));
    const x = this.data[flat];
    if (x === undefined || idx.some((v, i) => v < 0 || v >= this.dims[i]!)) throw new Error(`Nd.at([${idx}]) outside [${this.dims}]`);
    return x;
  }
  /** numpy-style broadcast read: idx has the output's rank; size-1 dims read index 0. */
  atBroadcast(idx: readonly number[]): number {
    const off = idx.length - this.rank;
    return this.at(this.dims.map((d, i) => (d === 1 ? 0 : idx[i + off]!)));
  }
  tensor(dtype: DType = "float32"): Tensor {
    return tensor(dtype, this.dims, this.data);
  }
}

export const stridesOf = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
};

export function unravel(flat: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = flat % dims[i]!;
    flat = Math.floor(flat / dims[i]!);
  }
  return idx;
}

/** An Nd of `dims` whose element at idx is f(idx). */
export function build(dims: readonly number[], f: (idx: number[]) => number): Nd {
  const n = dims.reduce((a, b) => a * b, 1);
  return new Nd(dims, Array.from({ length: n }, (_, i) => f(unravel(i, dims))));
}

export function broadcastDims(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => Math.max(...shapes.map((s) => s[s.length - rank + i] ?? 1)));
}

/** Elementwise f over broadcast operands. */
export function zip(f: (...xs: number[]) => number, ...xs: Nd[]): Nd {
  const dims = broadcastDims(...xs.map((x) => x.dims));
  return build(dims, (idx) => f(...xs.map((x) => x.atBroadcast(idx))));
}

export function matmulNd(a: Nd, b: Nd): Nd {
  const [m, k] = a.dims.slice(-2) as [number, number];
  const n = b.dims[b.rank - 1]!;
  const batch = broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2));
  return build([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    let s = 0;
    for (let p = 0; p < k; p++) s += readBatch(a, bi, [i, p]) * readBatch(b, bi, [p, j]);
    return s;
  });
}

function readBatch(x: Nd, batch: number[], last: number[]): number {
  const off = batch.length - (x.rank - 2);
  return x.at([...x.dims.slice(0, -2).map((d, i) => (d === 1 ? 0 : batch[i + off]!)), ...last]);
}

export function transposeNd(x: Nd, perm: readonly number[]): Nd {
  return build(perm.map((p) => x.dims[p]!), (idx) => {
    const src = new Array<number>(x.rank);
    perm.forEach((p, i) => (src[p] = idx[i]!));
    return x.at(src);
  });
}

/** Reduce `axes` with f over the kept values; keepdims as ONNX. */
export function reduceNd(x: Nd, axes: readonly number[], keepdims: boolean, f: (values: number[]) => number): Nd {
  const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
  const kept = x.dims.map((d, i) => (norm.includes(i) ? 1 : d));
  const full = build(kept, (idx) => {
    const values: number[] = [];
    const sub = norm.map((a) => x.dims[a]!);
    const count = sub.reduce((p, q) => p * q, 1);
    for (let r = 0; r < count; r++) {
      const pos = unravel(r, sub);
      const src = [...idx];
      norm.forEach((a, i) => (src[a] = pos[i]!));
      values.push(x.at(src));
    }
    return f(values);
  });
  return keepdims ? full : new Nd(x.dims.filter((_, i) => !norm.includes(i)), full.data);
}

export function softmaxNd(x: Nd, axis: number): Nd {
  const a = axis < 0 ? axis + x.rank : axis;
  return build(x.dims, (idx) => {
    const row = Array.from({ length: x.dims[a]! }, (_, j) => x.at(idx.map((v, i) => (i === a ? j : v))));
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    return Math.exp(x.at(idx) - max) / sum;
  });
}

export const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);

/** Abramowitz–Stegun 7.1.26 is too coarse for a reference; this series/continued-fraction erf is ~1e-15. */
export function erfRef(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let term = t;
    let s = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      s += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * s;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

interface AttnRef {
  /** Additive bias per (b, h, i, j); -Infinity masks. */
  bias?: (b: number, h: number, i: number, j: number) => number;
  causal?: boolean;
  scale?: number;
}

/** softmax(q·kᵀ·scale + bias)·v on 4-D [B,H,S,D] arrays; query head h reads kv head ⌊h / (Hq/Hkv)⌋. */
export function attentionRef(q: Nd, k: Nd, v: Nd, { bias, causal = false, scale }: AttnRef = {}): Nd {
  const [B, Hq, Sq, D] = q.dims as [number, number, number, number];
  const [, Hkv, Skv] = k.dims as [number, number, number];
  const Dv = v.dims[3]!;
  const group = Hq / Hkv;
  const s = scale ?? 1 / Math.sqrt(D);
  return build([B, Hq, Sq, Dv], ([b, h, i, e]) => {
    const kh = Math.floor(h! / group);
    const scores = Array.from({ length: Skv }, (_, j) => {
      if (causal && j > i!) return -Infinity;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q.at([b!, h!, i!, d]) * k.at([b!, kh, j, d]);
      return dot * s + (bias ? bias(b!, h!, i!, j) : 0);
    });
    const max = Math.max(...scores);
    const w = scores.map((x) => Math.exp(x - max));
    const total = w.reduce((a, c) => a + c, 0);
    return w.reduce((acc, wj, j) => acc + (wj / total) * v.at([b!, kh, j, e!]), 0);
  });
}

/** [B,S,H·D] → [B,H,S,D] and back. */
export const splitHeads = (x: Nd, heads: number): Nd => {
  const [B, S, HD] = x.dims as [number, number, number];
  return transposeNd(new Nd([B, S, heads, HD / heads], x.data), [0, 2, 1, 3]);
};
export const mergeHeads = (x: Nd): Nd => {
  const [B, H, S, D] = x.dims as [number, number, number, number];
  return new Nd([B, S, H * D], transposeNd(x, [0, 2, 1, 3]).data);
};
