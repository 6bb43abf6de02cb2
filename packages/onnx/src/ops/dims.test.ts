// Symbolic dim algebra and the build-time tracking of shape-tensor contents (no ORT needed).
import { describe, expect, it } from "vitest";
import { Graph } from "../graph.js";
import { dimAdd, dimDiv, dimMul, dimProduct } from "./dims.js";
import * as op from "./index.js";

describe("dim algebra", () => {
  it("products are canonical and cancel", () => {
    expect(dimMul("seq", "batch")).toBe("batch*seq");
    expect(dimMul(dimMul(2, "seq"), dimMul("batch", 3))).toBe("6*batch*seq");
    expect(dimProduct(["batch", "seq", 4, 2])).toBe("8*batch*seq");
    expect(dimDiv("8*batch*seq", dimMul("batch", "seq"))).toBe(8);
    expect(dimDiv("8*batch*seq", 4)).toBe("2*batch*seq");
    expect(dimDiv("batch*seq", "len")).toBeUndefined();
    expect(dimDiv(10, 4)).toBeUndefined();
  });

  it("sums fold constants and keep names", () => {
    expect(dimAdd("seq", 2)).toBe("(seq+2)");
    expect(dimAdd(dimAdd("seq", 2), -3)).toBe("(seq-1)");
    expect(dimAdd("past", "seq")).toBe("(past+seq)");
    expect(dimAdd(3, 4)).toBe(7);
    expect(dimAdd("seq-len", -1)).toBe("(seq-len-1)");
  });
});

describe("known shape contents", () => {
  it("flow through shape, gather, mul, concat and cast into reshape", () => {
    const g = new Graph("known");
    const x = g.input("x", "float32", ["batch", "seq", 4, 8]);
    const s = op.shape(x);
    const flat = op.mul(op.gather(s, [2]), op.gather(s, [3]));
    const target = op.cast(op.concat([op.slice(s, { starts: [0], ends: [2] }), flat], 0), "int64");
    expect(op.knownContents(target)).toEqual(["batch", "seq", 32]);
    expect(op.reshape(x, target).shape).toEqual(["batch", "seq", 32]);
  });

  it("unknown contents give unknown dims that still compare equal to themselves", () => {
    const g = new Graph("unknown");
    const x = g.input("x", "float32", [6]);
    const dims = g.input("dims", "int64", [2]);
    const y = op.reshape(x, dims);
    expect(y.shape.every((d) => op.isUnknown(d))).toBe(true);
    expect(op.add(y, y).shape).toEqual(y.shape);
    expect(() => op.add(y, op.reshape(x, dims))).toThrow(/symbolic dims broadcast only when equal by name/);
  });

  it("range over a symbolic length from shape()", () => {
    const g = new Graph("range");
    const ids = g.input("ids", "int64", ["batch", "seq"]);
    const positions = op.range(0, op.squeeze(op.shape(ids, { start: 1, end: 2 }), [0]), 1);
    expect(positions.shape).toEqual(["seq"]);
    expect(op.unsqueeze(positions, [0]).shape).toEqual([1, "seq"]);
  });

  it("a symbolic dim no value carries cannot be read at run time", () => {
    const g = new Graph("missing");
    const x = g.input("x", "float32", [6]);
    expect(() => op.reshape(x, ["nowhere", 3])).toThrow(/no value in graph 'missing' carries the dim 'nowhere'/);
  });
});
