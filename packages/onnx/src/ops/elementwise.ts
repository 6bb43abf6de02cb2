// Elementwise ops: binary arithmetic with broadcasting, unary math, comparisons, logic, Where, Cast, Clip.
import type { DType, Dim, Value } from "../graph.js";
import { ONNX_DATA_TYPE } from "../proto/onnx-proto.js";
import { FLOATS, NUMERIC, OpCheck, graphOf, lift, scalar, type Operand } from "./core.js";
import { dimAdd, dimDiv, dimMul } from "./dims.js";
import { isIntDType, known, setKnown } from "./known.js";

const SIGNED: readonly DType[] = NUMERIC.filter((d) => d !== "uint8");
const BOOL: readonly DType[] = ["bool"];

type Fold = (a: Dim, b: Dim) => Dim | undefined;

function binary(opType: string, allowed: readonly DType[], a: Operand, b: Operand, out?: DType, fold?: Fold): Value {
  const [x, y] = lift(opType, [a, b]) as [Value, Value];
  const c = new OpCheck(opType, x.graph, [["a", x], ["b", y]]);
  c.dtype("a", x, allowed);
  c.sameDtype([["a", x], ["b", y]]);
  const shape = c.broadcast([["a", x.shape], ["b", y.shape]]);
  const v = c.emit1([x, y], {}, { dtype: out ?? x.dtype, shape });
  if (fold && isIntDType(x.dtype)) foldKnown(v, x, y, fold);
  return v;
}

/** Integer arithmetic on known shape scalars/vectors stays known (e.g. T·H computed for a reshape). */
function foldKnown(v: Value, x: Value, y: Value, fold: Fold): void {
  const kx = known(x);
  const ky = known(y);
  if (!kx || !ky || v.rank > 1) return;
  const n = Math.max(kx.length, ky.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const r = fold(kx.length === 1 ? kx[0]! : kx[i]!, ky.length === 1 ? ky[0]! : ky[i]!);
    if (r === undefined) return;
    out.push(r);
  }
  setKnown(v, out);
}

const numericOnly = (f: (a: number, b: number) => number): Fold => (a, b) =>
  typeof a === "number" && typeof b === "number" ? f(a, b) : undefined;

export const add = (a: Operand, b: Operand): Value => binary("Add", NUMERIC, a, b, undefined, dimAdd);
export const sub = (a: Operand, b: Operand): Value =>
  binary("Sub", NUMERIC, a, b, undefined, (x, y) => (typeof y === "number" ? dimAdd(x, -y) : x === y ? 0 : undefined));
export const mul = (a: Operand, b: Operand): Value => binary("Mul", NUMERIC, a, b, undefined, dimMul);
export const div = (a: Operand, b: Operand): Value => binary("Div", NUMERIC, a, b, undefined, dimDiv);
export const max2 = (a: Operand, b: Operand): Value => binary("Max", NUMERIC, a, b, undefined, numericOnly(Math.max));
export const min2 = (a: Operand, b: Operand): Value => binary("Min", NUMERIC, a, b, undefined, numericOnly(Math.min));

/** Pow: a number exponent becomes a constant of the base's dtype; a tensor exponent may have any numeric dtype. */
export function pow(a: Operand, b: Operand): Value {
  const graph = graphOf("Pow", [a, b]);
  const base = typeof a === "number" ? scalar(graph, a, (b as Value).dtype) : a;
  const exponent = typeof b === "number" ? scalar(graph, b, base.dtype) : b;
  const c = new OpCheck("Pow", graph, [["base", base], ["exponent", exponent]]);
  c.dtype("base", base, NUMERIC);
  c.dtype("exponent", exponent, NUMERIC);
  return c.emit1([base, exponent], {}, { dtype: base.dtype, shape: c.broadcast([["base", base.shape], ["exponent", exponent.shape]]) });
}

function unary(opType: string, allowed: readonly DType[], x: Value): Value {
  const c = new OpCheck(opType, x.graph, [["x", x]]);
  c.dtype("x", x, allowed);
  return c.emit1([x], {}, { dtype: x.dtype, shape: x.shape });
}

export const neg = (x: Value): Value => unary("Neg", SIGNED, x);
export const abs = (x: Value): Value => unary("Abs", NUMERIC, x);
export const exp = (x: Value): Value => unary("Exp", FLOATS, x);
export const log = (x: Value): Value => unary("Log", FLOATS, x);
export const sqrt = (x: Value): Value => unary("Sqrt", FLOATS, x);
export const reciprocal = (x: Value): Value => unary("Reciprocal", FLOATS, x);
export const tanh = (x: Value): Value => unary("Tanh", FLOATS, x);
export const sigmoid = (x: Value): Value => unary("Sigmoid", FLOATS, x);
export const relu = (x: Value): Value => unary("Relu", SIGNED, x);
export const erf = (x: Value): Value => unary("Erf", FLOATS, x);
export const not = (x: Value): Value => unary("Not", BOOL, x);

/** x·sigmoid(x), composed so the autodiff needs no rule of its own. */
export const silu = (x: Value): Value => mul(x, sigmoid(x));

export function cast(x: Value, dtype: DType): Value {
  const c = new OpCheck("Cast", x.graph, [["x", x]]);
  const v = c.emit1([x], { to: ONNX_DATA_TYPE[dtype] }, { dtype, shape: x.shape });
  const k = known(x);
  if (k && isIntDType(dtype)) setKnown(v, k);
  return v;
}

const compare = (opType: string, allowed: readonly DType[]) => (a: Operand, b: Operand): Value =>
  binary(opType, allowed, a, b, "bool");

export const equal = compare("Equal", [...NUMERIC, "bool"]);
export const less = compare("Less", NUMERIC);
export const greater = compare("Greater", NUMERIC);
export const lessOrEqual = compare("LessOrEqual", NUMERIC);
export const greaterOrEqual = compare("GreaterOrEqual", NUMERIC);
export const and = (a: Value, b: Value): Value => binary("And", BOOL, a, b);
export const or = (a: Value, b: Value): Value => binary("Or", BOOL, a, b);

/** cond ? a : b, all three broadcast together; a number branch takes the other branch's dtype. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  const [x, y] = lift("Where", [a, b]) as [Value, Value];
  const c = new OpCheck("Where", cond.graph, [["cond", cond], ["a", x], ["b", y]]);
  c.dtype("cond", cond, BOOL);
  const dtype = c.sameDtype([["a", x], ["b", y]]);
  const shape = c.broadcast([["cond", cond.shape], ["a", x.shape], ["b", y.shape]]);
  return c.emit1([cond, x, y], {}, { dtype, shape });
}

export interface ClipOptions {
  min?: Operand;
  max?: Operand;
}

export function clip(x: Value, { min, max }: ClipOptions = {}): Value {
  const bound = (b: Operand | undefined): Value | null => (b === undefined ? null : typeof b === "number" ? scalar(x.graph, b, x.dtype) : b);
  const lo = bound(min);
  const hi = bound(max);
  const c = new OpCheck("Clip", x.graph, [["x", x], ["min", lo], ["max", hi]]);
  c.dtype("x", x, NUMERIC);
  for (const [label, v] of [["min", lo], ["max", hi]] as const) {
    if (!v) continue;
    c.sameDtype([["x", x], [label, v]]);
    if (v.rank !== 0) c.fail(`${label} must be a scalar, has rank ${v.rank}`);
  }
  return c.emit1([x, lo, hi], {}, { dtype: x.dtype, shape: x.shape });
}
