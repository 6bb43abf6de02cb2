// Movement ops: reshape, transpose, (un)squeeze, slice, concat, split, expand, pad, and shape queries.
import { Value, type Dim } from "../graph.js";
import { NUMERIC, OpCheck, scalar } from "./core.js";
import { dimAdd, dimDiv, dimProduct, unknownDim } from "./dims.js";
import { int64s, known, setKnown, shapeTensor } from "./known.js";

/** A shape given as dims (numbers, 0 = copy, -1 = infer, or symbolic names read at run time) or as an int64 tensor. */
export type ShapeArg = readonly Dim[] | Value;

function shapeInput(c: OpCheck, arg: ShapeArg): { value: Value; dims: readonly Dim[] | undefined } {
  if (arg instanceof Value) {
    c.dtype("shape", arg, ["int64"]);
    c.rank("shape", arg, 1);
    if (typeof arg.shape[0] !== "number") c.fail("the shape tensor must have a static length");
    return { value: arg, dims: known(arg) };
  }
  return { value: shapeTensor(c.graph, arg, `${c.opType} (node '${c.nodeName}')`), dims: arg };
}

const unknownShape = (c: OpCheck, rank: number): Dim[] => Array.from({ length: rank }, (_, i) => unknownDim(c.nodeName, i));

export function reshape(x: Value, dims: ShapeArg): Value {
  const c = new OpCheck("Reshape", x.graph, [["x", x], ["shape", dims instanceof Value ? dims : undefined]]);
  const { value, dims: target } = shapeInput(c, dims);
  let out: Dim[];
  if (!target) {
    out = unknownShape(c, value.shape[0] as number);
  } else {
    if (target.filter((d) => d === -1).length > 1) c.fail(`at most one -1 allowed in [${target.join(",")}]`);
    out = target.map((d, i) => {
      if (typeof d === "number" && (d < -1 || !Number.isInteger(d))) c.fail(`dim ${i} is ${d}; dims are ≥ -1 integers`);
      if (d !== 0) return d;
      if (i >= x.rank) c.fail(`dim ${i} is 0 (copy) but x has rank ${x.rank}`);
      return x.shape[i]!;
    });
    const total = dimProduct(x.shape);
    const inferAt = out.indexOf(-1);
    const rest = dimProduct(out.filter((_, i) => i !== inferAt));
    if (inferAt >= 0) {
      const inferred = dimDiv(total, rest);
      if (inferred === undefined && typeof total === "number" && typeof rest === "number") {
        c.fail(`cannot infer -1: ${total} elements do not divide by ${rest} (target [${target.join(",")}])`);
      }
      out[inferAt] = inferred ?? unknownDim(c.nodeName, inferAt);
    } else if (typeof total === "number" && typeof rest === "number" && total !== rest) {
      c.fail(`${total} elements cannot take shape [${target.join(",")}] (${rest} elements)`);
    }
  }
  const v = c.emit1([x, value], {}, { dtype: x.dtype, shape: out });
  passKnown(x, v);
  return v;
}

/** Reshape/squeeze/unsqueeze/identity keep the elements, so known contents carry over. */
function passKnown(from: Value, to: Value): void {
  const k = known(from);
  if (k && to.rank <= 1) setKnown(to, k);
}

export function transpose(x: Value, perm?: readonly number[]): Value {
  const c = new OpCheck("Transpose", x.graph, [["x", x]]);
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== x.rank || sorted.some((a, i) => a !== i)) c.fail(`perm [${p.join(",")}] is not a permutation of 0..${x.rank - 1}`);
  return c.emit1([x], { perm: [...p] }, { dtype: x.dtype, shape: p.map((a) => x.shape[a]!) });
}

export function squeeze(x: Value, axes: readonly number[]): Value {
  const c = new OpCheck("Squeeze", x.graph, [["x", x]]);
  const norm = c.axes(axes, x.rank);
  for (const a of norm) if (x.shape[a] !== 1) c.fail(`axis ${a} has dim ${x.shape[a]}, expected 1`);
  const v = c.emit1([x, int64s(x.graph, norm)], {}, { dtype: x.dtype, shape: x.shape.filter((_, i) => !norm.includes(i)) });
  passKnown(x, v);
  return v;
}

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const c = new OpCheck("Unsqueeze", x.graph, [["x", x]]);
  const rank = x.rank + axes.length;
  const norm = c.axes(axes, rank);
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (norm.includes(i) ? 1 : rest.shift()!));
  const v = c.emit1([x, int64s(x.graph, norm)], {}, { dtype: x.dtype, shape });
  passKnown(x, v);
  return v;
}

export interface SliceOptions {
  starts: readonly number[] | Value;
  ends: readonly number[] | Value;
  /** Numbers, or an int64 tensor (when its contents are not known at build time, every output dim is unknown). */
  axes?: readonly number[] | Value;
  steps?: readonly number[] | Value;
}

/** Large enough to mean "to the end" (ONNX clamps). */
export const SLICE_END = 2 ** 53 - 1;

export function slice(x: Value, { starts, ends, axes, steps }: SliceOptions): Value {
  const c = new OpCheck("Slice", x.graph, [["x", x], ...(["starts", "ends", "axes", "steps"] as const).map((k) => [k, valueOr({ starts, ends, axes, steps }[k])] as const)]);
  const count = (arg: readonly number[] | Value | undefined, what: string): number | undefined => {
    if (arg === undefined) return undefined;
    if (!(arg instanceof Value)) return arg.length;
    c.dtype(what, arg, ["int64", "int32"]);
    c.rank(what, arg, 1);
    return typeof arg.shape[0] === "number" ? arg.shape[0] : c.fail(`${what} must have a static length`);
  };
  const toInput = (arg: readonly number[] | Value) => (arg instanceof Value ? arg : int64s(x.graph, arg));
  const n = count(starts, "starts")!;
  if (count(ends, "ends") !== n || (steps !== undefined && count(steps, "steps") !== n)) c.fail("starts, ends and steps must have the same length");
  const axesList = axes instanceof Value ? knownNumbers(axes) : axes;
  if (axes instanceof Value && count(axes, "axes") !== n) c.fail("axes and starts differ in length");
  const axesN = axesList ? c.axes(axesList, x.rank) : axes instanceof Value ? undefined : Array.from({ length: n }, (_, i) => i);
  if (!axesN) {
    const inputs = [x, toInput(starts), toInput(ends), axes as Value, ...(steps === undefined ? [] : [toInput(steps)])];
    return c.emit1(inputs, {}, { dtype: x.dtype, shape: unknownShape(c, x.rank) });
  }
  if (axesN.length !== n) c.fail(`axes [${axesN.join(",")}] and starts differ in length`);
  const nums = (arg: readonly number[] | Value | undefined) => (arg === undefined ? undefined : arg instanceof Value ? knownNumbers(arg) : arg);
  const [s, e, st] = [nums(starts), nums(ends), steps === undefined ? axesN.map(() => 1) : nums(steps)];
  if (st?.some((v) => v === 0)) c.fail("steps must not be 0");
  const shape = [...x.shape];
  axesN.forEach((axis, i) => {
    shape[axis] = s && e && st ? slicedDim(x.shape[axis]!, s[i]!, e[i]!, st[i]!) ?? unknownDim(c.nodeName, axis) : unknownDim(c.nodeName, axis);
  });
  const inputs = [x, toInput(starts), toInput(ends), axes instanceof Value ? axes : int64s(x.graph, axesN), steps === undefined ? null : toInput(steps)];
  const v = c.emit1(steps === undefined ? inputs.slice(0, 4) : inputs, {}, { dtype: x.dtype, shape });
  const k = known(x);
  if (k && x.rank === 1 && s && e && st) setKnown(v, sliceList(k, s[0]!, e[0]!, st[0]!));
  return v;
}

/** The contents of an int tensor when known and all numeric. */
function knownNumbers(v: Value): number[] | undefined {
  const k = known(v);
  return k && k.every((d) => typeof d === "number") ? (k as number[]) : undefined;
}

const valueOr = (arg: unknown): Value | undefined => (arg instanceof Value ? arg : undefined);

function clampStartEnd(d: number, start: number, end: number, step: number): [number, number] {
  const norm = (i: number) => (i < 0 ? i + d : i);
  const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
  return [Math.min(Math.max(norm(start), 0), step > 0 ? d : d - 1), Math.min(Math.max(norm(end), lo), hi)];
}

function slicedDim(d: Dim, start: number, end: number, step: number): Dim | undefined {
  if (typeof d === "number") {
    const [s, e] = clampStartEnd(d, start, end, step);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  // Symbolic: only the "from k to the end" forms are known (assuming k ≤ the dim, as models slice).
  if (step === 1 && start >= 0 && end >= SLICE_END / 2) return dimAdd(d, -start);
  return undefined;
}

function sliceList(list: readonly Dim[], start: number, end: number, step: number): Dim[] {
  const [s, e] = clampStartEnd(list.length, start, end, step);
  const out: Dim[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(list[i]!);
  return out;
}

export function concat(xs: readonly Value[], axis: number): Value {
  const first = xs[0];
  if (!first) throw new Error("concat: needs at least one operand");
  const c = new OpCheck("Concat", first.graph, xs.map((x, i) => [`x${i}`, x] as const));
  c.sameDtype(xs.map((x, i) => [`x${i}`, x] as const));
  if (first.rank === 0) c.fail("operands must have rank ≥ 1");
  const a = c.axis(axis, first.rank);
  let dim: Dim = 0;
  xs.forEach((x, i) => {
    if (x.rank !== first.rank) c.fail(`x${i} has rank ${x.rank}, x0 has ${first.rank}`);
    x.shape.forEach((d, j) => {
      if (j !== a) c.sameDim(`x${i} differs from x0 at axis ${j}`, first.shape[j]!, d);
    });
    dim = dimAdd(dim, x.shape[a]!);
  });
  const shape = first.shape.map((d, j) => (j === a ? dim : d));
  const v = c.emit1(xs, { axis: a }, { dtype: first.dtype, shape });
  const ks = xs.map(known);
  if (first.rank === 1 && ks.every((k) => k)) setKnown(v, ks.flatMap((k) => k!));
  return v;
}

export function split(x: Value, sizes: readonly number[], axis = 0): Value[] {
  const c = new OpCheck("Split", x.graph, [["x", x]]);
  const a = c.axis(axis, x.rank);
  const total = sizes.reduce((p, q) => p + q, 0);
  if (sizes.some((s) => !Number.isInteger(s) || s < 0)) c.fail(`sizes [${sizes.join(",")}] must be non-negative integers`);
  if (typeof x.shape[a] === "number" && x.shape[a] !== total) c.fail(`sizes [${sizes.join(",")}] sum to ${total}, axis ${a} has ${x.shape[a]}`);
  const outs = sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, j) => (j === a ? s : d)) }));
  return c.emit([x, int64s(x.graph, sizes)], { axis: a }, outs);
}

export function expand(x: Value, shape: ShapeArg): Value {
  const c = new OpCheck("Expand", x.graph, [["x", x], ["shape", shape instanceof Value ? shape : undefined]]);
  const { value, dims } = shapeInput(c, shape);
  const out = dims ? c.broadcast([["x", x.shape], ["shape", dims]]) : unknownShape(c, Math.max(x.rank, value.shape[0] as number));
  return c.emit1([x, value], {}, { dtype: x.dtype, shape: out });
}

export interface PadOptions {
  mode?: "constant" | "reflect" | "edge" | "wrap";
  value?: number;
}

/** pads = [begin_0 … begin_{r-1}, end_0 … end_{r-1}] per ONNX. */
export function pad(x: Value, pads: readonly number[] | Value, { mode = "constant", value = 0 }: PadOptions = {}): Value {
  const c = new OpCheck("Pad", x.graph, [["x", x], ["pads", valueOr(pads)]]);
  c.dtype("x", x, [...NUMERIC, "bool"]);
  let shape: Dim[];
  if (pads instanceof Value) {
    c.dtype("pads", pads, ["int64"]);
    if (pads.shape[0] !== 2 * x.rank) c.fail(`pads must have ${2 * x.rank} elements`);
    shape = unknownShape(c, x.rank);
  } else {
    if (pads.length !== 2 * x.rank) c.fail(`pads [${pads.join(",")}] must have ${2 * x.rank} elements (begins, then ends)`);
    shape = x.shape.map((d, i) => dimAdd(dimAdd(d, pads[i]!), pads[i + x.rank]!));
  }
  const padsV = pads instanceof Value ? pads : int64s(x.graph, pads);
  const inputs = mode === "constant" ? [x, padsV, scalar(x.graph, value, x.dtype)] : [x, padsV];
  return c.emit1(inputs, { mode }, { dtype: x.dtype, shape });
}

export interface ShapeOptions {
  start?: number;
  end?: number;
}

export function shape(x: Value, { start = 0, end }: ShapeOptions = {}): Value {
  const c = new OpCheck("Shape", x.graph, [["x", x]]);
  const clampAxis = (i: number) => Math.min(Math.max(i < 0 ? i + x.rank : i, 0), x.rank);
  const [s, e] = [clampAxis(start), end === undefined ? x.rank : clampAxis(end)];
  const dims = x.shape.slice(s, Math.max(s, e));
  const attrs = { ...(start !== 0 ? { start } : {}), ...(end !== undefined ? { end } : {}) };
  const v = c.emit1([x], attrs, { dtype: "int64", shape: [dims.length] });
  setKnown(v, dims);
  return v;
}

export function size(x: Value): Value {
  const c = new OpCheck("Size", x.graph, [["x", x]]);
  const v = c.emit1([x], {}, { dtype: "int64", shape: [] });
  setKnown(v, [dimProduct(x.shape)]);
  return v;
}

export function identity(x: Value): Value {
  const c = new OpCheck("Identity", x.graph, [["x", x]]);
  const v = c.emit1([x], {}, { dtype: x.dtype, shape: x.shape });
  passKnown(x, v);
  return v;
}

