import { describe, expect, it } from "vitest";
import { checkForward, randomInput, seeded, type TestInput } from "../testing.js";
import { Nd, build, matmulNd, reduceNd, softmaxNd, sum, transposeNd, zip } from "../../test/naive.js";
import * as op from "./index.js";

const random = seeded(11);
const f32 = (dims: number[], lo = -1, hi = 1): TestInput => randomInput(random, "float32", dims, lo, hi);
const f64 = (dims: number[]): TestInput => randomInput(random, "float64", dims);
const swapLast = (x: Nd): Nd => transposeNd(x, [...x.dims.keys()].map((i) => (i < x.rank - 2 ? i : i === x.rank - 2 ? x.rank - 1 : x.rank - 2)));

describe("matrix products", () => {
  it("matmul broadcasts batch dims", async () => {
    await checkForward((_, v) => op.matmul(v.a, v.b), { a: f32([2, 1, 3, 4]), b: f32([3, 4, 5]) }, (t) => matmulNd(Nd.of(t.a), Nd.of(t.b)).tensor());
  });

  it("matmul with 1-D operands drops the added dims", async () => {
    const { graphOutputs } = await checkForward(
      (_, v) => [op.matmul(v.v, v.m), op.matmul(v.m2, v.v), op.matmul(v.v, v.v)],
      { v: f64([3]), m: f64([2, 3, 4]), m2: f64([5, 3]) },
      (t) => {
        const vec = Nd.of(t.v);
        const row = new Nd([1, 3], vec.data);
        const col = new Nd([3, 1], vec.data);
        const a = matmulNd(row, Nd.of(t.m));
        const b = matmulNd(Nd.of(t.m2), col);
        return [new Nd([2, 4], a.data).tensor("float64"), new Nd([5], b.data).tensor("float64"), new Nd([], [sum(vec.data.map((x) => x * x))]).tensor("float64")];
      },
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([[2, 4], [5], []]);
  });

  it("gemm with transposes, alpha, beta and a broadcast C", async () => {
    await checkForward(
      (_, v) => op.gemm(v.a, v.b, { c: v.c, transA: true, transB: true, alpha: 0.5, beta: 2 }),
      { a: f32([4, 3]), b: f32([5, 4]), c: f32([5]) },
      (t) => zip((p, c) => 0.5 * p + 2 * c, matmulNd(transposeNd(Nd.of(t.a), [1, 0]), transposeNd(Nd.of(t.b), [1, 0])), Nd.of(t.c)).tensor(),
    );
  });

  it("fusedMatMul transposes the last two dims of N-D operands", async () => {
    await checkForward(
      (_, v) => op.fusedMatMul(v.a, v.b, { transA: true, transB: true, alpha: 3 }),
      { a: f32([2, 4, 3]), b: f32([2, 5, 4]) },
      (t) => zip((x) => 3 * x, matmulNd(swapLast(Nd.of(t.a)), swapLast(Nd.of(t.b)))).tensor(),
    );
  });

  it("linear reads an HF [out, in] weight without a Transpose node", async () => {
    const { graph } = await checkForward(
      (_, v) => op.linear(v.x, v.w, v.bias),
      { x: { ...f32([2, 3, 4]), shape: ["batch", "seq", 4] }, w: f32([6, 4]), bias: f32([6]) },
      (t) => zip((y, b) => y + b, matmulNd(Nd.of(t.x), transposeNd(Nd.of(t.w), [1, 0])), Nd.of(t.bias)).tensor(),
    );
    expect(graph.nodes.map((n) => n.opType)).not.toContain("Transpose");
    expect(graph.nodes.find((n) => n.opType === "FusedMatMul")!.domain).toBe("com.microsoft");
  });
});

describe("reductions and softmax", () => {
  const x = f32([2, 3, 4]);
  const cases: [string, typeof op.reduceSum, (v: number[]) => number][] = [
    ["reduceSum", op.reduceSum, sum],
    ["reduceMean", op.reduceMean, (v) => sum(v) / v.length],
    ["reduceMax", op.reduceMax, (v) => Math.max(...v)],
    ["reduceMin", op.reduceMin, (v) => Math.min(...v)],
  ];
  for (const [name, fn, ref] of cases) {
    it(`${name} over negative and multiple axes, keepdims on and off`, async () => {
      const { graphOutputs } = await checkForward(
        (_, v) => [fn(v.x, [-1]), fn(v.x, [0, 2], { keepdims: false }), fn(v.x, [])],
        { x },
        (t) => [reduceNd(Nd.of(t.x), [2], true, ref).tensor(), reduceNd(Nd.of(t.x), [0, 2], false, ref).tensor(), reduceNd(Nd.of(t.x), [0, 1, 2], true, ref).tensor()],
      );
      expect(graphOutputs.map((o) => o.shape)).toEqual([[2, 3, 1], [3], [1, 1, 1]]);
    });
  }

  it("softmax and logSoftmax along any axis", async () => {
    await checkForward(
      (_, v) => [op.softmax(v.x), op.softmax(v.x, 1), op.logSoftmax(v.x, 0)],
      { x: f32([2, 3, 4], -5, 5) },
      (t) => [
        softmaxNd(Nd.of(t.x), -1).tensor(),
        softmaxNd(Nd.of(t.x), 1).tensor(),
        zip(Math.log, softmaxNd(Nd.of(t.x), 0)).tensor(),
      ],
    );
  });

  it("reduceSum of ints stays exact", async () => {
    const ints: TestInput = { dtype: "int64", dims: [2, 3], data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 2n ** 40n]) };
    await checkForward((_, v) => op.reduceSum(v.x, [1], { keepdims: false }), { x: ints }, () => build([2], (i) => (i[0] === 0 ? 6 : 9 + 2 ** 40)).tensor("int64"));
  });
});
