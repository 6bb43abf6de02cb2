// Gradients of the ops that move data without arithmetic (Slice, Concat, Gather): each writes g back into the
// positions the forward read from. Static shapes get the cheap form (Pad, Slice with constants); symbolic ones go
// through Shape-based runtime values.
import { GraphBuildError, type Node, type Value } from "../graph.js";
import {
  add, cast, constantOfShape, gather, pad, range, reshape, scatterElements, SLICE_END, scatterND, shape, size, slice, transpose,
  unsqueeze, where, less,
} from "../ops/index.js";
import type { RuleContext } from "./rules.js";
import { fill, int64s, needConstInts, normAxes, staticDims } from "./util.js";

/** Slice's gradient: g padded with zeros back to x's shape (static, unit steps), else scattered by flat position. */
export function sliceGrad(c: RuleContext): Value {
  const x = c.x[0];
  const starts = c.constInts(1);
  const ends = c.constInts(2);
  const axes = c.opt(3) ? c.constInts(3) : starts && [...starts.keys()];
  const steps = c.opt(4) ? c.constInts(4) : starts?.map(() => 1);
  if (starts && ends && axes && steps && steps.every((s) => s === 1)) {
    const pads = new Array<number>(2 * x.rank).fill(0);
    const ok = normAxes(axes, x.rank, c.node).every((a, i) => {
      const d = x.shape[a];
      if (typeof d !== "number") return false;
      // ONNX clamps starts/ends into [0, d] after counting negatives from the end (ends are often INT64_MAX).
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]!);
      pads[a] = s;
      pads[a + x.rank] = d - Math.max(clamp(ends[i]!), s);
      return true;
    });
    if (ok) return pad(c.g, pads);
  }
  // General case (runtime bounds, symbolic dims, any steps): slice a tensor of flat positions the same way, then
  // scatter g to those positions of a zero vector.
  const n = size(x);
  const positions = reshape(range(0, n, 1), shape(x));
  const picked = slice(positions, {
    starts: c.x[1],
    ends: c.x[2],
    ...(c.opt(3) ? { axes: needConstInts(c.node, 3, "axes") } : {}),
    ...(c.opt(4) ? { steps: c.x[4]! } : {}),
  });
  const flat = constantOfShape(reshape(n, [1]), 0, x.dtype);
  return reshape(scatterElements(flat, reshape(picked, [-1]), reshape(c.g, [-1]), { axis: 0 }), shape(x));
}

/** Pad's gradient (constant mode): the part of g where x sits. */
export function padGrad(c: RuleContext): Value {
  const x = c.x[0];
  const mode = c.node.attrs.mode ?? "constant";
  if (mode !== "constant") throw new GraphBuildError(`vjp: Pad node '${c.node.name}': mode '${String(mode)}' has no rule`);
  const pads = needConstInts(c.node, 1, "pads");
  if (pads.some((p) => p < 0)) throw new GraphBuildError(`vjp: Pad node '${c.node.name}': negative pads [${pads}] (cropping) have no rule`);
  const axes = c.opt(3) ? normAxes(needConstInts(c.node, 3, "axes"), x.rank, c.node) : [...x.shape.keys()];
  const n = axes.length;
  return slice(c.g, {
    starts: axes.map((_, i) => pads[i]!),
    ends: axes.map((_, i) => (pads[i + n]! > 0 ? -pads[i + n]! : SLICE_END)),
    axes,
  });
}

/** The part of Concat's g that belongs to input i. */
export function sliceOfConcat(c: RuleContext, i: number): Value {
  const x = c.x[i]!;
  const axis = normAxes([c.int("axis", 0)], x.rank, c.node)[0]!;
  const lengths = c.x.map((v) => v.shape[axis]);
  if (lengths.every((d): d is number => typeof d === "number")) {
    const start = lengths.slice(0, i).reduce((p, d) => p + d, 0);
    return slice(c.g, { starts: [start], ends: [start + lengths[i]!], axes: [axis] });
  }
  const lengthOf = (v: Value): Value => shape(v, { start: axis, end: axis + 1 }); // int64[1]
  const start = c.x.slice(0, i).reduce<Value>((p, v) => add(p, lengthOf(v)), int64s(x.graph, [0]));
  return slice(c.g, { starts: start, ends: add(start, lengthOf(x)), axes: int64s(x.graph, [axis]) });
}

/**
 * Gather's gradient: g added into zeros at the gathered rows. ScatterND writes whole slices along the leading axis,
 * so for axis > 0 the gathered axis is moved to the front and back again.
 */
export function gatherGrad(x: Value, indices: Value, g: Value, axisAttr: number, node: Node): Value {
  const axis = normAxes([axisAttr], x.rank, node)[0]!;
  let idx = nonNegative(indices.dtype === "int64" ? indices : cast(indices, "int64"), x, axis);
  let gg = g;
  if (idx.rank === 0) {
    idx = unsqueeze(idx, [0]);
    gg = unsqueeze(gg, [axis]);
  }
  const q = idx.rank;
  if (gg.rank !== x.rank - 1 + q) {
    throw new GraphBuildError(`vjp: Gather node '${node.name}': gradient rank ${gg.rank} does not match data rank ${x.rank} and index rank ${q}`);
  }
  const updates = axis === 0 ? gg : transpose(gg, [
    ...Array.from({ length: q }, (_, k) => axis + k),
    ...Array.from({ length: axis }, (_, k) => k),
    ...Array.from({ length: gg.rank - axis - q }, (_, k) => axis + q + k),
  ]);
  const front = [axis, ...[...Array(x.rank).keys()].filter((a) => a !== axis)];
  const dims = staticDims(x.shape);
  const zeros = axis === 0
    ? fill(x, 0)
    : constantOfShape(dims ? int64s(x.graph, front.map((a) => dims[a]!)) : gather(shape(x), int64s(x.graph, front)), 0, x.dtype);
  const scattered = scatterND(zeros, unsqueeze(idx, [-1]), updates, { reduction: "add" });
  return axis === 0 ? scattered : transpose(scattered, front.map((_, i) => front.indexOf(i)));
}

/** Indices with negative entries (counting from the end, as Gather allows) moved into [0, dim). */
export function nonNegative(idx: Value, x: Value, axis: number): Value {
  const d = x.shape[axis];
  const dim = typeof d === "number" ? d : gather(shape(x), axis); // int64 scalar
  return where(less(idx, 0), add(idx, dim), idx);
}
