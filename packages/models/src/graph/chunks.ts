// Long inputs: the MLP's [B, T, intermediate] activations are the largest tensors of a layer (3 × 637 MB at 32k
// tokens for a 0.5B model), so the MLP runs over sequence chunks of `chunkTokens`, or of ⌈T / maxChunks⌉ when T needs
// more than maxChunks of them (no last chunk takes an unbounded rest). ORT executes the chunk chains one after
// another, so only one chunk's activations are alive at a time (probed: 2.2 GB → 0.46 GB).
// Inputs of up to `chunkTokens` leave every chunk but the first empty, which costs a few empty kernel calls.
import { add, concat, constant, div, max2, min2, mul, reshape, shape, slice, type Dim, type Graph, type Value } from "@dembed/onnx";
import type { LinearHook } from "./build.js";

/**
 * Chunks per MLP, and the default tokens per chunk (longer inputs than MLP_CHUNKS × MLP_CHUNK_TOKENS widen them: 32k
 * tokens run in chunks of 4096). 1024 rather than 4096: on the 7B shape at 1 × 8192, int8 peaked at 9.67 GiB instead
 * of 10.26, and was not slower (big-model.ts --mlp-chunk, back to back; packages/models/README.md).
 */
export const MLP_CHUNKS = 8;
export const MLP_CHUNK_TOKENS = 1024;

/** Tokens in the widest MLP chunk of a length-`length` sequence: what inSequenceChunks cuts. */
export function mlpChunkLength(length: number, chunkTokens = MLP_CHUNK_TOKENS, maxChunks = MLP_CHUNKS): number {
  return chunkTokens > 0 ? Math.min(length, Math.max(chunkTokens, Math.ceil(length / maxChunks))) : length;
}

/**
 * Applies `block` to `x` [B, T, H] in sequence chunks of S = max(C, ⌈T / maxChunks⌉) tokens: chunk i covers
 * [min(T, i·S), min(T, (i+1)·S)). So a chunk holds C tokens until T needs more than maxChunks of them.
 */
export function inSequenceChunks(x: Value, chunkTokens: number, maxChunks: number, block: (chunk: Value, index: number) => Value): Value {
  const graph = x.graph;
  const length = shape(x, { start: 1, end: 2 }); // [1] int64: T
  const step = max2(constant(graph, [chunkTokens], { dtype: "int64", dims: [1] }), div(add(length, maxChunks - 1), maxChunks));
  const bound = (i: number): Value =>
    i === 0 ? constant(graph, [0], { dtype: "int64", dims: [1] }) : i === maxChunks ? length : min2(length, mul(step, i));
  const outputs: Value[] = [];
  for (let i = 0; i < maxChunks; i++) {
    outputs.push(graph.scope(`chunk${i}`, () => block(slice(x, { starts: bound(i), ends: bound(i + 1), axes: [1] }), i)));
  }
  return reshape(concat(outputs, 1), shape(x)); // [B, T, H]
}

/**
 * A linear hook that the caller's hook sees once per module path, as its contract says, even when the module is
 * applied to several chunks: the first application runs the hook and records the nodes it added; later ones replay
 * those nodes with the chunk's x and y in place of the first's. Nodes that do not read x or y (an adapter's weights,
 * casts of them) are shared, not copied.
 */
export function replayingHook(hook: LinearHook): LinearHook {
  const recorded = new Map<string, { x: Value; y: Value; result: Value; nodes: Graph["nodes"] }>();
  return (path, x, y) => {
    const first = recorded.get(path);
    if (!first || first.x.graph !== x.graph) {
      const start = x.graph.nodes.length;
      const result = hook(path, x, y);
      recorded.set(path, { x, y, result, nodes: x.graph.nodes.slice(start) });
      return result;
    }
    const mapped = new Map<Value, Value>([[first.x, x], [first.y, y]]);
    // The recorded nodes' shapes name the first chunk's length; the copies must name this chunk's.
    const dims = new Map<Dim, Dim>();
    for (const [a, b] of [[first.x, x], [first.y, y]] as const) a.shape.forEach((d, i) => d !== b.shape[i] && dims.set(d, b.shape[i]!));
    for (const node of first.nodes) {
      if (!node.inputs.some((v) => v && mapped.has(v))) continue;
      const outputs = x.graph.addNode(
        node.opType,
        node.inputs.map((v) => (v ? (mapped.get(v) ?? v) : null)),
        node.attrs,
        node.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape.map((d) => dims.get(d) ?? d) })),
        { domain: node.domain, name: node.name.split("/").pop() },
      );
      node.outputs.forEach((o, i) => mapped.set(o, outputs[i]!));
    }
    return mapped.get(first.result) ?? first.result;
  };
}
