// A graph with forward and backward outputs, serialized so the backward runs only when a bool input asks for it.
//
// ORT executes every node of a session's graph on every run, whatever outputs are fetched, so a forward+VJP graph
// used for a forward-only pass (GradCache's pass 1) pays for the whole backward too. Two sessions would avoid that
// but load the weights twice. Here the nodes that only the gated outputs need move into the then-branch of an ONNX If
// node (they read the forward's values from the outer scope), and the else-branch yields zeros: one session, one copy
// of the weights, and a forward-only run costs a forward.
import { GraphBuildError, describe, type Graph, type Value } from "../graph.js";
import { ModelProto, ONNX_DATA_TYPE } from "../proto/onnx-proto.js";
import { toModelProto, type SerializeOptions } from "../serialize.js";
import { staticDims } from "./util.js";

export interface GateOptions extends SerializeOptions {
  /** A bool scalar graph input: true runs the gated part, false outputs zeros for it. */
  readonly gate: Value;
  /** Graph outputs computed only when the gate is true; each needs a static shape (for the zeros). */
  readonly gated: readonly Value[];
  /**
   * Op types (single-output, cheap: e.g. Sigmoid, Mul, Where) whose forward results the gated part recomputes
   * instead of keeping: every value the branch reads from the forward lives until the branch ends, so recomputing
   * one from values the branch keeps anyway (or graph inputs) frees it as soon as the forward is done with it.
   */
  readonly recompute?: readonly string[];
}

interface NodeMsg {
  name?: string;
  op_type?: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: unknown[];
}
interface ValueInfoMsg {
  name: string;
}

const ATTR_GRAPH = 5;
const ATTR_TENSOR = 4;

/** ModelProto bytes in which the nodes only `gated` outputs depend on run inside `If(gate)`. */
export function toGatedModelProto(graph: Graph, options: GateOptions): Uint8Array {
  const { gate, gated, recompute = [], ...serialize } = options;
  checkGate(graph, gate, gated);
  const model = ModelProto.decode(toModelProto(graph, serialize)) as unknown as { graph: { node: NodeMsg[]; output: ValueInfoMsg[] } };
  const main = model.graph;
  const gatedNames = new Set(gated.map((v) => v.name));
  const producer = new Map<string, number>();
  main.node.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)));

  const ancestors = (names: Iterable<string>, stop: ReadonlySet<number>): Set<number> => {
    const seen = new Set<number>();
    const stack = [...names];
    while (stack.length > 0) {
      const i = producer.get(stack.pop()!);
      if (i === undefined || seen.has(i) || stop.has(i)) continue;
      seen.add(i);
      stack.push(...main.node[i]!.input.filter((x) => x !== ""));
    }
    return seen;
  };
  const ungated = ancestors(main.output.map((o) => o.name).filter((n) => !gatedNames.has(n)), new Set());
  const inBranch = ancestors(gatedNames, ungated);
  for (const v of gated) {
    const i = producer.get(v.name);
    if (i === undefined || ungated.has(i)) {
      throw new GraphBuildError(`toGatedModelProto: gated output ${describe(v)} is ${i === undefined ? "a graph input" : "also needed by an ungated output"}; gate only values the ungated outputs do not need`);
    }
  }

  // If outputs take the gated names; inside the branches the same values carry a suffix.
  const inThen = (name: string): string => (gatedNames.has(name) ? `${name}/then` : name);
  const branch = main.node.filter((_, i) => inBranch.has(i));
  const cloned = rematerialize(graph, main.node, producer, branch, new Set(recompute));
  const thenNodes = withClones(branch, cloned).map((n) => ({ ...n, input: n.input.map(inThen), output: n.output.map(inThen) }));
  const outputsInfo = new Map(main.output.map((o) => [o.name, o]));
  const branchOutput = (v: Value, suffix: string) => ({ ...outputsInfo.get(v.name)!, name: `${v.name}/${suffix}` });
  const thenBranch = { name: `${graph.name}/gated`, node: thenNodes, output: gated.map((v) => branchOutput(v, "then")) };
  const elseBranch = { name: `${graph.name}/zeros`, node: gated.flatMap(zerosNodes), output: gated.map((v) => branchOutput(v, "else")) };
  const ifNode: NodeMsg = {
    name: `${graph.name}/gate`,
    op_type: "If",
    domain: "",
    input: [gate.name],
    output: gated.map((v) => v.name),
    attribute: [
      { name: "then_branch", type: ATTR_GRAPH, g: thenBranch },
      { name: "else_branch", type: ATTR_GRAPH, g: elseBranch },
    ],
  };
  // Nodes no output depends on are dropped: kept, one reading a branch value would dangle.
  main.node = [...main.node.filter((_, i) => ungated.has(i)), ifNode];
  return ModelProto.encode(model as never).finish();
}

function checkGate(graph: Graph, gate: Value, gated: readonly Value[]): void {
  if (!graph.inputs.includes(gate) || gate.dtype !== "bool" || gate.rank !== 0) {
    throw new GraphBuildError(`toGatedModelProto: the gate ${describe(gate)} must be a bool scalar input of graph '${graph.name}'`);
  }
  if (gated.length === 0) throw new GraphBuildError("toGatedModelProto: no gated outputs given");
  for (const v of gated) {
    if (!graph.outputs.includes(v)) throw new GraphBuildError(`toGatedModelProto: ${describe(v)} is not an output of graph '${graph.name}'`);
    if (!staticDims(v.shape)) throw new GraphBuildError(`toGatedModelProto: gated output ${describe(v)} needs a static shape`);
  }
  if (gated.length === graph.outputs.length) throw new GraphBuildError("toGatedModelProto: every output is gated; nothing would run ungated");
}

/** Zeros of v's static shape and dtype: Constant(shape) → ConstantOfShape. */
function zerosNodes(v: Value): NodeMsg[] {
  const dims = staticDims(v.shape)!;
  const shapeName = `${v.name}/else/shape`;
  const shapeBytes = new Uint8Array(BigInt64Array.from(dims, BigInt).buffer);
  const fill = new Uint8Array(new ArrayBuffer(8)); // zero of any dtype up to 8 bytes
  const width = { float32: 4, float16: 2, bfloat16: 2, float64: 8 }[v.dtype as string];
  if (width === undefined) throw new GraphBuildError(`toGatedModelProto: gated output ${describe(v)} is not a float tensor`);
  return [
    {
      name: shapeName, op_type: "Constant", domain: "", input: [], output: [shapeName],
      attribute: [{ name: "value", type: ATTR_TENSOR, t: { dims: [dims.length], data_type: ONNX_DATA_TYPE.int64, raw_data: shapeBytes } }],
    },
    {
      name: `${v.name}/else`, op_type: "ConstantOfShape", domain: "", input: [shapeName], output: [`${v.name}/else`],
      attribute: [{ name: "value", type: ATTR_TENSOR, t: { dims: [1], data_type: ONNX_DATA_TYPE[v.dtype as keyof typeof ONNX_DATA_TYPE], raw_data: fill.subarray(0, width) } }],
    },
  ];
}

const RECOMPUTED = "/recomputed";

/**
 * Forward values the branch should recompute, as clones of their nodes (keyed by the value's name): a value
 * qualifies when its node's type is listed and the new outer values the clone reads are no larger than the value
 * itself (graph inputs and initializers cost nothing; values the branch reads anyway cost nothing). Repeats until
 * nothing changes, so chains (Where ← Mul ← Mul ← Sigmoid) fold back to the values that must stay.
 */
function rematerialize(graph: Graph, nodes: readonly NodeMsg[], producer: ReadonlyMap<string, number>, branch: readonly NodeMsg[], types: ReadonlySet<string>): Map<string, NodeMsg> {
  const cloned = new Map<string, NodeMsg>();
  if (types.size === 0) return cloned;
  const values = new Map<string, Value>();
  for (const v of graph.inputs) values.set(v.name, v);
  for (const n of graph.nodes) for (const o of n.outputs) values.set(o.name, o);
  const free = (name: string): boolean => name === "" || !producer.has(name) || cloned.has(name);
  const inside = new Set(branch.flatMap((n) => n.output));
  const outerReads = (): Set<string> => {
    const reads = new Set<string>();
    for (const n of [...branch, ...cloned.values()]) for (const x of n.input) if (!inside.has(x) && !free(x)) reads.add(x);
    return reads;
  };
  for (let changed = true; changed; ) {
    changed = false;
    const reads = outerReads();
    for (const name of reads) {
      const node = nodes[producer.get(name)!]!;
      const v = values.get(name);
      if (!types.has(node.op_type ?? "") || node.output.length !== 1 || v === undefined) continue;
      const added = node.input.filter((x) => !free(x) && !reads.has(x));
      if (!added.every((x) => { const a = values.get(x); return a !== undefined && notLarger(a, v); })) continue;
      cloned.set(name, { ...node, name: `${node.name ?? name}${RECOMPUTED}`, output: [`${name}${RECOMPUTED}`] });
      changed = true;
      break; // the outer reads changed; recount them
    }
  }
  for (const clone of cloned.values()) clone.input = clone.input.map((x) => (cloned.has(x) ? `${x}${RECOMPUTED}` : x));
  return cloned;
}

/** The branch with each recomputed value's clone placed just before its first reader (so it is born late). */
function withClones(branch: readonly NodeMsg[], cloned: ReadonlyMap<string, NodeMsg>): NodeMsg[] {
  const out: NodeMsg[] = [];
  const placed = new Set<string>();
  const place = (name: string): void => {
    const clone = cloned.get(name);
    if (clone === undefined || placed.has(name)) return;
    placed.add(name);
    for (const x of clone.input) place(x.endsWith(RECOMPUTED) ? x.slice(0, -RECOMPUTED.length) : x);
    out.push(clone);
  };
  for (const n of branch) {
    for (const x of n.input) place(x);
    out.push(cloned.size === 0 ? n : { ...n, input: n.input.map((x) => (cloned.has(x) ? `${x}${RECOMPUTED}` : x)) });
  }
  return out;
}

/** a takes no more bytes than b: equal symbolic dims cancel and the static rest compares; small static a is free. */
function notLarger(a: Value, b: Value): boolean {
  const symbols = (v: Value) => v.shape.filter((d): d is string => typeof d === "string").sort().join(",");
  const fixed = (v: Value) => v.shape.reduce<number>((p, d) => p * (typeof d === "number" ? d : 1), 1);
  const width = (v: Value) => ({ bool: 1, uint8: 1, int8: 1, float16: 2, bfloat16: 2, float32: 4, int32: 4, int64: 8, float64: 8 })[v.dtype as string] ?? 8;
  if (symbols(a) === "" && fixed(a) * width(a) <= 4096) return true; // a constant scalar or the like
  return symbols(a) === symbols(b) && fixed(a) * width(a) <= fixed(b) * width(b);
}
