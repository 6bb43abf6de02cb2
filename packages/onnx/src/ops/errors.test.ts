// Build-time checks: a bad op application throws GraphBuildError naming the op, the node it would have been and
// the operands, before anything reaches ORT.
import { describe, expect, it } from "vitest";
import { Graph, GraphBuildError, type Value } from "../graph.js";
import * as op from "./index.js";

const graph = () => new Graph("errors");
const expectBuildError = (f: () => unknown, ...parts: (string | RegExp)[]) => {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GraphBuildError);
  for (const p of parts) expect((error as Error).message).toMatch(p);
};

describe("operand checks", () => {
  it("broadcast mismatch names op, node and both operands", () => {
    const g = graph();
    const a = g.input("a", "float32", ["batch", 8]);
    const b = g.input("b", "float32", ["batch", 9]);
    g.scope("layers.0", () =>
      expectBuildError(() => op.add(a, b), "Add (node 'layers.0/Add')", "axis 1 (8 vs 9)", "a = a float32[batch,8]", "b = b float32[batch,9]"),
    );
  });

  it("symbolic dims broadcast only when equal by name", () => {
    const g = graph();
    const a = g.input("a", "float32", ["batch", "seq"]);
    const b = g.input("b", "float32", ["batch", "len"]);
    expectBuildError(() => op.mul(a, b), "Mul", "seq vs len", /equal by name/);
    expect(op.mul(a, g.input("c", "float32", [1, "seq"])).shape).toEqual(["batch", "seq"]);
  });

  it("dtype disagreement and wrong dtype class", () => {
    const g = graph();
    const f = g.input("f", "float32", [2]);
    const i = g.input("i", "int64", [2]);
    expectBuildError(() => op.add(f, i), "Add", "b has dtype int64 but a has float32");
    expectBuildError(() => op.exp(i), "Exp", "x has dtype int64, expected one of float32");
    expectBuildError(() => op.where(f as Value, f, f), "Where", "cond has dtype float32");
    expectBuildError(() => op.add(2, 3), "Add: at least one operand must be a Value");
  });

  it("matmul inner dims and gemm ranks", () => {
    const g = graph();
    const a = g.input("a", "float32", ["batch", 4, 5]);
    const b = g.input("b", "float32", [6, 7]);
    expectBuildError(() => op.matmul(a, b), "MatMul (node 'MatMul')", "inner dims differ (a's K = 5, b's K = 6)");
    expectBuildError(() => op.gemm(a, b), "Gemm", "a has rank 3, expected 2");
    expectBuildError(() => op.linear(a, g.input("w", "float32", [3, 4])), "inner dims differ");
    expectBuildError(() => op.linear(a, g.input("w2", "float32", [3, 5]), g.input("bias", "float32", [4])), "bias length differs");
  });

  it("reshape element counts, squeeze of a non-1 axis, bad perms and axes", () => {
    const g = graph();
    const x = g.input("x", "float32", [2, 3, 4]);
    expectBuildError(() => op.reshape(x, [5, -1]), "Reshape", "cannot infer -1: 24 elements do not divide by 5");
    expectBuildError(() => op.reshape(x, [2, 3]), "24 elements cannot take shape [2,3]");
    expectBuildError(() => op.squeeze(x, [1]), "Squeeze", "axis 1 has dim 3, expected 1");
    expectBuildError(() => op.transpose(x, [0, 0, 1]), "Transpose", "not a permutation");
    expectBuildError(() => op.reduceSum(x, [3]), "ReduceSum", "axes 3 is out of range for rank 3");
    expectBuildError(() => op.softmax(x, -4), "Softmax", "out of range");
  });

  it("concat, split and slice consistency", () => {
    const g = graph();
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [4, 3]);
    expectBuildError(() => op.concat([a, b], 1), "Concat", "x1 differs from x0 at axis 0: 2 vs 4");
    expectBuildError(() => op.split(a, [1, 1], 1), "Split", "sum to 2, axis 1 has 3");
    expectBuildError(() => op.slice(a, { starts: [0], ends: [1, 2] }), "Slice", "same length");
    expectBuildError(() => op.slice(a, { starts: [0], ends: [1], steps: [0] }), "steps must not be 0");
  });

  it("indexing ops check index dtypes and shapes", () => {
    const g = graph();
    const x = g.input("x", "float32", [3, 4]);
    expectBuildError(() => op.gather(x, g.input("i", "float32", [2])), "Gather", "indices has dtype float32");
    const idx = g.input("idx", "int64", [2, 1]);
    expectBuildError(() => op.scatterND(x, idx, g.input("u", "float32", [2, 5])), "ScatterND", "updates axis 1");
    expectBuildError(() => op.gatherElements(x, g.input("j", "int64", [3]), 0), "GatherElements", "rank 2");
  });
});

describe("transformer op checks", () => {
  it("attention: head counts, head sizes, mask dims", () => {
    const g = graph();
    const q = g.input("q", "float32", ["b", 6, "s", 8]);
    const k = g.input("k", "float32", ["b", 4, "s", 8]);
    expectBuildError(() => op.attention(q, k, k), "Attention", "q heads 6 are not a multiple of kv heads 4");
    const k2 = g.input("k2", "float32", ["b", 2, "s", 4]);
    expectBuildError(() => op.attention(q, k2, k2), "head size of k differs from q: 8 vs 4");
    const k3 = g.input("k3", "float32", ["b", 2, "s", 8]);
    const mask = g.input("mask", "bool", ["b", 1, 1, "s"]);
    expectBuildError(() => op.attention(q, k3, k3, { attnMask: mask }), "attnMask's dim -2 must be the query sequence");
    const q3 = g.input("q3", "float32", ["b", "s", 48]);
    expectBuildError(() => op.attention(q3, q3, q3), "3-D inputs need qNumHeads and kvNumHeads");
  });

  it("rotary and rms norm shapes", () => {
    const g = graph();
    const x = g.input("x", "float32", ["b", 2, "s", 8]);
    const cos = g.input("cos", "float32", [32, 3]);
    expectBuildError(() => op.rotaryEmbedding(x, cos, cos, { positionIds: g.input("p", "int64", ["b", "s"]) }), "RotaryEmbedding", "cos's last dim must be rotary dim / 2: 3 vs 4");
    expectBuildError(() => op.rmsNormalization(x, g.input("w", "float32", [7])), "RMSNormalization", "cannot broadcast");
  });

  it("an operand from another graph is refused", () => {
    const a = graph().input("a", "float32", [2]);
    const b = graph().input("b", "float32", [2]);
    expect(() => op.add(a, b)).toThrow(/belongs to another graph/);
  });
});
