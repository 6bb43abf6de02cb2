// What the builder knows about the *contents* of small integer tensors (shape vectors, axis scalars): constants,
// Shape() slices and what is computed from them. Reshape/Expand/ConstantOfShape/Range read it to infer symbolic
// output shapes, so reshape(x, concat([shape(x,{end:2}), [H, D]])) is known to be [B, T, H, D].
import { GraphBuildError, type Dim, type DType, type Graph, type TensorData, type Value } from "../graph.js";
import { numberAt } from "../tensor.js";
import { dimMul } from "./dims.js";

const contents = new WeakMap<Value, readonly Dim[]>();

export const setKnown = (v: Value, dims: readonly Dim[]): void => {
  contents.set(v, dims);
};
/** The elements of `v` when known at build time (small rank-0/1 tensors: constants and shape arithmetic). */
export const known = (v: Value): readonly Dim[] | undefined => contents.get(v);

export const isIntDType = (d: DType): boolean => d === "int64" || d === "int32" || d === "int8" || d === "uint8";

const constantCache = new WeakMap<Graph, Map<string, Value>>();

/** A Constant node; small integer constants are remembered so shape inference can read them. */
export function makeConstant(within: Graph, dtype: DType, dims: readonly number[], data: TensorData, cacheKey?: string): Value {
  // A constant does not change between a body's iterations: it lives in the root, which every body reads.
  const graph = within.root;
  let cache = constantCache.get(graph);
  if (!cache) constantCache.set(graph, (cache = new Map()));
  if (cacheKey !== undefined) {
    const hit = cache.get(cacheKey);
    if (hit) return hit;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new GraphBuildError(`constant: ${data.length} elements given for ${dtype}[${dims.join(",")}] (expected ${count})`);
  }
  const [v] = graph.addNode("Constant", [], { value: { kind: "tensor", dtype, dims, data } }, [{ dtype, shape: dims }]) as [Value];
  if (dims.length <= 1 && data.length <= 64) setKnown(v, Array.from({ length: data.length }, (_, i) => numberAt(dtype, data, i)));
  if (cacheKey !== undefined) cache.set(cacheKey, v);
  return v;
}

/** int64 1-D constant, cached per graph (axes, shapes and pads repeat a lot in model graphs). */
export const int64s = (graph: Graph, values: readonly number[]): Value =>
  makeConstant(graph, "int64", [values.length], BigInt64Array.from(values, (x) => BigInt(x)), `int64s:${values.join(",")}`);

export const int64Scalar = (graph: Graph, value: number): Value =>
  makeConstant(graph, "int64", [], BigInt64Array.of(BigInt(value)), `int64:${value}`);

/** Where each symbolic dim can be read from at run time: the first graph input or node output carrying it. */
function findDimSource(graph: Graph, dim: string): [Value, number] | undefined {
  const scan = (v: Value): [Value, number] | undefined => {
    const axis = v.shape.indexOf(dim);
    return axis >= 0 ? [v, axis] : undefined;
  };
  for (const v of graph.inputs) {
    const hit = scan(v);
    if (hit) return hit;
  }
  for (const node of graph.nodes) {
    for (const v of node.outputs) {
      const hit = scan(v);
      if (hit) return hit;
    }
  }
  // A body reads its enclosing graph's values, all of which precede the node the body belongs to.
  return graph.parent ? findDimSource(graph.parent, dim) : undefined;
}

const shapeCache = new WeakMap<Graph, Map<string, Value>>();

/**
 * A 1-D int64 tensor holding `dims` at run time: numbers become constants, named dims are read with Shape() from a
 * value that carries them, products ("batch*seq") multiply their factors.
 */
export function shapeTensor(graph: Graph, dims: readonly Dim[], who: string): Value {
  if (dims.every((d) => typeof d === "number")) return int64s(graph, dims as number[]);
  let cache = shapeCache.get(graph);
  if (!cache) shapeCache.set(graph, (cache = new Map()));
  const key = dims.join(",");
  const hit = cache.get(key);
  if (hit) return hit;
  const pieces = dims.map((d) => (typeof d === "number" ? int64s(graph, [d]) : dimTensor(graph, d, who)));
  const [v] = graph.addNode("Concat", pieces, { axis: 0 }, [{ dtype: "int64", shape: [dims.length] }]) as [Value];
  setKnown(v, dims);
  cache.set(key, v);
  return v;
}

function dimTensor(graph: Graph, dim: string, who: string): Value {
  const source = findDimSource(graph, dim);
  if (source) {
    const [value, axis] = source;
    const [v] = graph.addNode("Shape", [value], { start: axis, end: axis + 1 }, [{ dtype: "int64", shape: [1] }]) as [Value];
    setKnown(v, [dim]);
    return v;
  }
  const factors = dim.split("*");
  if (factors.length > 1) {
    return factors
      .map((f) => (/^\d+$/.test(f) ? int64s(graph, [Number(f)]) : dimTensor(graph, f, who)))
      .reduce((acc, f) => {
        const [v] = graph.addNode("Mul", [acc, f], {}, [{ dtype: "int64", shape: [1] }]) as [Value];
        setKnown(v, [dimMul(known(acc)![0]!, known(f)![0]!)]);
        return v;
      });
  }
  throw new GraphBuildError(`${who}: no value in graph '${graph.name}' carries the dim '${dim}', so its size cannot be read at run time`);
}
