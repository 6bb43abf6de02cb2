// Ops that make tensors: Constant, Range, ConstantOfShape.
import { GraphBuildError, Value, type DType, type Dim, type Graph, type TensorData } from "../graph.js";
import { typedArrayFrom } from "../tensor.js";
import { NUMERIC, OpCheck, graphOf, scalar, type Operand } from "./core.js";
import { unknownDim } from "./dims.js";
import { known, makeConstant, shapeTensor } from "./known.js";

export interface ConstantOptions {
  /** Defaults: float32 for numbers; inferred from the typed array otherwise (Uint16Array needs it: fp16 or bf16). */
  dtype?: DType;
  /** Defaults: [] for a number, [n] for a list. */
  dims?: readonly number[];
}

const TYPED_DTYPES: readonly (readonly [abstract new (...args: never[]) => unknown, DType])[] = [
  [Float32Array, "float32"], [Float64Array, "float64"], [BigInt64Array, "int64"], [Int32Array, "int32"],
  [Int8Array, "int8"], [Uint8Array, "uint8"],
];

/** A Constant node; meant for small values (weights belong in initializers). */
export function constant(graph: Graph, data: number | readonly number[] | TensorData, { dtype, dims }: ConstantOptions = {}): Value {
  if (typeof data === "number" || Array.isArray(data)) {
    const list = typeof data === "number" ? [data] : (data as readonly number[]);
    const type = dtype ?? "float32";
    return makeConstant(graph, type, dims ?? (typeof data === "number" ? [] : [list.length]), typedArrayFrom(type, list));
  }
  const typed = data as TensorData;
  const inferred = TYPED_DTYPES.find(([ctor]) => typed instanceof ctor)?.[1];
  const type = dtype ?? inferred;
  if (!type) throw new GraphBuildError("constant: a Uint16Array needs an explicit dtype (float16 or bfloat16)");
  if (dtype && inferred && dtype !== inferred && !(dtype === "bool" && inferred === "uint8")) {
    throw new GraphBuildError(`constant: dtype ${dtype} does not match the ${typed.constructor.name} given`);
  }
  return makeConstant(graph, type, dims ?? [typed.length], typed);
}

/** [start, start+delta, …) below limit; scalars, at least one of them a Value (else use constant()). */
export function range(start: Operand, limit: Operand, delta: Operand): Value {
  const graph = graphOf("Range", [start, limit, delta]);
  const dtype = ([start, limit, delta].find((o): o is Value => o instanceof Value))!.dtype;
  const [s, l, d] = [start, limit, delta].map((o) => (typeof o === "number" ? scalar(graph, o, dtype) : o)) as [Value, Value, Value];
  const c = new OpCheck("Range", graph, [["start", s], ["limit", l], ["delta", d]]);
  c.dtype("start", s, NUMERIC.filter((t) => t !== "bfloat16" && t !== "float16" && t !== "uint8" && t !== "int8"));
  c.sameDtype([["start", s], ["limit", l], ["delta", d]]);
  for (const [label, v] of [["start", s], ["limit", l], ["delta", d]] as const) if (v.rank !== 0) c.fail(`${label} must be a scalar`);
  const [ks, kl, kd] = [s, l, d].map((v) => known(v)?.[0]);
  let length: Dim = unknownDim(c.nodeName, 0);
  if (typeof ks === "number" && typeof kl === "number" && typeof kd === "number") length = Math.max(0, Math.ceil((kl - ks) / kd));
  else if (ks === 0 && kd === 1 && kl !== undefined) length = kl;
  else if (typeof start === "number" && typeof limit === "number" && typeof delta === "number") {
    length = Math.max(0, Math.ceil((limit - start) / delta));
  }
  return c.emit1([s, l, d], {}, { dtype, shape: [length] });
}

/** A tensor of `shape` (an int64 1-D Value, e.g. from shape() or shapeOf()) filled with `value`. */
export function constantOfShape(shape: Value, value = 0, dtype: DType = "float32"): Value {
  const c = new OpCheck("ConstantOfShape", shape.graph, [["shape", shape]]);
  c.dtype("shape", shape, ["int64"]);
  c.rank("shape", shape, 1);
  if (typeof shape.shape[0] !== "number") c.fail("the shape tensor must have a static length");
  const dims = known(shape) ?? Array.from({ length: shape.shape[0] as number }, (_, i) => unknownDim(c.nodeName, i));
  return c.emit1([shape], { value: { kind: "tensor", dtype, dims: [1], data: typedArrayFrom(dtype, [value]) } }, { dtype, shape: dims });
}

/** A 1-D int64 shape tensor for dims that may be symbolic (read at run time from values that carry them). */
export const shapeOf = (graph: Graph, dims: readonly Dim[]): Value => shapeTensor(graph, dims, "shapeOf");
