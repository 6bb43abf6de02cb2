// What every op module shares: naming the node in build errors, operand checks, broadcasting with symbolic dims,
// and lifting JS numbers to scalar constants.
import {
  GraphBuildError, describe, isFloat,
  type Attrs, type DType, type Dim, type Graph, type OutputType, type Shape, type Value,
} from "../graph.js";
import { typedArrayFrom } from "../tensor.js";
import { isUnknown } from "./dims.js";
import { makeConstant } from "./known.js";

/** A tensor operand, or a JS number made a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

export const NUMERIC: readonly DType[] = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8"];
export const FLOATS: readonly DType[] = ["float32", "float16", "bfloat16", "float64"];
export const INDEX: readonly DType[] = ["int64", "int32"];

/** One op application being checked: knows its node name (for errors) and its operands (for error text). */
export class OpCheck {
  readonly nodeName: string;

  constructor(
    readonly opType: string,
    readonly graph: Graph,
    readonly operands: readonly (readonly [string, Value | null | undefined])[],
  ) {
    this.nodeName = graph.peekName(opType);
  }

  fail(detail: string): never {
    const listed = this.operands.filter(([, v]) => v).map(([label, v]) => `${label} = ${describe(v!)}`);
    throw new GraphBuildError(`${this.opType} (node '${this.nodeName}'): ${detail}${listed.length ? `; operands: ${listed.join(", ")}` : ""}`);
  }

  dtype(label: string, v: Value, allowed: readonly DType[]): void {
    if (!allowed.includes(v.dtype)) this.fail(`${label} has dtype ${v.dtype}, expected one of ${allowed.join("/")}`);
  }

  sameDtype(values: readonly (readonly [string, Value])[]): DType {
    const [first, ...rest] = values;
    for (const [label, v] of rest) {
      if (v.dtype !== first![1].dtype) this.fail(`${label} has dtype ${v.dtype} but ${first![0]} has ${first![1].dtype}`);
    }
    return first![1].dtype;
  }

  rank(label: string, v: Value, ranks: number | readonly number[]): void {
    const ok = typeof ranks === "number" ? v.rank === ranks : ranks.includes(v.rank);
    if (!ok) this.fail(`${label} has rank ${v.rank}, expected ${typeof ranks === "number" ? ranks : ranks.join(" or ")}`);
  }

  /** Normalizes a possibly negative axis against `rank`. */
  axis(axis: number, rank: number, what = "axis"): number {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) this.fail(`${what} ${axis} is out of range for rank ${rank}`);
    return axis < 0 ? axis + rank : axis;
  }

  axes(axes: readonly number[], rank: number, what = "axes"): number[] {
    const out = axes.map((a) => this.axis(a, rank, what));
    if (new Set(out).size !== out.length) this.fail(`${what} [${axes.join(",")}] repeat an axis`);
    return out;
  }

  /** Two dims that must be the same size (matmul K, concat's other axes …). */
  sameDim(what: string, a: Dim, b: Dim): void {
    if (a === b) return;
    const symbolic = typeof a === "string" || typeof b === "string";
    this.fail(`${what}: ${a} vs ${b}${symbolic ? ` (symbolic dims must have the same name${isUnknown(a) || isUnknown(b) ? "; '?…' dims are unknown" : ""})` : ""}`);
  }

  /** Numpy broadcasting. Dims match when equal (symbolic by name) or when one is 1. */
  broadcast(values: readonly (readonly [string, Shape])[]): Dim[] {
    const rank = Math.max(0, ...values.map(([, s]) => s.length));
    const out: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      let dim: Dim = 1;
      let from = "";
      for (const [label, shape] of values) {
        const d = shape[shape.length - rank + i] ?? 1;
        if (d === 1) continue;
        if (dim === 1) {
          dim = d;
          from = label;
        } else if (d !== dim) {
          const symbolic = typeof d === "string" || typeof dim === "string";
          this.fail(
            `cannot broadcast ${from} with ${label} at output axis ${i} (${dim} vs ${d}${symbolic ? "; symbolic dims broadcast only when equal by name, or 1" : ""})`,
          );
        }
      }
      out.push(dim);
    }
    return out;
  }

  emit(inputs: readonly (Value | null)[], attrs: Attrs, outputs: readonly OutputType[], domain = ""): Value[] {
    return this.graph.addNode(this.opType, inputs, attrs, outputs, { domain });
  }

  emit1(inputs: readonly (Value | null)[], attrs: Attrs, output: OutputType, domain = ""): Value {
    return this.emit(inputs, attrs, [output], domain)[0]!;
  }
}

/** The graph an op builds into: that of its first tensor operand. */
export function graphOf(opType: string, operands: readonly unknown[]): Graph {
  for (const o of operands) {
    if (o && typeof o === "object" && "graph" in o) return (o as Value).graph;
  }
  throw new GraphBuildError(`${opType}: at least one operand must be a Value (got only numbers; use constant() for fixed tensors)`);
}

/** A scalar constant of `dtype`, shared per graph and value. */
export function scalar(graph: Graph, value: number, dtype: DType): Value {
  if (!isFloat(dtype) && !Number.isInteger(value) && Number.isFinite(value)) {
    throw new GraphBuildError(`scalar ${value} cannot be a ${dtype} constant (it is not an integer)`);
  }
  return makeConstant(graph, dtype, [], typedArrayFrom(dtype, [value]), `scalar:${dtype}:${Object.is(value, -0) ? "-0" : value}`);
}

/** Lifts number operands to constants of the dtype of the tensor operands. */
export function lift(opType: string, operands: readonly Operand[]): Value[] {
  const graph = graphOf(opType, operands);
  const typed = operands.find((o): o is Value => typeof o !== "number")!;
  return operands.map((o) => (typeof o === "number" ? scalar(graph, o, typed.dtype) : o));
}

export const isNumber = (x: unknown): x is number => typeof x === "number";
