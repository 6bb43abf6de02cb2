// Test helpers: checkForward runs a graph in onnxruntime and compares every output with a naive TypeScript
// reference (the autodiff's checkGradient in testing-grad.ts is its sibling). Not part of the public index.
import { Graph, GraphBuildError, type DType, type Shape, type TensorData, type Value } from "./graph.js";
import { createSession, type SessionOptions } from "./session.js";
import { numberAt, type Tensor } from "./tensor.js";
export {
  checkGradient, type GradCheckBuild, type GradCheckInput, type GradCheckOptions, type GradCheckResult,
} from "./testing-grad.js";

export interface TestInput {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
  /** The shape the graph declares (e.g. symbolic ["batch", "seq"]); defaults to `dims`. */
  readonly shape?: Shape;
}

export interface ForwardCheckOptions {
  /** |got − want| ≤ atol + rtol·|want| per element. Defaults: 1e-5 / 1e-4 (float32), 1e-12 / 1e-10 (float64), 0 for ints. */
  atol?: number;
  rtol?: number;
  session?: SessionOptions;
}

export type ForwardBuild<K extends string> = (graph: Graph, inputs: Readonly<Record<K, Value>>) => Value | readonly Value[];
export type ForwardReference<K extends string> = (inputs: Readonly<Record<K, Tensor>>) => Tensor | readonly Tensor[];

export interface ForwardCheckResult {
  /** ORT's outputs, in build order. */
  readonly outputs: readonly Tensor[];
  /** The graph that ran (tests inspect its nodes and value shapes). */
  readonly graph: Graph;
  readonly graphOutputs: readonly Value[];
}

/**
 * Builds the graph, runs it in ORT on `inputs`, and throws (naming output, index, both values) unless every output
 * matches the reference in dtype, dims and values, and the static shape the builder inferred agrees with ORT's.
 */
export async function checkForward<K extends string>(
  build: ForwardBuild<K>,
  inputs: Readonly<Record<K, TestInput>>,
  reference: ForwardReference<K>,
  options: ForwardCheckOptions = {},
): Promise<ForwardCheckResult> {
  const graph = new Graph("check_forward");
  const values = {} as Record<K, Value>;
  for (const [name, t] of Object.entries(inputs) as [K, TestInput][]) values[name] = graph.input(name, t.dtype, t.shape ?? t.dims);
  const built = build(graph, values);
  const outs = Array.isArray(built) ? [...(built as readonly Value[])] : [built as Value];
  outs.forEach((y, i) => graph.output(y, `out${i}`));
  const session = await createSession(graph, { threads: 1, ...options.session });
  let got: Record<string, Tensor>;
  try {
    got = await session.run(Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, t as Tensor])));
  } finally {
    await session.release();
  }
  const tensors = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, t])) as Record<K, Tensor>;
  const wantRaw = reference(tensors);
  const want = Array.isArray(wantRaw) ? (wantRaw as readonly Tensor[]) : [wantRaw as Tensor];
  if (want.length !== outs.length) throw new GraphBuildError(`checkForward: ${outs.length} outputs built, ${want.length} in the reference`);
  const outputs = outs.map((_, i) => got[`out${i}`]!);
  outputs.forEach((g, i) => compare(`out${i} (${outs[i]!.name})`, g, want[i]!, outs[i]!.shape, options));
  return { outputs, graph, graphOutputs: outs };
}

function compare(label: string, got: Tensor, want: Tensor, inferred: Shape, options: ForwardCheckOptions): void {
  const fail = (why: string): never => {
    throw new Error(`checkForward: ${label}: ${why}`);
  };
  if (got.dtype !== want.dtype) fail(`dtype ${got.dtype}, reference ${want.dtype}`);
  if (got.dims.join(",") !== want.dims.join(",")) fail(`dims [${got.dims.join(",")}], reference [${want.dims.join(",")}]`);
  if (inferred.length !== got.dims.length) fail(`builder inferred rank ${inferred.length} [${inferred.join(",")}], ORT gave [${got.dims.join(",")}]`);
  inferred.forEach((d, i) => {
    if (typeof d === "number" && d !== got.dims[i]) fail(`builder inferred [${inferred.join(",")}], ORT gave [${got.dims.join(",")}]`);
  });
  const float = got.dtype.startsWith("float") || got.dtype === "bfloat16";
  const wide = got.dtype === "float64";
  const atol = options.atol ?? (!float ? 0 : wide ? 1e-12 : got.dtype === "float32" ? 1e-5 : 1e-2);
  const rtol = options.rtol ?? (!float ? 0 : wide ? 1e-10 : got.dtype === "float32" ? 1e-4 : 1e-2);
  for (let i = 0; i < got.data.length; i++) {
    const g = numberAt(got.dtype, got.data, i);
    const w = numberAt(want.dtype, want.data, i);
    const same = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!same) fail(`element ${i} (of ${got.data.length}) is ${g}, reference ${w} (atol ${atol}, rtol ${rtol})`);
  }
}

export { seeded } from "./seeded.js";

export function randomInput(random: () => number, dtype: "float32" | "float64", dims: readonly number[], lo = -1, hi = 1): TestInput {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, () => lo + (hi - lo) * random());
  return { dtype, dims, data: dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values) };
}
