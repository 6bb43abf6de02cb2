// checkForward must be able to fail: a wrong value, wrong dims, or a builder shape that disagrees with ORT.
import { describe, expect, it } from "vitest";
import * as op from "./ops/index.js";
import { checkForward, type TestInput } from "./testing.js";
import { tensor } from "./tensor.js";

const x: TestInput = { dtype: "float32", dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) };

describe("checkForward", () => {
  it("passes a correct reference and returns ORT's outputs", async () => {
    const { outputs } = await checkForward((_, v) => op.mul(v.x, 2), { x }, () => tensor("float32", [2, 2], [2, 4, 6, 8]));
    expect(outputs[0]!.data).toEqual(new Float32Array([2, 4, 6, 8]));
  });

  it("fails on a wrong element, naming it", async () => {
    await expect(checkForward((_, v) => op.mul(v.x, 2), { x }, () => tensor("float32", [2, 2], [2, 4, 6, 8.01]))).rejects.toThrow(
      /out0 .*element 3 \(of 4\) is 8, reference 8.01/,
    );
  });

  it("fails on wrong dims or dtype", async () => {
    await expect(checkForward((_, v) => op.mul(v.x, 2), { x }, () => tensor("float32", [4], [2, 4, 6, 8]))).rejects.toThrow(/dims \[2,2\], reference \[4\]/);
    await expect(checkForward((_, v) => op.mul(v.x, 2), { x }, () => tensor("float64", [2, 2], [2, 4, 6, 8]))).rejects.toThrow(/dtype float32, reference float64/);
  });

  it("fails when the builder's static shape disagrees with what ORT computed", async () => {
    // A hand-made node that claims the wrong output shape, as a buggy op would.
    const wrong = checkForward((g, v) => g.addNode("Relu", [v.x], {}, [{ dtype: "float32", shape: [4, 1] }])[0]!, { x }, () => tensor("float32", [2, 2], [1, 2, 3, 4]));
    await expect(wrong).rejects.toThrow(/builder inferred rank 2 \[4,1\], ORT gave \[2,2\]|builder inferred \[4,1\], ORT gave \[2,2\]/);
  });
});
