import { describe, expect, it } from "vitest";
import { l2Normalize, l2NormalizeBackward, pool, poolBackward, POOLING_MODES, type PoolOptions } from "./index.js";
import { randInt, rng } from "../test/helpers.js";

/** L = Σ g·pool(x), evaluated in double from the float32 output. */
function loss(data: Float64Array, dims: number[], mask: number[][], grad: Float64Array, options: PoolOptions): number {
  const out = pool({ data, dims }, mask, options).data;
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]! * grad[i]!;
  return sum;
}

/** Central differences on every hidden entry, against poolBackward. */
function checkGradient(seed: number, options: PoolOptions) {
  const next = rng(seed);
  const dims = [randInt(next, 1, 3), randInt(next, 2, 5), randInt(next, 2, 4)] as [number, number, number];
  const [batch, tokens, size] = dims;
  // Well-separated values keep max's arg-max stable under the ±eps nudges.
  const data = Float64Array.from({ length: batch * tokens * size }, (_, i) => ((i * 7919) % 97) / 10 - 4.8 + next() * 0.01);
  const mask = Array.from({ length: batch }, () => Array.from({ length: tokens }, () => (next() < 0.75 ? 1 : 0)));
  mask.forEach((row) => (row[randInt(next, 0, tokens - 1)] = 1));
  const grad = Float64Array.from({ length: batch * size }, () => next() * 2 - 1);
  const analytic = poolBackward({ data, dims }, mask, { data: grad, dims: [batch, size] }, options);
  expect(analytic.dims).toEqual(dims);
  const eps = 1e-3;
  for (let i = 0; i < data.length; i++) {
    const saved = data[i]!;
    data[i] = saved + eps;
    const up = loss(data, dims, mask, grad, options);
    data[i] = saved - eps;
    const down = loss(data, dims, mask, grad, options);
    data[i] = saved;
    const numeric = (up - down) / (2 * eps);
    expect(Math.abs(analytic.data[i]! - numeric), `entry ${i}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
    const [b, t] = [Math.floor(i / (tokens * size)), Math.floor(i / size) % tokens];
    const pooled = mask[b]![t] === 1 && (!options.embedMask || (options.embedMask as number[][])[b]![t] === 1);
    if (!pooled) expect(analytic.data[i]).toBe(0);
  }
}

describe("poolBackward", () => {
  for (const mode of POOLING_MODES) {
    for (const normalize of [false, true]) {
      it(`matches finite differences: ${mode}${normalize ? " + normalize" : ""}`, () => {
        checkGradient(mode.length * 31 + (normalize ? 1 : 0), { mode, normalize });
      });
    }
  }

  it("matches finite differences with an embed mask", () => {
    const embedMask = [
      [0, 1, 1, 1],
      [0, 0, 1, 1],
    ];
    for (const mode of POOLING_MODES) {
      const next = rng(mode.length);
      const data = Float64Array.from({ length: 2 * 4 * 3 }, (_, i) => ((i * 31) % 23) / 5 - 2 + next() * 0.01);
      const mask = [
        [1, 1, 1, 1],
        [1, 1, 1, 1],
      ];
      const grad = Float64Array.from({ length: 6 }, () => next() - 0.5);
      const options: PoolOptions = { mode, embedMask, normalize: true };
      const analytic = poolBackward({ data, dims: [2, 4, 3] }, mask, [grad.subarray(0, 3), grad.subarray(3)], options);
      for (let i = 0; i < data.length; i++) {
        const saved = data[i]!;
        data[i] = saved + 1e-3;
        const up = loss(data, [2, 4, 3], mask, grad, options);
        data[i] = saved - 1e-3;
        const down = loss(data, [2, 4, 3], mask, grad, options);
        data[i] = saved;
        expect(Math.abs(analytic.data[i]! - (up - down) / 2e-3), `${mode} entry ${i}`).toBeLessThan(2e-3);
      }
    }
  });

  it("l2NormalizeBackward matches finite differences, including a row below the norm floor", () => {
    const x = [Float64Array.from([0.3, -1.2, 2.0]), Float64Array.from([1e-14, 0, -2e-14])];
    const g = [Float64Array.from([0.5, 0.1, -0.7]), Float64Array.from([1, 2, 3])];
    const analytic = l2NormalizeBackward(x, g);
    expect(Array.from(analytic.data.subarray(3))).toEqual([1e12, 2e12, 3e12].map(Math.fround));
    const lossOf = (row: Float64Array) => Array.from(l2Normalize(row)).reduce((s, v, h) => s + v * g[0]![h]!, 0);
    for (let h = 0; h < 3; h++) {
      const up = Float64Array.from(x[0]!);
      const down = Float64Array.from(x[0]!);
      up[h] = up[h]! + 1e-4;
      down[h] = down[h]! - 1e-4;
      expect(analytic.data[h]!).toBeCloseTo((lossOf(up) - lossOf(down)) / 2e-4, 3);
    }
  });
});
