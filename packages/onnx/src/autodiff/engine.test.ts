// The engine's contract: which nodes get backward nodes, accumulation, skipping of non-differentiable inputs, seeds,
// and the errors for graphs it cannot differentiate.
import { describe, expect, it } from "vitest";
import { Graph, GraphBuildError, type Value } from "../graph.js";
import * as op from "../ops/index.js";
import { OP_TYPES } from "../ops/index.js";
import { createSession } from "../session.js";
import { checkGradient, seeded, type GradCheckInput } from "../testing.js";
import { vjp } from "./engine.js";
import { FORWARD_ONLY, NO_GRADIENT, RULES } from "./rules.js";

const random = seeded(42);
const f64 = (dims: number[]): GradCheckInput => ({
  dtype: "float64", dims, data: Float64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1),
});

describe("vjp", () => {
  it("builds gradients only for inputs on a path from wrt to the outputs (a frozen weight costs nothing)", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["batch", 3]);
    const b = g.input("b", "float32", [4]);
    const w = g.initializer("w", "float32", [4, 3], new Float32Array(12));
    const loss = op.reduceSum(op.linear(x, w, b), [], { keepdims: false });
    const before = g.nodes.length;
    vjp(g, [loss], [x]);
    const backward = g.nodes.slice(before);
    // dx = g·W is the only product; nothing computes dW (it needs x) or db.
    expect(backward.filter((n) => n.opType === "MatMul" || n.opType === "FusedMatMul")).toHaveLength(1);
    expect(backward.some((n) => n.inputs.includes(x))).toBe(false);
    expect(backward.every((n) => n.name.startsWith("grad"))).toBe(true);
  });

  it("accumulates the gradients of a value used several times", async () => {
    // y = x·x + exp(x) + x[broadcast]: three uses of x, one through broadcasting.
    const r = await checkGradient(
      (_, { x, y }) => op.add(op.add(op.mul(x, x), op.exp(x)), op.mul(x, y)),
      { x: f64([3]), y: f64([2, 3]) },
      { wrt: ["x"] },
    );
    expect(r.failures, r.summary).toEqual([]);
  });

  it("skips ids, masks and shapes, and returns wrt-shaped gradients for symbolic shapes", () => {
    const g = new Graph();
    const table = g.input("table", "float32", ["vocab", 8]);
    const ids = g.input("ids", "int64", ["batch", "seq"]);
    const mask = g.input("mask", "float32", ["batch", "seq"]);
    const h = op.gather(table, ids); // [batch, seq, 8]
    const pooled = op.reduceSum(op.mul(h, op.unsqueeze(mask, [2])), [1], { keepdims: false }); // [batch, 8]
    const flat = op.reshape(pooled, op.shape(pooled)); // a runtime reshape leaves unnamed dims
    const loss = op.reduceSum(flat, [], { keepdims: false });
    const [dTable] = vjp(g, [loss], [table]);
    expect(dTable!.shape).toEqual(["vocab", 8]);
    expect(dTable!.dtype).toBe("float32");
  });

  it("seeds a one-element output with 1", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 2]);
    const y = op.reduceSum(op.mul(op.mul(x, x), 0.5), [0, 1]); // keepdims: [1, 1]
    const [dx] = vjp(g, [y], [x]);
    g.output(dx!, "dx");
    const session = await createSession(g, { threads: 1 });
    try {
      const out = await session.run({ x: { dtype: "float32", dims: [2, 2], data: Float32Array.from([1, -2, 3, 0.5]) } });
      expect(Array.from(out.dx!.data as Float32Array)).toEqual([1, -2, 3, 0.5]);
    } finally {
      await session.release();
    }
  });

  it("differentiates w.r.t. an intermediate value and an input upstream of it together", async () => {
    const g = new Graph();
    const x = g.input("x", "float64", [3]);
    const h = op.mul(x, 2);
    const y = op.reduceSum(op.mul(h, h), [0]); // y = Σ (2x)²: dy/dh = 2h, dy/dx = 8x
    const [dh, dx] = vjp(g, [y], [h, x]);
    g.output(dh!, "dh");
    g.output(dx!, "dx");
    const session = await createSession(g, { threads: 1 });
    try {
      const out = await session.run({ x: { dtype: "float64", dims: [3], data: Float64Array.from([1, -2, 0.5]) } });
      expect(Array.from(out.dh!.data as Float64Array)).toEqual([4, -8, 2]);
      expect(Array.from(out.dx!.data as Float64Array)).toEqual([8, -16, 4]);
    } finally {
      await session.release();
    }
  });

  it("rejects what it cannot differentiate, naming the value or node", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    const unused = g.input("unused", "float32", [3]);
    const y = op.reduceSum(op.mul(op.cast(op.greater(x, 0), "float32"), x), [], { keepdims: false });
    expect(() => vjp(g, [y], [unused])).toThrow(/unused float32\[3\] has no differentiable path/);
    expect(() => vjp(g, [op.mul(x, 2)], [x])).toThrow(/not a one-element tensor; pass opts.seeds/);
    const seed = g.input("seed", "float32", [3, 2]);
    expect(() => vjp(g, [op.mul(x, 2)], [x], { seeds: [seed] })).toThrow(/seed seed float32\[3,2\] does not match/);
    expect(() => vjp(g, [y], [op.cast(op.greater(x, 0), "float32"), x, x])).toThrow(/listed twice/);
    const ids = g.input("ids", "int64", [2]);
    expect(() => vjp(g, [y], [ids as Value])).toThrow(/not a float tensor/);

    const [sin] = g.addNode("Sin", [x], {}, [{ dtype: "float32", shape: [2, 3] }], { name: "my_sin" });
    const z = op.reduceSum(sin!, [], { keepdims: false });
    expect(() => vjp(g, [z], [x])).toThrow(/no VJP rule for op 'Sin' \(node 'my_sin'\), which lies between 'x' and the outputs/);
  });

  it("names the node of a rule that cannot handle its input", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 2, 3, 4]);
    const cos = g.input("cos", "float32", [3, 2]);
    const sin = g.input("sin", "float32", [3, 2]);
    const ids = g.input("ids", "int64", [1, 3]);
    const y = op.reduceSum(op.rotaryEmbedding(x, cos, sin, { positionIds: ids }), [], { keepdims: false });
    expect(() => vjp(g, [y], [cos])).toThrow(/op 'RotaryEmbedding' \(node 'RotaryEmbedding'\) is not differentiable w.r.t. input 1 \(cos/);
  });

  it("classifies every op type the op functions emit: a rule, no gradient, or forward only", () => {
    const classified = [...Object.keys(RULES), ...NO_GRADIENT, ...FORWARD_ONLY].sort();
    expect(classified).toEqual([...OP_TYPES].sort());
  });
});

describe("checkGradient", () => {
  it("fails on a wrong rule", async () => {
    const rules = RULES as Record<string, unknown>;
    const saved = rules.Exp;
    rules.Exp = RULES.Sigmoid; // a plausible-looking but wrong derivative
    try {
      const r = await checkGradient((_, { x }) => op.exp(x), { x: f64([2, 3]) }, { wrt: ["x"] });
      expect(r.failures.length).toBeGreaterThan(0);
      expect(r.maxError).toBeGreaterThan(1e-3);
    } finally {
      rules.Exp = saved;
    }
  });

  it("names a wrt that is not an input or not a float", async () => {
    const build = (_: Graph, v: Record<string, Value>) => op.mul(v.x!, 2);
    // @ts-expect-error: wrt names are checked against the inputs at compile time too
    await expect(checkGradient(build, { x: f64([2]) }, { wrt: ["y"] })).rejects.toThrow(/wrt 'y' is not among the inputs/);
    const ids: GradCheckInput = { dtype: "int64", dims: [1], data: BigInt64Array.of(1n) };
    await expect(checkGradient(build, { x: f64([2]), ids }, { wrt: ["ids"] })).rejects.toThrow(/'ids' is int64/);
  });
});
