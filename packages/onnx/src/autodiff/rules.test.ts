// Every VJP rule against central differences, one test per op type. The table is keyed by DifferentiableOp, so a
// new rule without a test fails to compile, and each case checks that its graph really contains the op it tests.
import { describe, expect, it } from "vitest";
import type { Graph, Value } from "../graph.js";
import * as op from "../ops/index.js";
import { checkGradient, seeded, type GradCheckInput } from "../testing.js";
import type { DifferentiableOp } from "./rules.js";

const random = seeded(20250515);
const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const values = (dims: readonly number[], lo: number, hi: number): number[] =>
  Array.from({ length: count(dims) }, () => lo + (hi - lo) * random());
/** Uniform in [lo, hi). */
const f64 = (dims: number[], lo = -1, hi = 1): GradCheckInput => ({ dtype: "float64", dims, data: Float64Array.from(values(dims, lo, hi)) });
const f32 = (dims: number[], lo = -1, hi = 1): GradCheckInput => ({ dtype: "float32", dims, data: Float32Array.from(values(dims, lo, hi)) });
/** |x| in [0.2, 1) with random signs: keeps kinks (Abs, Relu, Clip) out of reach of the finite-difference step. */
const apart = (dims: number[]): GradCheckInput => {
  const t = f64(dims, 0.2, 1);
  (t.data as Float64Array).forEach((v, i, a) => (a[i] = random() < 0.5 ? -v : v));
  return t;
};
const ints = (dims: number[], list: number[]): GradCheckInput => ({ dtype: "int64", dims, data: BigInt64Array.from(list.map(BigInt)) });
const bools = (dims: number[], list: number[]): GradCheckInput => ({ dtype: "bool", dims, data: Uint8Array.from(list) });
/** Declares the input with symbolic dims, so the rule's Shape-based runtime paths run. */
const symbolic = (t: GradCheckInput, shape: (number | string)[]): GradCheckInput => ({ ...t, shape });

interface Case {
  readonly inputs: Record<string, GradCheckInput>;
  readonly wrt: readonly string[];
  readonly build: (g: Graph, v: Record<string, Value>) => Value | readonly Value[];
  readonly tol?: number;
}
const one = (inputs: Case["inputs"], wrt: string[], build: Case["build"], tol?: number): Case[] => [{ inputs, wrt, build, ...(tol ? { tol } : {}) }];
const unary = (f: (x: Value) => Value | readonly Value[], x: GradCheckInput = f64([2, 3])): Case[] => one({ x }, ["x"], (_, { x: v }) => f(v!));

const CASES: Record<DifferentiableOp, Case[]> = {
  Add: one({ a: f64([2, 3, 4]), b: f64([3, 1]) }, ["a", "b"], (_, v) => op.add(v.a!, v.b!)),
  Sub: one({ a: f64([2, 3]), b: f64([3]) }, ["a", "b"], (_, v) => op.sub(v.a!, v.b!)),
  Mul: one({ a: f64([2, 3]), b: f64([2, 1]) }, ["a", "b"], (_, v) => op.mul(v.a!, v.b!)),
  Div: one({ a: f64([2, 3]), b: f64([3], 0.5, 2) }, ["a", "b"], (_, v) => op.div(v.a!, v.b!)),
  Neg: unary(op.neg),
  Pow: one({ a: f64([2, 3], 0.5, 2), b: f64([3]) }, ["a", "b"], (_, v) => op.pow(v.a!, v.b!)),
  Exp: unary(op.exp),
  Log: unary(op.log, f64([2, 3], 0.5, 2)),
  Sqrt: unary(op.sqrt, f64([2, 3], 0.5, 2)),
  Reciprocal: unary(op.reciprocal, f64([2, 3], 0.5, 2)),
  Abs: unary(op.abs, apart([2, 3])),
  Tanh: unary(op.tanh),
  Sigmoid: unary(op.sigmoid),
  Relu: unary(op.relu, apart([2, 3])),
  Erf: unary(op.erf, f32([2, 3])),
  Cast: one({ x: f32([2, 3]) }, ["x"], (_, v) => op.cast(op.mul(op.cast(v.x!, "float64"), 3), "float32")),
  Identity: unary((x) => op.mul(op.identity(x), x)),
  Where: one({ c: bools([2, 3], [1, 0, 1, 1, 0, 0]), a: f64([2, 3]), b: f64([3]) }, ["a", "b"], (_, v) => op.where(v.c!, v.a!, v.b!)),
  Max: one({ a: apart([2, 3]), b: apart([3]) }, ["a", "b"], (_, v) => op.max2(v.a!, v.b!)),
  Min: one({ a: apart([2, 3]), b: apart([3]) }, ["a", "b"], (_, v) => op.min2(v.a!, v.b!)),
  Clip: unary((x) => op.clip(x, { min: -0.5, max: 0.5 }), apart([3, 4])),

  MatMul: [
    ...one({ a: f64([2, 3, 4]), b: f64([4, 5]) }, ["a", "b"], (_, v) => op.matmul(v.a!, v.b!)),
    ...one({ a: f64([4]), b: f64([2, 4, 3]) }, ["a", "b"], (_, v) => op.matmul(v.a!, v.b!)),
    ...one({ a: f64([2, 3, 4]), b: f64([4]) }, ["a", "b"], (_, v) => op.matmul(v.a!, v.b!)),
    ...one({ a: f64([4]), b: f64([4]) }, ["a", "b"], (_, v) => op.matmul(v.a!, v.b!)),
    // float32 takes the FusedMatMul path of the rule.
    ...one({ a: f32([2, 1, 3, 4]), b: f32([3, 4, 2]) }, ["a", "b"], (_, v) => op.matmul(v.a!, v.b!)),
  ],
  Gemm: [false, true].flatMap((transA) => [false, true].flatMap((transB) =>
    one({ a: f64(transA ? [4, 3] : [3, 4]), b: f64(transB ? [5, 4] : [4, 5]), c: f64([5]) }, ["a", "b", "c"],
      (_, v) => op.gemm(v.a!, v.b!, { c: v.c!, transA, transB, alpha: 0.7, beta: 1.3 })))),
  FusedMatMul: [false, true].flatMap((transA) => [false, true].flatMap((transB) =>
    one({ a: f32(transA ? [2, 4, 3] : [2, 3, 4]), b: f32(transB ? [5, 4] : [4, 5]) }, ["a", "b"],
      (_, v) => op.fusedMatMul(v.a!, v.b!, { transA, transB, alpha: 0.5 })))),

  ReduceSum: [
    ...unary((x) => op.reduceSum(x, [0, 2], { keepdims: false }), symbolic(f64([2, 3, 4]), ["n", 3, "m"])),
    ...unary((x) => op.reduceSum(x, [-1]), f64([2, 3])),
  ],
  ReduceMean: [
    ...unary((x) => op.reduceMean(x, [1], { keepdims: false }), symbolic(f64([2, 3, 4]), [2, "t", 4])),
    ...unary((x) => op.reduceMean(x, [], { keepdims: true }), f64([2, 3])),
  ],
  ReduceMax: [
    ...unary((x) => op.reduceMax(x, [1], { keepdims: false }), f64([3, 4])),
    ...unary((x) => op.reduceMax(x, [0, 1]), symbolic(f64([2, 3]), ["b", 3])),
  ],
  ReduceMin: unary((x) => op.reduceMin(x, [0], { keepdims: false }), f64([3, 4])),
  Softmax: unary((x) => op.softmax(x, 1), f64([2, 4, 3])),
  LogSoftmax: unary((x) => op.logSoftmax(x, -1), f64([2, 5])),
  CumSum: [false, true].flatMap((exclusive) => [false, true].flatMap((reverse) =>
    unary((x) => op.cumsum(x, 1, { exclusive, reverse }), f64([2, 4])))),

  Reshape: [
    ...unary((x) => op.reshape(x, [3, -1]), f64([2, 3, 2])),
    ...unary((x) => op.reshape(x, [0, -1]), symbolic(f64([2, 3, 2]), ["b", 3, 2])),
  ],
  Transpose: unary((x) => op.transpose(x, [2, 0, 1]), f64([2, 3, 4])),
  Squeeze: unary((x) => op.squeeze(x, [1]), f64([2, 1, 3])),
  Unsqueeze: unary((x) => op.unsqueeze(x, [0, 3]), f64([2, 3])),
  Slice: [
    // Static, unit steps: the Pad path (negative start, end past the dim).
    ...unary((x) => op.slice(x, { starts: [1, -2], ends: [op.SLICE_END, 100], axes: [0, 2] }), f64([3, 2, 4])),
    // Steps ≠ 1, and symbolic dims: the scatter path.
    ...unary((x) => op.slice(x, { starts: [3, 0], ends: [0, 4], axes: [0, 1], steps: [-2, 3] }), f64([4, 5])),
    ...unary((x) => op.slice(x, { starts: [1], ends: [op.SLICE_END], axes: [1] }), symbolic(f64([2, 4]), [2, "t"])),
  ],
  Concat: [
    ...one({ a: f64([2, 3]), b: f64([2, 1]), c: f64([2, 2]) }, ["a", "b", "c"], (_, v) => op.concat([v.a!, v.b!, v.c!], 1)),
    ...one({ a: symbolic(f64([2, 3]), ["s", 3]), b: symbolic(f64([1, 3]), ["t", 3]) }, ["a", "b"], (_, v) => op.concat([v.b!, v.a!], 0)),
  ],
  // Only the first two outputs are used: the third part's gradient is zeros.
  Split: unary((x) => op.split(x, [1, 2, 2], 1).slice(0, 2), f64([2, 5])),
  Expand: unary((x) => op.expand(x, [2, 3, 4]), f64([3, 1])),
  Pad: unary((x) => op.pad(x, [1, 0, 0, 2], { value: 0.5 }), symbolic(f64([2, 3]), ["b", 3])),
  Gather: [
    // Repeated and negative indices: their gradients add up.
    ...one({ x: f64([4, 3]), i: ints([2, 2], [0, 3, -1, 0]) }, ["x"], (_, v) => op.gather(v.x!, v.i!, 0)),
    ...one({ x: f64([2, 4, 3]), i: ints([3], [1, 1, 2]) }, ["x"], (_, v) => op.gather(v.x!, v.i!, 1)),
    ...one({ x: symbolic(f64([2, 4]), ["b", "v"]), i: ints([], [2]) }, ["x"], (_, v) => op.gather(v.x!, v.i!, -1)),
  ],
  GatherElements: one({ x: f64([3, 4]), i: ints([3, 2], [0, 3, 3, 1, -4, 2]) }, ["x"], (_, v) => op.gatherElements(v.x!, v.i!, 1)),
  ScatterElements: [
    ...one({ d: f64([3, 4]), i: ints([2, 2], [1, 3, 0, 2]), u: f64([2, 2]) }, ["d", "u"], (_, v) => op.scatterElements(v.d!, v.i!, v.u!, { axis: 1 })),
    ...one({ d: f64([3, 4]), i: ints([2, 2], [1, 1, 0, 2]), u: f64([2, 2]) }, ["d", "u"],
      (_, v) => op.scatterElements(v.d!, v.i!, v.u!, { axis: 0, reduction: "add" })),
  ],
  Trilu: [
    ...unary((x) => op.trilu(x, { upper: true, k: 1 }), f64([3, 4])),
    ...unary((x) => op.trilu(x, { upper: false }), f64([2, 3, 3])),
  ],

  RMSNormalization: [
    ...one({ x: f32([2, 3, 8]), w: f32([8], 0.5, 1.5) }, ["x", "w"], (_, v) => op.rmsNormalization(v.x!, v.w!, { epsilon: 1e-6 })),
    ...one({ x: f32([2, 3, 4]), w: f32([3, 4], 0.5, 1.5) }, ["x", "w"], (_, v) => op.rmsNormalization(v.x!, v.w!, { axis: 1 })),
  ],
  RotaryEmbedding: [
    ...one({ x: f32([2, 3, 4, 8]), cos: f32([6, 4]), sin: f32([6, 4]), p: ints([2, 4], [0, 1, 2, 3, 0, 0, 1, 5]) }, ["x"],
      (_, v) => op.rotaryEmbedding(v.x!, v.cos!, v.sin!, { positionIds: v.p! })),
    ...one({ x: f32([1, 3, 12]), cos: f32([1, 3, 2]), sin: f32([1, 3, 2]) }, ["x"],
      (_, v) => op.rotaryEmbedding(v.x!, v.cos!, v.sin!, { numHeads: 2, rotaryEmbeddingDim: 4, interleaved: true })),
  ],
  Attention: [
    // 4-D, GQA (4 q heads over 2 kv heads), bool padding mask, causal.
    ...one({ q: f32([2, 4, 3, 4]), k: f32([2, 2, 3, 4]), v: f32([2, 2, 3, 2]), m: bools([2, 1, 3, 3], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0]) }, ["q", "k", "v"],
      (_, v) => op.attention(v.q!, v.k!, v.v!, { attnMask: v.m!, isCausal: true })),
    // Key 0 masked + causal: query row 0 sees no key, which ORT's fp32 kernel answers with zeros.
    ...one({ q: f32([1, 2, 3, 4]), k: f32([1, 1, 3, 4]), v: f32([1, 1, 3, 4]), m: bools([1, 1, 3, 3], [0, 1, 1, 0, 1, 1, 0, 1, 1]) }, ["q", "k", "v"],
      (_, v) => op.attention(v.q!, v.k!, v.v!, { attnMask: v.m!, isCausal: true })),
    // 3-D with a float additive mask (differentiated too) and an explicit scale.
    ...one({ q: f32([1, 3, 8]), k: f32([1, 4, 4]), v: f32([1, 4, 6]), m: f32([3, 4]) }, ["q", "k", "v", "m"],
      (_, v) => op.attention(v.q!, v.k!, v.v!, { attnMask: v.m!, qNumHeads: 2, kvNumHeads: 1, scale: 0.3 })),
  ],
};

describe("VJP rules against central differences", () => {
  for (const [opType, cases] of Object.entries(CASES)) {
    it(opType, async () => {
      for (const c of cases) {
        let built = false;
        const build = (g: Graph, v: Record<string, Value>) => {
          const out = c.build(g, v);
          built ||= g.nodes.some((n) => n.opType === opType);
          return out;
        };
        const r = await checkGradient(build, c.inputs, { wrt: c.wrt, ...(c.tol ? { tol: c.tol } : {}) });
        expect(built, `the ${opType} case builds no ${opType} node`).toBe(true);
        if (process.env.GRAD_VERBOSE) console.log(opType, r.summary);
        expect(r.failures, r.summary).toEqual([]);
        expect(r.checked).toBeGreaterThan(0);
      }
    });
  }
});
