import { describe, expect, it } from "vitest";
import { l2Normalize, pool, POOLING_MODES, rows, type PoolingMode } from "./index.js";
import { paddedMasks, randInt, randomHidden, rng } from "../test/helpers.js";

/** Naive reference: gathers the pooled token vectors into a list, then applies the textbook formula. */
function naivePool(hidden: Float32Array, dims: number[], attention: number[][], embed: number[][] | undefined, mode: PoolingMode) {
  const [batch, tokens, size] = dims as [number, number, number];
  const out: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const vectors: number[][] = [];
    for (let t = 0; t < tokens; t++) {
      if (attention[b]![t] === 1 && (!embed || embed[b]![t] === 1)) {
        vectors.push(Array.from(hidden.subarray((b * tokens + t) * size, (b * tokens + t + 1) * size)));
      }
    }
    const n = vectors.length;
    const column = (h: number) => vectors.map((v) => v[h]!);
    const row: number[] = [];
    for (let h = 0; h < size; h++) {
      const values = column(h);
      if (mode === "mean") row.push(values.reduce((s, v) => s + v, 0) / n);
      else if (mode === "weighted_mean") row.push(values.reduce((s, v, k) => s + (k + 1) * v, 0) / ((n * (n + 1)) / 2));
      else if (mode === "last_token" || mode === "eos_token") row.push(values[n - 1]!);
      else if (mode === "first_token" || mode === "bos_token" || mode === "cls") row.push(values[0]!);
      else row.push(Math.max(...values));
    }
    out.push(row);
  }
  return out;
}

function expectClose(actual: Float32Array, expected: number[][], tolerance = 1e-6) {
  const flat = expected.flat();
  expect(actual.length).toBe(flat.length);
  flat.forEach((value, i) => expect(Math.abs(actual[i]! - value)).toBeLessThan(tolerance));
}

describe("pool", () => {
  it("matches a hand-computed example for every mode", () => {
    // One row, tokens [pad, a, b, c] with H = 2; the embed mask drops token a (the instruction).
    const hidden = { data: Float32Array.from([9, 9, 1, 2, 3, 4, 5, 8]), dims: [1, 4, 2] };
    const mask = [[0, 1, 1, 1]];
    const embedMask = [[0, 0, 1, 1]];
    expect(Array.from(pool(hidden, mask, { mode: "mean" }).data)).toEqual([3, 14 / 3].map(Math.fround));
    // weights 1,2,3 over a,b,c: (1·1 + 2·3 + 3·5)/6 = 22/6, (2 + 8 + 24)/6 = 34/6
    expect(Array.from(pool(hidden, mask, { mode: "weighted_mean" }).data)).toEqual([22 / 6, 34 / 6].map(Math.fround));
    expect(Array.from(pool(hidden, mask, { mode: "weighted_mean", embedMask }).data)).toEqual([13 / 3, 20 / 3].map(Math.fround));
    expect(Array.from(pool(hidden, mask, { mode: "last_token" }).data)).toEqual([5, 8]);
    expect(Array.from(pool(hidden, mask, { mode: "first_token" }).data)).toEqual([1, 2]);
    expect(Array.from(pool(hidden, mask, { mode: "first_token", embedMask }).data)).toEqual([3, 4]);
    expect(Array.from(pool(hidden, mask, { mode: "max" }).data)).toEqual([5, 8]);
    expect(Array.from(pool(hidden, mask, { mode: "mean", normalize: true }).data)).toEqual(
      [3 / Math.hypot(3, 14 / 3), 14 / 3 / Math.hypot(3, 14 / 3)].map(Math.fround),
    );
  });

  it("agrees with a naive reference on random shapes, masks and embed masks", () => {
    const next = rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const dims: [number, number, number] = [randInt(next, 1, 4), randInt(next, 1, 9), randInt(next, 1, 7)];
      const hidden = randomHidden(next, dims);
      const attention = Array.from({ length: dims[0] }, () => Array.from({ length: dims[1] }, () => (next() < 0.7 ? 1 : 0)));
      const embed = attention.map((row) => row.map((v) => (v === 1 && next() < 0.6 ? 1 : 0)));
      // Guarantee one pooled token per row so the reference is defined.
      attention.forEach((row, b) => {
        const t = randInt(next, 0, dims[1] - 1);
        row[t] = 1;
        embed[b]![t] = 1;
      });
      for (const mode of POOLING_MODES) {
        expectClose(pool({ data: hidden, dims }, attention, { mode }).data, naivePool(hidden, dims, attention, undefined, mode));
        expectClose(
          pool({ data: hidden, dims }, attention, { mode, embedMask: embed }).data,
          naivePool(hidden, dims, attention, embed, mode),
        );
      }
    }
  });

  it("gives identical embeddings for left and right padding, whatever the padding holds", () => {
    const next = rng(11);
    const lengths = [5, 2, 7, 1];
    const textLengths = [3, 2, 4, 1];
    const [tokens, size] = [8, 6];
    const sequences = lengths.map((n) => randomHidden(next, [1, n, size]));
    const build = (side: "left" | "right") => {
      const masks = paddedMasks(lengths, textLengths, tokens, side);
      const data = randomHidden(next, [lengths.length, tokens, size]).map((v) => v * 1000); // garbage in padding
      sequences.forEach((seq, b) => data.set(seq, (b * tokens + masks.offset(b)) * size));
      return { hidden: { data, dims: [lengths.length, tokens, size] }, ...masks };
    };
    const left = build("left");
    const right = build("right");
    for (const mode of POOLING_MODES) {
      for (const useEmbed of [false, true]) {
        for (const normalize of [false, true]) {
          const a = pool(left.hidden, left.attention, { mode, normalize, embedMask: useEmbed ? left.embed : undefined });
          const b = pool(right.hidden, right.attention, { mode, normalize, embedMask: useEmbed ? right.embed : undefined });
          expect(Array.from(a.data), `${mode} embed=${useEmbed} normalize=${normalize}`).toEqual(Array.from(b.data));
        }
      }
    }
  });

  it("pools only the text when an embed mask excludes the instruction", () => {
    const next = rng(3);
    const [tokens, size] = [6, 4];
    const full = randomHidden(next, [1, tokens, size]);
    const text = full.slice(3 * size); // tokens 3..5 are the text
    for (const mode of POOLING_MODES) {
      const withInstruction = pool({ data: full, dims: [1, tokens, size] }, [[1, 1, 1, 1, 1, 1]], { mode, embedMask: [[0, 0, 0, 1, 1, 1]] });
      const textOnly = pool({ data: text, dims: [1, 3, size] }, [[1, 1, 1]], { mode });
      expect(Array.from(withInstruction.data), mode).toEqual(Array.from(textOnly.data));
    }
  });

  it("reads masks as ORT int64 tensors, bool bytes, nested arrays, booleans and flat arrays alike", () => {
    const next = rng(5);
    const dims = [2, 3, 2];
    const hidden = { data: randomHidden(next, [2, 3, 2]), dims, type: "float32" };
    const nested = [[0, 1, 1], [1, 1, 0]];
    const expected = Array.from(pool(hidden, nested, { mode: "weighted_mean" }).data);
    const forms = [
      { data: BigInt64Array.from([0n, 1n, 1n, 1n, 1n, 0n]), dims: [2, 3] },
      { data: Uint8Array.from([0, 1, 1, 1, 1, 0]), dims: [2, 3] },
      nested.map((row) => BigInt64Array.from(row.map(BigInt))),
      nested.map((row) => row.map((v) => v === 1)),
      Int32Array.from(nested.flat()),
    ];
    for (const mask of forms) expect(Array.from(pool(hidden, mask, { mode: "weighted_mean" }).data)).toEqual(expected);
  });

  it("normalizes rows to unit length, matching l2Normalize of the raw pooling", () => {
    const next = rng(9);
    const hidden = { data: randomHidden(next, [3, 5, 8]), dims: [3, 5, 8] };
    const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 0, 0, 0]];
    const normalized = pool(hidden, mask, { mode: "mean", normalize: true });
    for (const row of rows(normalized)) expect(Math.hypot(...row)).toBeCloseTo(1, 6);
    const raw = pool(hidden, mask, { mode: "mean" });
    expectClose(normalized.data, [Array.from(l2Normalize(raw).data)], 1e-7);
    // pool() normalizes the float64 sum, l2Normalize the float32 rounding of it: equal to float32 precision.
    expectClose(l2Normalize(rows(raw)[1]!), [Array.from(rows(normalized)[1]!)], 1e-7);
  });

  it("returns one [B, H] block whose rows() are views", () => {
    const out = pool({ data: new Float32Array(2 * 3 * 4).fill(1), dims: [2, 3, 4] }, [[1, 1, 1], [1, 0, 0]]);
    expect(out.dims).toEqual([2, 4]);
    const [first] = rows(out);
    first![0] = 42;
    expect(out.data[0]).toBe(42);
  });

  it("handles an empty batch", () => {
    expect(pool({ data: new Float32Array(0), dims: [0, 5, 3] }, { data: new Float32Array(0), dims: [0, 5] }).dims).toEqual([0, 3]);
  });
});
