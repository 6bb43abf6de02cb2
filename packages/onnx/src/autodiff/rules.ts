// The VJP rules: op type → rule. A rule gets its forward node (inputs x, outputs y, upstream gradient g) and returns
// one entry per input: a thunk building that input's gradient, or null where the input is not differentiable. The
// engine calls a thunk only when its input lies on a path from a wrt to an output, then sums away any broadcasting,
// so the rules below are written as if no broadcast happened.
import { GraphBuildError, type Graph, type Node, type Value } from "../graph.js";
import {
  add, cast, concat, cumsum, div, equal, exp, expand, gatherElements, gemm, greater, less, log, mul, neg, pow,
  reduceMean, reduceSum, reshape, rotaryEmbedding, scatterElements, shape, size, sqrt, squeeze, sub, transpose, trilu,
  unsqueeze, where, type OpType,
} from "../ops/index.js";
import { attentionRule } from "./attention.js";
import { gatherGrad, nonNegative, padGrad, sliceGrad, sliceOfConcat } from "./movement.js";
import { fill, lazy, mmT, needConstInts, normAxes, staticDims, type AttrReader } from "./util.js";

/** Gradient of one input, built on demand; null marks an input the op is not differentiable in. */
export type Grad = (() => Value) | null;

/** Inputs or outputs of the forward node; indices past the op's required operands may be absent (see `opt`). */
export interface Operands extends ReadonlyArray<Value> {
  readonly 0: Value;
  readonly 1: Value;
  readonly 2: Value;
}

export interface RuleContext extends AttrReader {
  readonly graph: Graph;
  readonly node: Node;
  readonly x: Operands;
  readonly y: Operands;
  /** Upstream gradient of output 0. */
  readonly g: Value;
  /** Upstream gradient of each output; null where an output received none. */
  readonly gs: readonly (Value | null)[];
  /** Optional input i, or null when omitted. */
  opt(i: number): Value | null;
  /** The integers of constant input i (axes, starts, …), or undefined when computed at run time. */
  constInts(i: number): number[] | undefined;
}

export type Rule = (c: RuleContext) => readonly Grad[];

/** Op types whose outputs carry no gradient: bool/int results (comparisons, shapes) and constants. */
export const NO_GRADIENT = [
  "Not", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Shape", "Size",
  "Constant", "Range", "ConstantOfShape",
] as const satisfies readonly OpType[];
/** Op types with float gradients that have no rule: contrib attention is for inference, ScatterND is unused by training. */
export const FORWARD_ONLY = ["ScatterND", "MultiHeadAttention", "GroupQueryAttention", "MatMulNBits", "QuantizeLinear", "MatMulIntegerToFloat", "Scan"] as const satisfies readonly OpType[];
/** Every other op type the op functions emit must have a rule: the `satisfies` on RULES checks it at compile time. */
export type DifferentiableOp = Exclude<OpType, (typeof NO_GRADIENT)[number] | (typeof FORWARD_ONLY)[number]>;

/** x's shape as a runtime value, or as constants when static (ORT then needs no Shape node). */
const reshapeLike = (v: Value, like: Value): Value => reshape(v, staticDims(like.shape) ?? shape(like));
const expandLike = (v: Value, like: Value): Value => expand(v, staticDims(like.shape) ?? shape(like));
/** A reduced gradient with the reduced axes put back (size 1), and those axes ([] for a no-op reduction). */
function unreduce(c: RuleContext, v: Value): { v: Value; axes: number[] } {
  const x = c.x[0];
  const given = c.opt(1) ? needConstInts(c.node, 1, "axes") : [];
  if (given.length === 0 && c.int("noop_with_empty_axes", 0) === 1) return { v, axes: [] };
  const axes = given.length === 0 ? [...x.shape.keys()] : normAxes(given, x.rank, c.node).sort((p, q) => p - q);
  return { v: c.int("keepdims", 1) === 1 ? v : unsqueeze(v, axes), axes };
}

/** Number of elements each output of a reduction averages over, as a scalar of x's dtype. */
function reducedCount(x: Value, y: Value, axes: number[]): Value | number {
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d): d is number => typeof d === "number")) return dims.reduce((p, d) => p * d, 1);
  return cast(div(size(x), size(y)), x.dtype);
}

function extremumRule(c: RuleContext): Grad[] {
  const x = c.x[0];
  const { v: gk, axes } = unreduce(c, c.g);
  if (axes.length === 0) return [() => gk, null]; // noop_with_empty_axes: an identity
  const { v: yk } = unreduce(c, c.y[0]);
  // Ties share the gradient evenly (as torch's amax does), so the rule stays a true subgradient.
  const hit = lazy(() => cast(equal(x, yk), x.dtype));
  return [() => mul(hit(), div(gk, reduceSum(hit(), axes, { keepdims: true }))), null];
}

function binaryExtremumRule(c: RuleContext, wins: (a: Value, b: Value) => Value): Grad[] {
  const [a, b] = c.x;
  if (c.x.length !== 2) {
    throw new GraphBuildError(`vjp: ${c.node.opType} node '${c.node.name}' has ${c.x.length} inputs; only the binary form has a rule`);
  }
  // a's share: 1 where it wins, ½ on ties (the rest goes to b).
  const share = lazy(() => add(cast(wins(a, b), a.dtype), mul(cast(equal(a, b), a.dtype), 0.5)));
  return [() => mul(c.g, share()), () => mul(c.g, sub(1, share()))];
}

function matmulRule(c: RuleContext): Grad[] {
  const [a, b] = c.x;
  // numpy promotes a 1-D operand to a matrix and drops the new axis again; do the same to g so one formula serves.
  const g2 = lazy(() =>
    a.rank === 1 && b.rank === 1 ? unsqueeze(c.g, [0, 1])
      : a.rank === 1 ? unsqueeze(c.g, [c.g.rank - 1])
        : b.rank === 1 ? unsqueeze(c.g, [c.g.rank]) : c.g);
  const a2 = a.rank === 1 ? () => unsqueeze(a, [0]) : () => a;
  const b2 = b.rank === 1 ? () => unsqueeze(b, [1]) : () => b;
  return [
    () => (a.rank === 1 ? squeeze(mmT(g2(), b2(), false, true), [-2]) : mmT(g2(), b2(), false, true)),
    () => (b.rank === 1 ? squeeze(mmT(a2(), g2(), true, false), [-1]) : mmT(a2(), g2(), true, false)),
  ];
}

function gemmRule(c: RuleContext): Grad[] {
  const [a, b] = c.x;
  const [ta, tb, alpha, beta] = [c.int("transA", 0) === 1, c.int("transB", 0) === 1, c.float("alpha", 1), c.float("beta", 1)];
  const g = (): Value => c.g;
  return [
    () => (ta ? gemm(b, g(), { transA: tb, transB: true, alpha }) : gemm(g(), b, { transB: !tb, alpha })),
    () => (tb ? gemm(g(), a, { transA: true, transB: ta, alpha }) : gemm(a, g(), { transA: !ta, alpha })),
    () => (beta === 1 ? g() : mul(g(), beta)),
  ];
}

function fusedMatMulRule(c: RuleContext): Grad[] {
  const [a, b] = c.x;
  if (c.int("transBatchA", 0) || c.int("transBatchB", 0) || a.rank < 2 || b.rank < 2) {
    throw new GraphBuildError(`vjp: FusedMatMul node '${c.node.name}': transBatchA/B and 1-D operands have no rule (use matmul)`);
  }
  const [ta, tb, alpha] = [c.int("transA", 0) === 1, c.int("transB", 0) === 1, c.float("alpha", 1)];
  return [
    () => (ta ? mmT(b, c.g, tb, true, alpha) : mmT(c.g, b, false, !tb, alpha)),
    () => (tb ? mmT(c.g, a, true, ta, alpha) : mmT(a, c.g, !ta, false, alpha)),
  ];
}

function rmsNormRule(c: RuleContext): Grad[] {
  const [x, scale] = c.x;
  const axes = [...Array(x.rank).keys()].slice(normAxes([c.int("axis", -1)], x.rank, c.node)[0]);
  const eps = c.float("epsilon", 1e-5);
  // Half-precision inputs are normalized in fp32 by the forward (stash_type); the backward does the same.
  const half = x.dtype === "float16" || x.dtype === "bfloat16";
  const up = (v: Value): Value => (half ? cast(v, "float32") : v);
  const down = (v: Value): Value => (half ? cast(v, x.dtype) : v);
  const xf = lazy(() => up(x));
  const inv = lazy(() => div(1, sqrt(add(reduceMean(mul(xf(), xf()), axes, { keepdims: true }), eps)))); // 1/rms
  const n = lazy(() => mul(xf(), inv()));
  return [
    () => {
      const gs = mul(up(c.g), up(scale));
      return down(mul(inv(), sub(gs, mul(n(), reduceMean(mul(gs, n()), axes, { keepdims: true })))));
    },
    () => down(mul(up(c.g), n())),
  ];
}

function rotaryRule(c: RuleContext): Grad[] {
  const [, cos, sin] = c.x;
  const positionIds = c.opt(3);
  // A rotation's transpose is the rotation by −θ: the same op with sin negated. cos/sin caches count as constants.
  return [
    () => rotaryEmbedding(c.g, cos, neg(sin), {
      ...(positionIds ? { positionIds } : {}),
      interleaved: c.int("interleaved", 0) === 1,
      numHeads: c.int("num_heads", 0) || undefined,
      rotaryEmbeddingDim: c.int("rotary_embedding_dim", 0) || undefined,
    }),
    null, null, null,
  ];
}

export const RULES = {
  Add: ({ g }) => [() => g, () => g],
  Sub: ({ g }) => [() => g, () => neg(g)],
  Mul: ({ x: [a, b], g }) => [() => mul(g, b), () => mul(g, a)],
  Div: ({ x: [, b], y: [y], g }) => [() => div(g, b), () => neg(mul(g, div(y, b)))],
  Neg: ({ g }) => [() => neg(g)],
  Pow: ({ x: [a, b], y: [y], g }) => [
    () => mul(g, mul(b.dtype === a.dtype ? b : cast(b, a.dtype), pow(a, sub(b, 1)))),
    () => mul(g, mul(y, log(a))),
  ],
  Exp: ({ y: [y], g }) => [() => mul(g, y)],
  Log: ({ x: [a], g }) => [() => div(g, a)],
  Sqrt: ({ y: [y], g }) => [() => div(g, mul(y, 2))],
  Reciprocal: ({ y: [y], g }) => [() => neg(mul(g, mul(y, y)))],
  Abs: ({ x: [a], g }) => [() => mul(g, sub(cast(greater(a, 0), a.dtype), cast(less(a, 0), a.dtype)))],
  Tanh: ({ y: [y], g }) => [() => mul(g, sub(1, mul(y, y)))],
  Sigmoid: ({ y: [y], g }) => [() => mul(g, mul(y, sub(1, y)))],
  Relu: ({ x: [a], g }) => [() => where(greater(a, 0), g, 0)],
  Erf: ({ x: [a], g }) => [() => mul(g, mul(exp(neg(mul(a, a))), 2 / Math.sqrt(Math.PI)))],
  Cast: ({ x: [a], g }) => [() => cast(g, a.dtype)],
  Identity: ({ g }) => [() => g],
  Where: ({ x: [cond], g }) => [null, () => where(cond, g, 0), () => where(cond, 0, g)],
  Max: (c) => binaryExtremumRule(c, greater),
  Min: (c) => binaryExtremumRule(c, less),
  Clip: ({ x: [a], y: [y], g }) => [() => where(equal(y, a), g, 0), null, null],

  MatMul: matmulRule,
  Gemm: gemmRule,
  FusedMatMul: fusedMatMulRule,

  ReduceSum: (c) => [() => expandLike(unreduce(c, c.g).v, c.x[0]), null],
  ReduceMean: (c) => {
    const { v, axes } = unreduce(c, c.g);
    return [() => expandLike(div(v, reducedCount(c.x[0], c.y[0], axes)), c.x[0]), null];
  },
  ReduceMax: extremumRule,
  ReduceMin: extremumRule,
  Softmax: ({ y: [y], g, int }) => [() => mul(y, sub(g, reduceSum(mul(g, y), [int("axis", -1)], { keepdims: true })))],
  LogSoftmax: ({ y: [y], g, int }) => [() => sub(g, mul(exp(y), reduceSum(g, [int("axis", -1)], { keepdims: true })))],
  CumSum: (c) => [
    () => cumsum(c.g, needConstInts(c.node, 1, "axis")[0]!, {
      exclusive: c.int("exclusive", 0) === 1,
      reverse: c.int("reverse", 0) !== 1,
    }),
    null,
  ],

  Reshape: ({ x: [a], g }) => [() => reshapeLike(g, a), null],
  Squeeze: ({ x: [a], g }) => [() => reshapeLike(g, a), null],
  Unsqueeze: ({ x: [a], g }) => [() => reshapeLike(g, a), null],
  Transpose: ({ x: [a], g, ints }) => {
    const perm = ints("perm") ?? [...Array(a.rank).keys()].reverse();
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [() => transpose(g, inverse)];
  },
  Slice: (c) => [() => sliceGrad(c), null, null, null, null],
  Concat: (c) => c.x.map((_, i) => () => sliceOfConcat(c, i)),
  Split: (c) => [() => concat(c.gs.map((gi, i) => gi ?? fill(c.y[i]!, 0)), c.int("axis", 0)), null],
  Expand: ({ g }) => [() => g, null],
  Pad: (c) => [() => padGrad(c), null, null, null],
  Gather: (c) => [() => gatherGrad(c.x[0], c.x[1], c.g, c.int("axis", 0), c.node), null],
  GatherElements: ({ x: [a, idx], g, int, node }) => {
    const axis = normAxes([int("axis", 0)], a.rank, node)[0]!;
    return [() => scatterElements(fill(a, 0), nonNegative(idx, a, axis), g, { axis, reduction: "add" }), null];
  },
  ScatterElements: ({ x: [, idx], g, int, node }) => {
    const axis = int("axis", 0);
    const reduction = node.attrs.reduction ?? "none";
    if (reduction !== "none" && reduction !== "add") {
      throw new GraphBuildError(`vjp: ScatterElements node '${node.name}': reduction '${String(reduction)}' has no rule`);
    }
    // "none" overwrites the scattered positions of data, so they get no gradient; "add" passes g through to data.
    const written = lazy(() => scatterElements(g, idx, fill(idx, 0, g.dtype), { axis }));
    return [() => (reduction === "add" ? g : written()), null, () => gatherElements(g, idx, axis)];
  },
  Trilu: (c) => [() => trilu(c.g, { upper: c.int("upper", 1) === 1, k: c.opt(1) ? needConstInts(c.node, 1, "k")[0] : 0 }), null],

  RMSNormalization: rmsNormRule,
  RotaryEmbedding: rotaryRule,
  Attention: attentionRule,
} satisfies Record<DifferentiableOp, Rule>;
