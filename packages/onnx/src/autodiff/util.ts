// Small helpers the engine and the rules share: reading attributes and constant inputs of a forward node, building
// filled tensors, transposed products, and re-labelling a value's shape.
import {
  FloatAttr, GraphBuildError, describe,
  type DType, type Graph, type Node, type Shape, type TensorAttr, type Value,
} from "../graph.js";
import { constant, constantOfShape, fusedMatMul, matmul, mul, shape, transpose } from "../ops/index.js";

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

export const staticDims = (s: Shape): number[] | undefined =>
  s.every((d): d is number => typeof d === "number") ? [...s] : undefined;

/** int64 1-D constant, e.g. a shape or a list of axes. */
export const int64s = (graph: Graph, values: readonly number[]): Value =>
  constant(graph, [...values], { dtype: "int64", dims: [values.length] });

/**
 * A tensor shaped like `like` and filled with `value` (zeros for missing output gradients, ones for default seeds).
 * Its shape comes from Shape(like) unless static, so symbolic dims work.
 */
export function fill(like: Value, value: number, dtype: DType = like.dtype): Value {
  const dims = staticDims(like.shape);
  const shapeValue = dims ? int64s(like.graph, dims) : shape(like);
  const out = constantOfShape(shapeValue, value, dtype);
  return sameShape(out.shape, like.shape) ? out : retag(out, like.shape);
}

/**
 * The same tensor under a value carrying `shape`. Used where an op's inferred shape has unnamed dims (a Reshape to a
 * runtime shape) but the gradient is known to have its input's shape; ORT drops the Identity.
 */
export function retag(v: Value, shape: Shape): Value {
  const [out] = v.graph.addNode("Identity", [v], {}, [{ dtype: v.dtype, shape }]);
  return out!;
}

/** The integers held by a Constant node or an initializer, or undefined when `v` is computed at run time. */
export function constInts(v: Value): number[] | undefined {
  const init = v.graph.initializers.get(v.name);
  if (init) return init.data ? Array.from(init.data as ArrayLike<number | bigint>, Number) : undefined;
  const p = v.producer;
  if (!p || p.opType !== "Constant") return undefined;
  const t = p.attrs.value as TensorAttr | undefined;
  if (t?.kind === "tensor") return Array.from(t.data as ArrayLike<number | bigint>, Number);
  const ints = p.attrs.value_ints ?? p.attrs.value_int;
  if (typeof ints === "number") return [ints];
  if (Array.isArray(ints)) return ints.map(Number);
  return undefined;
}

export interface AttrReader {
  /** An INT attribute, or `dflt` when absent. */
  int(name: string, dflt: number): number;
  /** A FLOAT attribute (an INT one is accepted too), or `dflt` when absent. */
  float(name: string, dflt: number): number;
  /** An INTS attribute, or undefined when absent. */
  ints(name: string): number[] | undefined;
}

export function attrReader(node: Node): AttrReader {
  const bad = (name: string, want: string): never => {
    throw new GraphBuildError(`vjp: node '${node.name}' (${node.opType}): attribute '${name}' is not ${want}`);
  };
  return {
    int(name, dflt) {
      const a = node.attrs[name];
      if (a === undefined) return dflt;
      return typeof a === "number" ? a : bad(name, "an INT");
    },
    float(name, dflt) {
      const a = node.attrs[name];
      if (a === undefined) return dflt;
      if (a instanceof FloatAttr) return a.value;
      return typeof a === "number" ? a : bad(name, "a FLOAT");
    },
    ints(name) {
      const a = node.attrs[name];
      if (a === undefined) return undefined;
      return Array.isArray(a) && a.every((e) => typeof e === "number") ? [...(a as number[])] : bad(name, "INTS");
    },
  };
}

/** Axes made non-negative and checked against `rank`. */
export function normAxes(axes: readonly number[], rank: number, node: Node): number[] {
  return axes.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) throw new GraphBuildError(`vjp: node '${node.name}' (${node.opType}): axis ${a} out of range for rank ${rank}`);
    return n;
  });
}

/** The constant integer input `i` of `node`, or an error saying the rule needs it constant. */
export function needConstInts(node: Node, i: number, what: string): number[] {
  const v = node.inputs[i];
  const ints = v ? constInts(v) : undefined;
  if (!ints) {
    throw new GraphBuildError(
      `vjp: node '${node.name}' (${node.opType}): its ${what} (${v ? describe(v) : "absent"}) must be a constant to differentiate it`,
    );
  }
  return ints;
}

/** Memoizes a builder so rules can share an intermediate between the gradients of several inputs. */
export function lazy<T>(build: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = build();
      done = true;
    }
    return value;
  };
}

const lastTwoSwapped = (rank: number): number[] => [...Array(rank).keys()].map((i) => (i < rank - 2 ? i : 2 * rank - 3 - i));
/** a·b with either side's last two axes swapped; FusedMatMul saves the Transpose copy where ORT has a kernel (fp32). */
export function mmT(a: Value, b: Value, transA: boolean, transB: boolean, alpha = 1): Value {
  if (a.dtype === "float32") return fusedMatMul(a, b, { transA, transB, alpha });
  const p = matmul(transA ? transpose(a, lastTwoSwapped(a.rank)) : a, transB ? transpose(b, lastTwoSwapped(b.rank)) : b);
  return alpha === 1 ? p : mul(p, alpha);
}

