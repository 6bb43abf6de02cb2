// Control flow: ONNX Scan, for running one block over slices of a tensor. Forward only (no VJP rule).
import { GraphBuildError, type Dim, type Value } from "../graph.js";
import { OpCheck } from "./core.js";

export interface ScanOptions {
  /** Axis of each input that is sliced (default 0). */
  inputAxes?: readonly number[];
  /** Axis of each output the slices are stacked along (default 0). */
  outputAxes?: readonly number[];
}

/**
 * ONNX Scan with scan inputs only (no state carried between iterations): `body` gets one slice of each input along
 * its axis and returns one slice of each output; Scan stacks them. Unlike a loop unrolled into the graph, the body's
 * nodes exist once, so a kernel pre-packs a weight the body reads once, not once per slice.
 */
export function scan(inputs: readonly Value[], body: (...slices: Value[]) => readonly Value[], options: ScanOptions = {}): Value[] {
  if (inputs.length === 0) throw new GraphBuildError("Scan: needs at least one scan input");
  const c = new OpCheck("Scan", inputs[0]!.graph, inputs.map((v, i) => [`input ${i}`, v] as const));
  const inputAxes = inputs.map((v, i) => c.axis(options.inputAxes?.[i] ?? 0, v.rank, `input ${i}'s scan axis`));
  const count: Dim = inputs[0]!.shape[inputAxes[0]!]!;
  inputs.forEach((v, i) => c.sameDim(`input ${i}'s scan axis differs from input 0's`, v.shape[inputAxes[i]!]!, count));
  // The body belongs to the innermost graph among the inputs', where the node itself goes.
  const graph = inputs.reduce((g, v) => (v.graph.sees(g) ? v.graph : g), inputs[0]!.graph).subgraph("scan_body");
  const slices = inputs.map((v, i) => graph.bodyInput(`slice${i}`, v.dtype, v.shape.filter((_, a) => a !== inputAxes[i])));
  const results = body(...slices);
  if (results.length === 0) c.fail("the body returned no outputs");
  // A body output that is an outer value, or a body input, still needs a node of the body to name it.
  for (const r of results) graph.output(r.graph === graph && r.producer ? r : graph.addNode("Identity", [r], {}, [{ dtype: r.dtype, shape: r.shape }], { name: "Identity" })[0]!);
  const outputAxes = results.map((r, i) => c.axis(options.outputAxes?.[i] ?? 0, r.rank + 1, `output ${i}'s stacking axis`));
  const attrs = { body: graph, num_scan_inputs: inputs.length, scan_input_axes: inputAxes, scan_output_axes: outputAxes };
  const outputs = results.map((r, i) => ({ dtype: r.dtype, shape: [...r.shape.slice(0, outputAxes[i]), count, ...r.shape.slice(outputAxes[i])] }));
  const stacked = c.emit(inputs, attrs, outputs);
  graph.seal(stacked[0]!.producer!.name);
  return stacked;
}
