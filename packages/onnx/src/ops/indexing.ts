// Index-driven ops: Gather, GatherElements, ScatterND, ScatterElements, CumSum, Trilu.
import { Value, type Dim } from "../graph.js";
import { INDEX, NUMERIC, OpCheck } from "./core.js";
import { int64Scalar, int64s, known, makeConstant, setKnown } from "./known.js";

/** Indices as a tensor, or JS integers (a number gives a scalar index, which drops the axis). */
export type Indices = Value | number | readonly number[];

function indicesValue(x: Value, indices: Indices): Value {
  if (indices instanceof Value) return indices;
  if (typeof indices === "number") return makeConstant(x.graph, "int64", [], BigInt64Array.of(BigInt(indices)), `int64:${indices}`);
  return int64s(x.graph, indices);
}

export function gather(x: Value, indices: Indices, axis = 0): Value {
  const idx = indicesValue(x, indices);
  const c = new OpCheck("Gather", x.graph, [["x", x], ["indices", idx]]);
  c.dtype("indices", idx, INDEX);
  if (x.rank === 0) c.fail("x must have rank ≥ 1");
  const a = c.axis(axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  const v = c.emit1([x, idx], { axis: a }, { dtype: x.dtype, shape });
  const kx = known(x);
  const ki = known(idx);
  if (kx && ki && x.rank === 1 && ki.every((i) => typeof i === "number")) {
    setKnown(v, (ki as number[]).map((i) => kx[i < 0 ? i + kx.length : i]!));
  }
  return v;
}

export function gatherElements(x: Value, indices: Value, axis: number): Value {
  const c = new OpCheck("GatherElements", x.graph, [["x", x], ["indices", indices]]);
  c.dtype("indices", indices, INDEX);
  if (indices.rank !== x.rank) c.fail(`indices must have x's rank ${x.rank}`);
  if (x.rank === 0) c.fail("x must have rank ≥ 1");
  return c.emit1([x, indices], { axis: c.axis(axis, x.rank) }, { dtype: x.dtype, shape: indices.shape });
}

export interface ScatterOptions {
  reduction?: "none" | "add" | "mul" | "max" | "min";
}

/** data with slices data[indices[…]] replaced by (or reduced with) updates; indices [..., q] address the first q axes. */
export function scatterND(data: Value, indices: Value, updates: Value, { reduction = "none" }: ScatterOptions = {}): Value {
  const c = new OpCheck("ScatterND", data.graph, [["data", data], ["indices", indices], ["updates", updates]]);
  c.dtype("indices", indices, ["int64"]);
  c.sameDtype([["data", data], ["updates", updates]]);
  if (indices.rank < 1) c.fail("indices must have rank ≥ 1");
  const q = indices.shape[indices.rank - 1]!;
  if (typeof q !== "number" || q > data.rank) c.fail(`indices' last dim must be a static number ≤ data's rank ${data.rank}, is ${q}`);
  const expected: Dim[] = [...indices.shape.slice(0, -1), ...data.shape.slice(q as number)];
  if (updates.rank !== expected.length) c.fail(`updates must have shape [${expected.join(",")}]`);
  expected.forEach((d, i) => c.sameDim(`updates axis ${i} (expected [${expected.join(",")}])`, d, updates.shape[i]!));
  return c.emit1([data, indices, updates], reduction === "none" ? {} : { reduction }, { dtype: data.dtype, shape: data.shape });
}

export interface ScatterElementsOptions extends ScatterOptions {
  axis?: number;
}

export function scatterElements(data: Value, indices: Value, updates: Value, { axis = 0, reduction = "none" }: ScatterElementsOptions = {}): Value {
  const c = new OpCheck("ScatterElements", data.graph, [["data", data], ["indices", indices], ["updates", updates]]);
  c.dtype("indices", indices, INDEX);
  c.sameDtype([["data", data], ["updates", updates]]);
  if (indices.rank !== data.rank) c.fail(`indices must have data's rank ${data.rank}`);
  if (updates.rank !== indices.rank) c.fail("updates must have indices' shape");
  indices.shape.forEach((d, i) => c.sameDim(`updates differs from indices at axis ${i}`, d, updates.shape[i]!));
  const attrs = { axis: c.axis(axis, data.rank), ...(reduction === "none" ? {} : { reduction }) };
  return c.emit1([data, indices, updates], attrs, { dtype: data.dtype, shape: data.shape });
}

export interface CumSumOptions {
  exclusive?: boolean;
  reverse?: boolean;
}

export function cumsum(x: Value, axis: number, { exclusive = false, reverse = false }: CumSumOptions = {}): Value {
  const c = new OpCheck("CumSum", x.graph, [["x", x]]);
  c.dtype("x", x, NUMERIC.filter((d) => d !== "int8" && d !== "uint8"));
  const a = c.axis(axis, x.rank);
  return c.emit1([x, int64Scalar(x.graph, a)], { exclusive: exclusive ? 1 : 0, reverse: reverse ? 1 : 0 }, { dtype: x.dtype, shape: x.shape });
}

export interface TriluOptions {
  /** Keep the upper triangle (true) or the lower one. */
  upper: boolean;
  /** Diagonal offset: k > 0 moves it up/right. */
  k?: number;
}

export function trilu(x: Value, { upper, k = 0 }: TriluOptions): Value {
  const c = new OpCheck("Trilu", x.graph, [["x", x]]);
  if (x.rank < 2) c.fail("x must have rank ≥ 2");
  const inputs = k === 0 ? [x] : [x, int64Scalar(x.graph, k)];
  return c.emit1(inputs, { upper: upper ? 1 : 0 }, { dtype: x.dtype, shape: x.shape });
}
