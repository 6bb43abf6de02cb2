import { describe, expect, it } from "vitest";
import { Graph, GraphBuildError, allNodes } from "../graph.js";
import { createSession } from "../session.js";
import { toModelProto } from "../serialize.js";
import { add, mul } from "./elementwise.js";
import { linear } from "./matmul.js";
import { reduceSum } from "./reduce.js";
import { scan } from "./control.js";

describe("scan", () => {
  it("runs the body over slices along an axis, reading outer weights and values, and stacks the results", async () => {
    const g = new Graph("scan");
    const x = g.input("x", "float32", [2, 3, 4]); // [B, N, K]: 3 slices of [2, 4] along axis 1
    const w = g.initializer("w", "float32", [5, 4], Float32Array.from({ length: 20 }, (_, i) => (i % 7) - 3));
    const offset = reduceSum(x, [0, 1, 2], { keepdims: false }); // an outer computed value the body reads
    const [y, same] = scan([x], (slice) => [add(linear(slice, w), offset), slice], { inputAxes: [1], outputAxes: [1, 1] });
    expect(y!.shape).toEqual([2, 3, 5]);
    expect(same!.shape).toEqual([2, 3, 4]);
    g.output(y!, "y");
    g.output(same!, "same");
    // The body's nodes exist once, outside the root's list.
    expect(g.nodes.filter((n) => n.opType === "FusedMatMul")).toHaveLength(0);
    expect([...allNodes(g)].filter((n) => n.opType === "FusedMatMul")).toHaveLength(1);
    const xs = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const session = await createSession(g, { threads: 1 });
    try {
      const out = await session.run({ x: { dtype: "float32", dims: [2, 3, 4], data: xs } });
      const total = xs.reduce((a, b) => a + b, 0);
      const expected = new Float32Array(30);
      for (let b = 0; b < 2; b++) for (let n = 0; n < 3; n++) for (let o = 0; o < 5; o++) {
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += xs[(b * 3 + n) * 4 + k]! * ((o * 4 + k) % 7 - 3);
        expected[(b * 3 + n) * 5 + o] = sum + total;
      }
      expect(out.y!.dims).toEqual([2, 3, 5]);
      Array.from(out.y!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
      expect(Array.from(out.same!.data as Float32Array)).toEqual(Array.from(xs)); // a body input returned as is
    } finally {
      await session.release();
    }
  });

  it("stacks along axis 0 by default, and takes several inputs", async () => {
    const g = new Graph("scan0");
    const a = g.input("a", "float32", ["n", 2]);
    const b = g.input("b", "float32", ["n", 2]);
    const [y] = scan([a, b], (sa, sb) => [mul(sa, sb)]);
    g.output(y!, "y");
    const session = await createSession(g, { threads: 1 });
    try {
      const out = await session.run({ a: { dtype: "float32", dims: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, b: { dtype: "float32", dims: [3, 2], data: Float32Array.of(2, 2, 3, 3, 4, 4) } });
      expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4, 9, 12, 20, 24]);
    } finally {
      await session.release();
    }
  });

  it("nests: an inner body reads the outer body's values, whichever input comes first", async () => {
    const g = new Graph("nested");
    const x = g.input("x", "float32", [2, 3]);
    const w = g.input("w", "float32", [3]);
    const [y] = scan([x], (row) => scan([w, row], (wi, ri) => [mul(mul(wi, ri), reduceSum(row, [0], { keepdims: false }))]));
    g.output(y!, "y");
    const session = await createSession(g, { threads: 1 });
    try {
      const xs = Float32Array.of(1, 2, 3, 4, 5, 6);
      const out = await session.run({ x: { dtype: "float32", dims: [2, 3], data: xs }, w: { dtype: "float32", dims: [3], data: Float32Array.of(1, 10, 100) } });
      expect(Array.from(out.y!.data as Float32Array)).toEqual([6, 120, 1800, 60, 750, 9000]);
    } finally {
      await session.release();
    }
  });

  it("keeps names unique across the graph and its bodies, and lists the body's inputs in its GraphProto", () => {
    const g = new Graph("names");
    const x = g.input("x", "float32", [2, 3]);
    const [y] = scan([x], (s) => [mul(s, 2)]);
    const z = mul(y!, 3);
    g.output(z, "z");
    // The body's constant (the 2) is the root's: it does not change between iterations.
    const body = g.nodes.find((n) => n.opType === "Scan")!.attrs.body as Graph;
    expect(body.nodes.map((n) => n.opType)).toEqual(["Mul"]);
    expect(g.nodes.filter((n) => n.opType === "Constant")).toHaveLength(2);
    const names = [...allNodes(g)].flatMap((n) => [n.name, ...n.outputs.map((o) => o.name)]);
    expect(new Set(names).size).toBe(names.length);
    expect(() => toModelProto(g)).not.toThrow();
  });

  it("refuses inputs whose scan axes differ, and a body that returns nothing", () => {
    const g = new Graph("bad");
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [4, 3]);
    expect(() => scan([a, b], (sa, sb) => [add(sa, sb)])).toThrow(GraphBuildError);
    expect(() => scan([a, b], (sa, sb) => [add(sa, sb)])).toThrow(/input 1's scan axis differs from input 0's/);
    expect(() => scan([a], () => [])).toThrow(/the body returned no outputs/);
  });

  it("refuses a body's value outside the body once the Scan exists", () => {
    const g = new Graph("leak");
    const x = g.input("x", "float32", [2, 3]);
    let inner: ReturnType<typeof mul> | undefined;
    scan([x], (s) => [(inner = mul(s, 2))]);
    expect(() => add(inner!, x)).toThrow(/operand .* is a value inside the body of 'Scan', which is not visible outside it/);
  });

  it("has no gradient rule: vjp refuses it by name", async () => {
    const { vjp } = await import("../autodiff/index.js");
    const g = new Graph("grad");
    const x = g.input("x", "float32", [2, 3]);
    const [y] = scan([x], (s) => [mul(s, s)]);
    const loss = reduceSum(y!, [0, 1], { keepdims: false });
    expect(() => vjp(g, [loss], [x])).toThrow(/Scan/);
  });
});
