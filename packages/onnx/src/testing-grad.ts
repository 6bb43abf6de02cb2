// Finite-difference gradient checker. It builds the graph twice from the same `build` callback: forward only (run
// at x ± eps for each checked entry) and forward + vjp (run once). The scalar it differentiates is
// L = Σ_outputs Σ r ⊙ y with fixed random weights r, so every output entry takes part without a scalar loss op.
// Re-exported by testing.ts (type-only import below, so the two modules do not load each other at run time).
import { Graph, GraphBuildError, type Value } from "./graph.js";
import { vjp } from "./autodiff/engine.js";
import { createSession, type Session } from "./session.js";
import type { Tensor } from "./tensor.js";
import type { TestInput } from "./testing.js";
import { seeded } from "./seeded.js";

/** A fed input: dtype, dims, data, and optionally the (symbolic) shape the graph declares for it. */
export type GradCheckInput = TestInput;

export interface GradCheckOptions<K extends string = string> {
  /** Names of the float32/float64 inputs to differentiate. */
  readonly wrt: readonly K[];
  /** Central-difference step. Default 1e-6 for float64, 1e-2 for float32. */
  readonly eps?: number;
  /**
   * An entry passes when |analytic − numeric| ≤ tol·(|numeric| + rms), rms being the root mean square of the numeric
   * gradient over the checked entries of that input (so near-zero entries are judged on the tensor's scale).
   * Default 1e-6 for float64, 1e-3 for float32.
   */
  readonly tol?: number;
  /** At most this many entries per wrt input are checked, chosen with a fixed seed; default 48. */
  readonly samples?: number;
  readonly seed?: number;
}

export interface GradCheckResult {
  /** Entries compared, over all wrt inputs. */
  readonly checked: number;
  /** Largest |analytic − numeric| / (|numeric| + rms) seen. */
  readonly maxError: number;
  /** One line per failing entry (at most 10), empty when the check passes. */
  readonly failures: readonly string[];
  readonly summary: string;
}

export type GradCheckBuild<K extends string = string> = (graph: Graph, inputs: Readonly<Record<K, Value>>) => Value | readonly Value[];

/**
 * Compares vjp's gradient of the graph `build` makes against central differences, for the inputs named in `wrt`.
 * Inputs are fed as given; every output takes part through L = Σ r ⊙ y.
 */
export async function checkGradient<K extends string>(
  build: GradCheckBuild<K>,
  inputs: Readonly<Record<K, GradCheckInput>>,
  opts: GradCheckOptions<NoInfer<K>>,
): Promise<GradCheckResult> {
  return check(build as GradCheckBuild, inputs, opts);
}

async function check(
  build: GradCheckBuild,
  inputs: Readonly<Record<string, GradCheckInput>>,
  opts: GradCheckOptions,
): Promise<GradCheckResult> {
  for (const name of opts.wrt) {
    const t = inputs[name];
    if (!t) throw new GraphBuildError(`checkGradient: wrt '${name}' is not among the inputs (${Object.keys(inputs).join(", ")})`);
    if (t.dtype !== "float32" && t.dtype !== "float64") {
      throw new GraphBuildError(`checkGradient: wrt '${name}' is ${t.dtype}; finite differences need float32 or float64`);
    }
  }
  const precise = opts.wrt.every((n) => inputs[n]!.dtype === "float64");
  const eps = opts.eps ?? (precise ? 1e-6 : 1e-2);
  const tol = opts.tol ?? (precise ? 1e-6 : 1e-3);
  const random = seeded(opts.seed ?? 1234);

  const forward = new Graph("gradcheck_forward");
  const outputs = declare(forward, build, inputs);
  outputs.forEach((y, i) => forward.output(y, `y${i}`));
  const fwd = await createSession(forward, { threads: 1 });
  try {
    const base = await runForward(fwd, inputs, outputs.length);
    const weights = base.map((y) => Float64Array.from({ length: y.data.length }, () => 2 * random() - 1));
    const analytic = await runBackward(build, inputs, opts.wrt, weights, base);
    const loss = async (feeds: Readonly<Record<string, GradCheckInput>>): Promise<number> => {
      const ys = await runForward(fwd, feeds, outputs.length);
      let sum = 0;
      ys.forEach((y, o) => (y.data as Float32Array).forEach((v, j) => (sum += v * weights[o]![j]!)));
      return sum;
    };

    let checked = 0;
    let failing = 0;
    let maxError = 0;
    const failures: string[] = [];
    for (const name of opts.wrt) {
      const t = inputs[name]!;
      const got = analytic.get(name)!;
      const entries = pick(t.data.length, opts.samples ?? 48, random);
      const numeric: number[] = [];
      for (const j of entries) {
        const x = Number(t.data[j]);
        const plus = perturbed(t, j, x + eps);
        const minus = perturbed(t, j, x - eps);
        const step = Number(plus.data[j]) - Number(minus.data[j]); // the step the dtype could actually represent
        numeric.push(((await loss({ ...inputs, [name]: plus })) - (await loss({ ...inputs, [name]: minus }))) / step);
      }
      const rms = Math.sqrt(numeric.reduce((s, n) => s + n * n, 0) / Math.max(1, numeric.length)) || Number.MIN_VALUE;
      entries.forEach((j, k) => {
        const a = got[j]!;
        const n = numeric[k]!;
        const err = Math.abs(a - n) / (Math.abs(n) + rms);
        checked++;
        if (!(err <= tol)) {
          failing++;
          if (failures.length < 10) failures.push(`${name}[${unravel(j, t.dims)}]: analytic ${a}, numeric ${n} (error ${err.toExponential(2)} > ${tol})`);
        }
        maxError = Math.max(maxError, Number.isNaN(err) ? Infinity : err);
      });
    }
    const head = `${checked} entries of ${opts.wrt.join(", ")}: max error ${maxError.toExponential(2)} (tol ${tol}, eps ${eps})`;
    const summary = failing ? `${head}, ${failing} failing:\n${failures.join("\n")}` : head;
    return { checked, maxError, failures, summary };
  } finally {
    await fwd.release();
  }
}

function declare(graph: Graph, build: GradCheckBuild, inputs: Readonly<Record<string, GradCheckInput>>): Value[] {
  const values: Record<string, Value> = {};
  for (const [name, t] of Object.entries(inputs)) values[name] = graph.input(name, t.dtype, t.shape ?? t.dims);
  const out = build(graph, values);
  const list = Array.isArray(out) ? [...(out as readonly Value[])] : [out as Value];
  for (const y of list) {
    if (y.dtype !== "float32" && y.dtype !== "float64") throw new GraphBuildError(`checkGradient: output ${y.name} is ${y.dtype}, not float32/float64`);
  }
  return list;
}

async function runForward(session: Session, inputs: Readonly<Record<string, GradCheckInput>>, count: number): Promise<Tensor[]> {
  const result = await session.run(inputs);
  return Array.from({ length: count }, (_, i) => result[`y${i}`]!);
}

/** Runs forward + vjp once, seeded with the weights r, and returns each wrt's gradient as float64. */
async function runBackward(
  build: GradCheckBuild,
  inputs: Readonly<Record<string, GradCheckInput>>,
  wrt: readonly string[],
  weights: readonly Float64Array[],
  base: readonly Tensor[],
): Promise<Map<string, Float64Array>> {
  const graph = new Graph("gradcheck_backward");
  const outputs = declare(graph, build, inputs);
  const seeds = outputs.map((y, i) => graph.input(`seed${i}`, y.dtype, y.shape));
  const byName = new Map(graph.inputs.map((v) => [v.name, v]));
  const grads = vjp(graph, outputs, wrt.map((n) => byName.get(n)!), { seeds });
  grads.forEach((g, i) => graph.output(g, `grad${i}`));
  const session = await createSession(graph, { threads: 1 });
  try {
    const feeds: Record<string, Tensor> = { ...inputs };
    outputs.forEach((y, i) => {
      const data = y.dtype === "float64" ? Float64Array.from(weights[i]!) : Float32Array.from(weights[i]!);
      feeds[`seed${i}`] = { dtype: y.dtype, dims: base[i]!.dims, data };
    });
    const result = await session.run(feeds);
    return new Map(wrt.map((name, i) => {
      const t = result[`grad${i}`]!;
      const want = inputs[name]!.dims;
      if (t.dims.length !== want.length || t.dims.some((d, k) => d !== want[k])) {
        throw new GraphBuildError(`checkGradient: gradient of '${name}' has dims [${t.dims}] at run time, expected [${want}]`);
      }
      return [name, Float64Array.from(t.data as Float32Array)];
    }));
  } finally {
    await session.release();
  }
}

function perturbed(t: GradCheckInput, j: number, value: number): GradCheckInput {
  const data = (t.data as Float32Array).slice();
  data[j] = value;
  return { ...t, data };
}

/** All indices when there are few, else `count` distinct ones drawn with the seeded generator. */
function pick(length: number, count: number, random: () => number): number[] {
  if (length <= count) return [...Array(length).keys()];
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * length));
  return [...chosen].sort((a, b) => a - b);
}

const unravel = (j: number, dims: readonly number[]): string => {
  const idx: number[] = [];
  for (let k = dims.length - 1; k >= 0; k--) {
    idx.unshift(j % dims[k]!);
    j = Math.floor(j / dims[k]!);
  }
  return idx.join(",");
};

