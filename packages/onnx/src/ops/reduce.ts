// Reductions (opset-18 form: axes as an input tensor) and (log-)softmax.
import type { DType, Value } from "../graph.js";
import { FLOATS, NUMERIC, OpCheck } from "./core.js";
import { int64s } from "./known.js";

export interface ReduceOptions {
  /** Keep reduced axes as size-1 dims (ONNX default: true). */
  keepdims?: boolean;
}

function reduce(opType: string, allowed: readonly DType[], x: Value, axes: readonly number[], keepdims: boolean): Value {
  const c = new OpCheck(opType, x.graph, [["x", x]]);
  c.dtype("x", x, allowed);
  // An empty axes list means "all axes" in ONNX (noop_with_empty_axes = 0); spell it out so readers need not know.
  const norm = axes.length === 0 ? x.shape.map((_, i) => i) : c.axes(axes, x.rank);
  const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  return c.emit1([x, int64s(x.graph, norm)], { keepdims: keepdims ? 1 : 0 }, { dtype: x.dtype, shape });
}

export const reduceSum = (x: Value, axes: readonly number[], { keepdims = true }: ReduceOptions = {}): Value =>
  reduce("ReduceSum", NUMERIC, x, axes, keepdims);
export const reduceMean = (x: Value, axes: readonly number[], { keepdims = true }: ReduceOptions = {}): Value =>
  reduce("ReduceMean", NUMERIC, x, axes, keepdims);
export const reduceMax = (x: Value, axes: readonly number[], { keepdims = true }: ReduceOptions = {}): Value =>
  reduce("ReduceMax", NUMERIC, x, axes, keepdims);
export const reduceMin = (x: Value, axes: readonly number[], { keepdims = true }: ReduceOptions = {}): Value =>
  reduce("ReduceMin", NUMERIC, x, axes, keepdims);

function softmaxLike(opType: string, x: Value, axis: number): Value {
  const c = new OpCheck(opType, x.graph, [["x", x]]);
  c.dtype("x", x, FLOATS);
  if (x.rank === 0) c.fail("x must have rank ≥ 1");
  return c.emit1([x], { axis: c.axis(axis, x.rank) }, { dtype: x.dtype, shape: x.shape });
}

export const softmax = (x: Value, axis = -1): Value => softmaxLike("Softmax", x, axis);
export const logSoftmax = (x: Value, axis = -1): Value => softmaxLike("LogSoftmax", x, axis);
