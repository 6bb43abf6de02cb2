// toGatedModelProto: the gated backward gives the same gradients as the plain graph when the gate is on, zeros when
// off, and a gate-off run executes no backward node.
import { describe, expect, it } from "vitest";
import { Graph, GraphBuildError, type Value } from "../graph.js";
import * as op from "../ops/index.js";
import { ModelProto } from "../proto/onnx-proto.js";
import { createSession } from "../session.js";
import { tensor } from "../tensor.js";
import { vjp } from "./engine.js";
import { toGatedModelProto } from "./gate.js";

/** y = tanh(x·Wᵀ)·Vᵀ with trainable W [3, 4] and V [2, 3]; gradients w.r.t. both for a seed dY. */
function build(): { g: Graph; gate: Value; grads: Value[]; y: Value } {
  const g = new Graph("gated");
  const x = g.input("x", "float32", ["batch", 4]);
  const w = g.input("w", "float32", [3, 4]);
  const v = g.input("v", "float32", [2, 3]);
  const y = g.output(op.linear(op.tanh(op.linear(x, w)), v), "y");
  const seed = g.input("dy", "float32", y.shape);
  const [dw, dv] = g.scope("vjp", () => vjp(g, [y], [w, v], { seeds: [seed] }));
  const grads = [g.output(dw!, "dw"), g.output(dv!, "dv")];
  const gate = g.input("with_grad", "bool", []);
  return { g, gate, grads, y };
}

const feeds = (on: boolean) => ({
  x: tensor("float32", [2, 4], [0.1, -0.2, 0.3, 0.4, 0.5, 0.6, -0.7, 0.8]),
  w: tensor("float32", [3, 4], Array.from({ length: 12 }, (_, i) => Math.sin(i))),
  v: tensor("float32", [2, 3], Array.from({ length: 6 }, (_, i) => Math.cos(i))),
  dy: tensor("float32", [2, 2], [1, -0.5, 0.25, 2]),
  with_grad: { dtype: "bool" as const, dims: [], data: new Uint8Array([on ? 1 : 0]) },
});

describe("toGatedModelProto", () => {
  it("matches the ungated graph with the gate on, gives zeros with it off, and keeps the forward outside the If", async () => {
    const { g, gate, grads } = build();
    const bytes = toGatedModelProto(g, { gate, gated: grads });
    const main = (ModelProto.decode(bytes) as unknown as { graph: { node: { op_type: string; name: string }[] } }).graph.node;
    expect(main.at(-1)!.op_type).toBe("If");
    // Every backward node moved into the branch; the forward's two products stay outside.
    expect(main.filter((n) => n.name.startsWith("vjp") || n.name.startsWith("grad"))).toEqual([]);
    expect(main.filter((n) => n.op_type === "FusedMatMul")).toHaveLength(2);

    const plain = await createSession(g);
    const gated = await createSession(bytes, { name: "gated" });
    try {
      const want = await plain.run(feeds(true));
      const on = await gated.run(feeds(true));
      const off = await gated.run(feeds(false));
      for (const name of ["y", "dw", "dv"]) {
        expect(on[name]!.dims).toEqual(want[name]!.dims);
        expect(Array.from(on[name]!.data as Float32Array)).toEqual(Array.from(want[name]!.data as Float32Array));
      }
      expect(Array.from(off.y!.data as Float32Array)).toEqual(Array.from(want.y!.data as Float32Array));
      expect(off.dw!.dims).toEqual([3, 4]);
      expect(Array.from(off.dw!.data as Float32Array).every((d) => d === 0)).toBe(true);
      expect(Array.from(on.dw!.data as Float32Array).some((d) => d !== 0)).toBe(true);
    } finally {
      await plain.release();
      await gated.release();
    }
  });

  it("recomputes listed cheap ops in the branch instead of keeping their forward values, with the same gradients", async () => {
    // z = (silu(x·Wᵀ) ⊙ keep)·Vᵀ: the backward reads x·Wᵀ, its sigmoid and the masked product.
    const g = new Graph("remat");
    const x = g.input("x", "float32", ["batch", 4]);
    const w = g.input("w", "float32", [3, 4]);
    const v = g.input("v", "float32", [2, 3]);
    const keep = g.input("keep", "bool", ["batch", 3]);
    const pre = op.linear(x, w);
    const z = g.output(op.linear(op.where(keep, op.mul(pre, op.sigmoid(pre)), 0), v), "z");
    const seed = g.input("dz", "float32", z.shape);
    const [dw, dv] = vjp(g, [z], [w, v], { seeds: [seed] });
    const grads = [g.output(dw!, "dw"), g.output(dv!, "dv")];
    const gate = g.input("with_grad", "bool", []);
    const outerReads = (bytes: Uint8Array) => {
      const nodes = (ModelProto.decode(bytes) as unknown as { graph: { node: { op_type: string; attribute: { g?: { node: { input: string[]; output: string[] }[] } }[] }[] } }).graph.node;
      const branch = nodes.at(-1)!.attribute[0]!.g!.node;
      const made = new Set(branch.flatMap((n) => n.output));
      const constants = new Set(g.nodes.filter((n) => n.opType === "Constant").flatMap((n) => n.outputs.map((o) => o.name)));
      return new Set(branch.flatMap((n) => n.input).filter((i) => i !== "" && !made.has(i) && !constants.has(i) && !g.inputs.some((gi) => gi.name === i)));
    };
    const keepAll = outerReads(toGatedModelProto(g, { gate, gated: grads }));
    const bytes = toGatedModelProto(g, { gate, gated: grads, recompute: ["Sigmoid", "Mul", "Where"] });
    const kept = outerReads(bytes);
    // Without recomputation the branch reads pre, sigmoid(pre) and the masked product; with it only pre.
    expect(keepAll.size).toBe(3);
    expect([...kept]).toEqual([pre.name]);

    const f = {
      x: tensor("float32", [3, 4], Array.from({ length: 12 }, (_, i) => Math.sin(3 * i))),
      w: tensor("float32", [3, 4], Array.from({ length: 12 }, (_, i) => Math.cos(i))),
      v: tensor("float32", [2, 3], [0.5, -1, 2, 0.25, 1, -0.5]),
      keep: { dtype: "bool" as const, dims: [3, 3], data: new Uint8Array([1, 0, 1, 1, 1, 0, 0, 1, 1]) },
      dz: tensor("float32", [3, 2], [1, 2, -1, 0.5, 0.3, -2]),
      with_grad: { dtype: "bool" as const, dims: [], data: new Uint8Array([1]) },
    };
    const plain = await createSession(g);
    const remat = await createSession(bytes, { name: "remat" });
    try {
      const want = await plain.run(f);
      const got = await remat.run(f);
      for (const name of ["z", "dw", "dv"]) expect(Array.from(got[name]!.data as Float32Array)).toEqual(Array.from(want[name]!.data as Float32Array));
    } finally {
      await plain.release();
      await remat.release();
    }
  });

  it("refuses a gate that is not a bool scalar input, ungated-needed or non-output values", () => {
    const { g, gate, grads, y } = build();
    expect(() => toGatedModelProto(g, { gate: g.inputs[0]!, gated: grads })).toThrow(/bool scalar input/);
    expect(() => toGatedModelProto(g, { gate, gated: [y, ...grads] })).toThrow(GraphBuildError);
    const stray = op.neg(grads[0]!);
    expect(() => toGatedModelProto(g, { gate, gated: [stray] })).toThrow(/not an output/);
  });
});
