import { describe, expect, it } from "vitest";
import { checkForward, randomInput, seeded, type TestInput } from "../testing.js";
import { Nd, build, transposeNd } from "../../test/naive.js";
import * as op from "./index.js";

const random = seeded(23);
const f32 = (dims: number[]): TestInput => randomInput(random, "float32", dims);
const same = (t: TestInput, dims: number[]) => new Nd(dims, Nd.of(t).data).tensor();

describe("reshape", () => {
  it("copies 0 dims and infers -1, also through symbolic products", async () => {
    const x = { ...f32([2, 3, 4, 2]), shape: ["batch", "seq", 4, 2] };
    const { graphOutputs } = await checkForward(
      (_, v) => [op.reshape(v.x, [0, 0, -1]), op.reshape(v.x, [-1, 8]), op.reshape(op.reshape(v.x, [-1, 8]), ["batch", "seq", 2, 4])],
      { x },
      (t) => [same(t.x, [2, 3, 8]), same(t.x, [6, 8]), same(t.x, [2, 3, 2, 4])],
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([["batch", "seq", 8], ["batch*seq", 8], ["batch", "seq", 2, 4]]);
  });

  it("takes a shape tensor and knows its contents when built from shape()", async () => {
    const x = { ...f32([2, 3, 8]), shape: ["batch", "seq", 8] };
    const { graphOutputs } = await checkForward(
      (g, v) => op.reshape(v.x, op.concat([op.shape(v.x, { end: 2 }), op.constant(g, [2, 4], { dtype: "int64" })], 0)),
      { x },
      (t) => same(t.x, [2, 3, 2, 4]),
    );
    expect(graphOutputs[0]!.shape).toEqual(["batch", "seq", 2, 4]);
  });
});

describe("movement ops", () => {
  it("transpose with a perm and the default reversal", async () => {
    await checkForward(
      (_, v) => [op.transpose(v.x, [1, 2, 0]), op.transpose(v.x)],
      { x: f32([2, 3, 4]) },
      (t) => [transposeNd(Nd.of(t.x), [1, 2, 0]).tensor(), transposeNd(Nd.of(t.x), [2, 1, 0]).tensor()],
    );
  });

  it("squeeze and unsqueeze with negative axes", async () => {
    const { graphOutputs } = await checkForward(
      (_, v) => [op.squeeze(v.x, [1, -1]), op.unsqueeze(v.x, [0, -1])],
      { x: f32([2, 1, 3, 1]) },
      (t) => [same(t.x, [2, 3]), same(t.x, [1, 2, 1, 3, 1, 1])],
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([[2, 3], [1, 2, 1, 3, 1, 1]]);
  });

  it("slice with negative starts, steps, clamped ends and a symbolic axis", async () => {
    const x = { ...f32([4, 6]), shape: ["seq", 6] };
    const { graphOutputs } = await checkForward(
      (_, v) => [
        op.slice(v.x, { starts: [1, -4], ends: [op.SLICE_END, 100], axes: [0, 1], steps: [1, 2] }),
        op.slice(v.x, { starts: [-1], ends: [-op.SLICE_END], axes: [1], steps: [-2] }),
      ],
      { x },
      (t) => {
        const xs = Nd.of(t.x);
        return [build([3, 2], ([i, j]) => xs.at([i! + 1, 2 + 2 * j!])).tensor(), build([4, 3], ([i, j]) => xs.at([i!, 5 - 2 * j!])).tensor()];
      },
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([["(seq-1)", 2], ["seq", 3]]);
  });

  it("concat along an axis, split into pieces", async () => {
    const { graphOutputs } = await checkForward(
      (_, v) => [op.concat([v.a, v.b], 1), ...op.split(v.b, [1, 3], 1)],
      { a: f32([2, 2]), b: f32([2, 4]) },
      (t) => {
        const [a, b] = [Nd.of(t.a), Nd.of(t.b)];
        return [
          build([2, 6], ([i, j]) => (j! < 2 ? a.at([i!, j!]) : b.at([i!, j! - 2]))).tensor(),
          build([2, 1], ([i]) => b.at([i!, 0])).tensor(),
          build([2, 3], ([i, j]) => b.at([i!, j! + 1])).tensor(),
        ];
      },
    );
    expect(graphOutputs[0]!.shape).toEqual([2, 6]);
  });

  it("expand to dims with a symbolic name read at run time", async () => {
    const ids: TestInput = { dtype: "int64", dims: [2, 3], data: new BigInt64Array(6), shape: ["batch", "seq"] };
    const { graphOutputs } = await checkForward(
      (_, v) => op.expand(v.x, ["batch", 1, 4]),
      { x: f32([3, 1]), ids },
      (t) => {
        const x = Nd.of(t.x);
        return build([2, 3, 4], ([, i]) => x.at([i!, 0])).tensor();
      },
    );
    expect(graphOutputs[0]!.shape).toEqual(["batch", 3, 4]);
  });

  it("pad in constant, edge and reflect modes", async () => {
    await checkForward(
      (_, v) => [op.pad(v.x, [0, 1, 1, 2], { value: 9 }), op.pad(v.x, [1, 0, 0, 1], { mode: "edge" }), op.pad(v.x, [0, 2, 0, 1], { mode: "reflect" })],
      { x: f32([2, 3]) },
      (t) => {
        const x = Nd.of(t.x);
        const clamp = (i: number, n: number) => Math.min(Math.max(i, 0), n - 1);
        const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
        return [
          build([3, 6], ([i, j]) => (i! < 2 && j! >= 1 && j! < 4 ? x.at([i!, j! - 1]) : 9)).tensor(),
          build([3, 4], ([i, j]) => x.at([clamp(i! - 1, 2), clamp(j!, 3)])).tensor(),
          build([2, 6], ([i, j]) => x.at([i!, reflect(j! - 2, 3)])).tensor(),
        ];
      },
    );
  });

  it("shape (with start/end), size and identity", async () => {
    await checkForward(
      (_, v) => [op.shape(v.x), op.shape(v.x, { start: -2, end: -1 }), op.size(v.x), op.identity(v.x)],
      { x: { ...f32([2, 3, 4]), shape: ["a", "b", 4] } },
      (t) => [new Nd([3], [2, 3, 4]).tensor("int64"), new Nd([1], [3]).tensor("int64"), new Nd([], [24]).tensor("int64"), Nd.of(t.x).tensor()],
    );
  });
});

describe("indexing ops", () => {
  it("gather rows, negative indices, scalar index and axis 1", async () => {
    const idx: TestInput = { dtype: "int64", dims: [2, 2], data: BigInt64Array.from([0n, 2n, -1n, 1n]) };
    const { graphOutputs } = await checkForward(
      (_, v) => [op.gather(v.x, v.idx), op.gather(v.x, 1, 1), op.gather(v.x, v.idx, 1)],
      { x: f32([3, 4]), idx },
      (t) => {
        const x = Nd.of(t.x);
        const ix = Nd.of(t.idx);
        const norm = (i: number, n: number) => (i < 0 ? i + n : i);
        return [
          build([2, 2, 4], ([a, b, j]) => x.at([norm(ix.at([a!, b!]), 3), j!])).tensor(),
          build([3], ([i]) => x.at([i!, 1])).tensor(),
          build([3, 2, 2], ([i, a, b]) => x.at([i!, norm(ix.at([a!, b!]), 4)])).tensor(),
        ];
      },
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([[2, 2, 4], [3], [3, 2, 2]]);
  });

  it("gatherElements picks along an axis", async () => {
    const idx: TestInput = { dtype: "int64", dims: [2, 2], data: BigInt64Array.from([2n, 0n, 1n, 1n]) };
    await checkForward((_, v) => op.gatherElements(v.x, v.idx, 1), { x: f32([2, 3]), idx }, (t) => {
      const [x, ix] = [Nd.of(t.x), Nd.of(t.idx)];
      return build([2, 2], ([i, j]) => x.at([i!, ix.at([i!, j!])])).tensor();
    });
  });

  it("scatterND replaces rows; with reduction add it accumulates", async () => {
    const idx: TestInput = { dtype: "int64", dims: [2, 1], data: BigInt64Array.from([2n, 0n]) };
    await checkForward(
      (_, v) => [op.scatterND(v.x, v.idx, v.u), op.scatterND(v.x, v.idx, v.u, { reduction: "add" })],
      { x: f32([3, 4]), idx, u: f32([2, 4]) },
      (t) => {
        const [x, u] = [Nd.of(t.x), Nd.of(t.u)];
        const row = (i: number) => (i === 2 ? 0 : i === 0 ? 1 : -1);
        return [
          build([3, 4], ([i, j]) => (row(i!) >= 0 ? u.at([row(i!), j!]) : x.at([i!, j!]))).tensor(),
          build([3, 4], ([i, j]) => x.at([i!, j!]) + (row(i!) >= 0 ? u.at([row(i!), j!]) : 0)).tensor(),
        ];
      },
    );
  });

  it("scatterElements along axis 1 with add", async () => {
    const idx: TestInput = { dtype: "int64", dims: [2, 2], data: BigInt64Array.from([1n, 1n, 0n, 2n]) };
    await checkForward((_, v) => op.scatterElements(v.x, v.idx, v.u, { axis: 1, reduction: "add" }), { x: f32([2, 3]), idx, u: f32([2, 2]) }, (t) => {
      const [x, ix, u] = [Nd.of(t.x), Nd.of(t.idx), Nd.of(t.u)];
      return build([2, 3], ([i, j]) => x.at([i!, j!]) + [0, 1].reduce((s, k) => s + (ix.at([i!, k]) === j ? u.at([i!, k]) : 0), 0)).tensor();
    });
  });

  it("cumsum inclusive, exclusive and reversed", async () => {
    await checkForward(
      (_, v) => [op.cumsum(v.x, 1), op.cumsum(v.x, -1, { exclusive: true }), op.cumsum(v.x, 0, { reverse: true })],
      { x: f32([2, 4]) },
      (t) => {
        const x = Nd.of(t.x);
        const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);
        return [
          build([2, 4], ([i, j]) => range(0, j! + 1).reduce((s, k) => s + x.at([i!, k]), 0)).tensor(),
          build([2, 4], ([i, j]) => range(0, j!).reduce((s, k) => s + x.at([i!, k]), 0)).tensor(),
          build([2, 4], ([i, j]) => range(i!, 2).reduce((s, k) => s + x.at([k, j!]), 0)).tensor(),
        ];
      },
    );
  });

  it("trilu keeps the upper or lower triangle with an offset", async () => {
    await checkForward(
      (_, v) => [op.trilu(v.x, { upper: true }), op.trilu(v.x, { upper: false, k: -1 }), op.trilu(v.x, { upper: true, k: 2 })],
      { x: f32([2, 3, 4]) },
      (t) => {
        const x = Nd.of(t.x);
        return [
          build([2, 3, 4], ([b, i, j]) => (j! >= i! ? x.at([b!, i!, j!]) : 0)).tensor(),
          build([2, 3, 4], ([b, i, j]) => (j! <= i! - 1 ? x.at([b!, i!, j!]) : 0)).tensor(),
          build([2, 3, 4], ([b, i, j]) => (j! >= i! + 2 ? x.at([b!, i!, j!]) : 0)).tensor(),
        ];
      },
    );
  });
});

describe("tensor creation", () => {
  it("constant, range from a run-time length and constantOfShape", async () => {
    const ids: TestInput = { dtype: "int64", dims: [2, 5], data: new BigInt64Array(10), shape: ["batch", "seq"] };
    const { graphOutputs } = await checkForward(
      (g, v) => {
        const seq = op.squeeze(op.shape(v.ids, { start: 1, end: 2 }), [0]);
        return [
          op.constant(g, [1.5, -2], { dims: [2, 1] }),
          op.range(0, seq, 1),
          op.range(op.constant(g, 1, { dtype: "float32" }), 2, 0.25),
          op.constantOfShape(op.shape(v.ids), 7, "int32"),
        ];
      },
      { ids },
      () => [
        new Nd([2, 1], [1.5, -2]).tensor(),
        new Nd([5], [0, 1, 2, 3, 4]).tensor("int64"),
        new Nd([4], [1, 1.25, 1.5, 1.75]).tensor(),
        build([2, 5], () => 7).tensor("int32"),
      ],
    );
    expect(graphOutputs.map((o) => o.shape)).toEqual([[2, 1], ["seq"], [4], ["batch", "seq"]]);
  });
});
