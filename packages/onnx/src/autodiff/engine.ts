// Reverse-mode autodiff over a built Graph: find the nodes between `wrt` and `outputs`, walk them in reverse build
// order (which is a topological order: a node is added after its inputs exist), apply each op's VJP rule from the
// table in rules.ts, undo broadcasting by summing, and accumulate gradients of shared values with Add.
import { GraphBuildError, describe, isFloat, type Graph, type Node, type Value } from "../graph.js";
import { add, reduceSum } from "../ops/index.js";
import { RULES, type Grad, type RuleContext } from "./rules.js";
import { attrReader, constInts, fill, retag, sameShape } from "./util.js";

export interface VjpOptions {
  /**
   * Upstream gradients, one per output, with the output's dtype and shape (GradCache passes dLoss/dEmbedding as a
   * graph input here). Without seeds every output must hold exactly one element and is seeded with 1.
   */
  readonly seeds?: readonly Value[];
}

/**
 * Appends backward nodes to `graph` and returns d(Σ seedᵢ·outputᵢ)/d(wrtⱼ) for each `wrt`, with wrt's dtype and shape.
 *
 * Only nodes on a path from a `wrt` to an output get backward nodes, and a rule builds the gradient of an input only
 * when that input lies on such a path (so frozen weights cost nothing). Integer and bool values (ids, masks, shapes,
 * indices) carry no gradient. A `wrt` with no differentiable path to any output is an error (not silent zeros): it is
 * almost always a wiring mistake, e.g. a LoRA tensor that never joined the forward.
 */
export function vjp(graph: Graph, outputs: readonly Value[], wrt: readonly Value[], opts: VjpOptions = {}): Value[] {
  checkArguments(graph, outputs, wrt, opts.seeds);
  const onPath = findPath(graph, outputs, wrt);
  for (const w of wrt) {
    if (!onPath.has(w)) {
      throw new GraphBuildError(
        `vjp: ${describe(w)} has no differentiable path to any output (${outputs.map((o) => o.name).join(", ")})`,
      );
    }
  }

  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, g: Value): void => {
    const prev = grads.get(v);
    grads.set(v, prev ? add(prev, g) : g);
  };
  graph.scope("grad", () => outputs.forEach((o, i) => accumulate(o, opts.seeds?.[i] ?? fill(o, 1))));

  for (let n = graph.nodes.length - 1; n >= 0; n--) {
    const node = graph.nodes[n]!;
    if (!node.outputs.some((o) => grads.has(o))) continue;
    const needed = node.inputs.map((v) => v !== null && onPath.has(v));
    if (!needed.some(Boolean)) continue;
    const rule = node.domain === (node.opType === "FusedMatMul" ? "com.microsoft" : "")
      ? (RULES as Partial<Record<string, (c: RuleContext) => readonly Grad[]>>)[node.opType]
      : undefined;
    if (!rule) {
      throw new GraphBuildError(
        `vjp: no VJP rule for op '${node.domain ? `${node.domain}.` : ""}${node.opType}' (node '${node.name}'), which lies between ${wrtNames(graph, node, wrt)} and the outputs`,
      );
    }
    graph.scope(`grad/${node.name}`, () => {
      const thunks = rule(ruleContext(graph, node, grads));
      node.inputs.forEach((x, i) => {
        if (!x || !needed[i]) return;
        const thunk = thunks[i];
        if (!thunk) {
          throw new GraphBuildError(
            `vjp: op '${node.opType}' (node '${node.name}') is not differentiable w.r.t. input ${i} (${describe(x)}), which depends on ${wrtNames(graph, node, wrt)}`,
          );
        }
        accumulate(x, fitTo(thunk(), x, node));
      });
    });
  }
  return wrt.map((w) => grads.get(w)!);
}

function checkArguments(graph: Graph, outputs: readonly Value[], wrt: readonly Value[], seeds?: readonly Value[]): void {
  if (outputs.length === 0) throw new GraphBuildError("vjp: no outputs given");
  if (wrt.length === 0) throw new GraphBuildError("vjp: no wrt values given");
  for (const v of [...outputs, ...wrt, ...(seeds ?? [])]) {
    if (v.graph !== graph) throw new GraphBuildError(`vjp: ${describe(v)} belongs to another graph`);
    if (!isFloat(v.dtype)) throw new GraphBuildError(`vjp: ${describe(v)} is not a float tensor, so it has no gradient`);
  }
  if (new Set(wrt).size !== wrt.length) throw new GraphBuildError("vjp: a wrt value is listed twice");
  if (seeds) {
    if (seeds.length !== outputs.length) {
      throw new GraphBuildError(`vjp: ${seeds.length} seeds for ${outputs.length} outputs`);
    }
    seeds.forEach((s, i) => {
      const o = outputs[i]!;
      if (s.dtype !== o.dtype || !sameShape(s.shape, o.shape)) {
        throw new GraphBuildError(`vjp: seed ${describe(s)} does not match output ${describe(o)} (dtype and shape must agree)`);
      }
    });
  } else {
    for (const o of outputs) {
      if (!o.shape.every((d) => d === 1)) {
        throw new GraphBuildError(`vjp: output ${describe(o)} is not a one-element tensor; pass opts.seeds for it`);
      }
    }
  }
}

/** Float values that depend on some wrt AND reach some output through float values. */
function findPath(graph: Graph, outputs: readonly Value[], wrt: readonly Value[]): Set<Value> {
  const depends = dependents(graph, wrt);
  const onPath = new Set<Value>(outputs.filter((o) => depends.has(o)));
  for (let n = graph.nodes.length - 1; n >= 0; n--) {
    const node = graph.nodes[n]!;
    if (!node.outputs.some((y) => onPath.has(y))) continue;
    for (const x of node.inputs) if (x && depends.has(x)) onPath.add(x);
  }
  return onPath;
}

/** `from` and the float values computed from them (integer and bool values carry no gradient). */
function dependents(graph: Graph, from: readonly Value[]): Set<Value> {
  const out = new Set<Value>(from);
  for (const node of graph.nodes) {
    if (!node.inputs.some((x) => x && out.has(x))) continue;
    for (const y of node.outputs) if (isFloat(y.dtype)) out.add(y);
  }
  return out;
}

/** For error messages: which wrt values feed `node` (one dependency pass per wrt, run only when failing). */
function wrtNames(graph: Graph, node: Node, wrt: readonly Value[]): string {
  const feeds = wrt.filter((w) => {
    const d = dependents(graph, [w]);
    return node.inputs.some((x) => x && d.has(x));
  });
  return feeds.map((w) => `'${w.name}'`).join(", ");
}

/**
 * Brings a rule's gradient back to x's shape: sums the leading axes a broadcast added and the axes where x had a
 * literal 1 (the op contract only lets fixed 1s and missing leading axes broadcast), then, if the shape labels still
 * differ (a runtime Reshape/Expand leaves unnamed dims), re-labels it with x's shape through an Identity.
 */
function fitTo(g: Value, x: Value, node: Node): Value {
  if (g.dtype !== x.dtype) {
    throw new GraphBuildError(`vjp: rule for '${node.opType}' (node '${node.name}') gave ${describe(g)} for ${describe(x)}`);
  }
  const extra = g.rank - x.rank;
  if (extra < 0) {
    throw new GraphBuildError(`vjp: rule for '${node.opType}' (node '${node.name}') gave ${describe(g)}, of lower rank than ${describe(x)}`);
  }
  let out = g;
  if (extra > 0) out = reduceSum(out, [...Array(extra).keys()], { keepdims: false });
  const ones = x.shape.flatMap((d, i) => (d === 1 && out.shape[i] !== 1 ? [i] : []));
  if (ones.length > 0) out = reduceSum(out, ones, { keepdims: true });
  return sameShape(out.shape, x.shape) ? out : retag(out, x.shape);
}

/** What a rule sees of its node; `g` is the upstream gradient of output 0 (zeros when only other outputs got one). */
function ruleContext(graph: Graph, node: Node, grads: Map<Value, Value>): RuleContext {
  const gs = node.outputs.map((y) => grads.get(y) ?? null);
  const attr = attrReader(node);
  let g0: Value | undefined;
  return {
    graph,
    node,
    x: node.inputs as RuleContext["x"],
    y: node.outputs as unknown as RuleContext["y"],
    gs,
    get g() {
      return (g0 ??= gs[0] ?? fill(node.outputs[0]!, 0));
    },
    opt: (i) => node.inputs[i] ?? null,
    constInts: (i) => {
      const v = node.inputs[i];
      return v ? constInts(v) : undefined;
    },
    ...attr,
  };
}
