import { describe, expect, it } from "vitest";
import { clustered, gaussian, recall } from "../test/clustered.js";
import { denseSearch } from "./dense.js";
import { decodeRow, encodeRows, fromF16Bits, storageErrorBound, storedVector, toF16Bits, type VectorStorage } from "./storage.js";

const f32 = (x: number) => Math.fround(x);

describe("fp16 conversion", () => {
  it("round-trips every finite half value, signed zeros included", () => {
    for (let h = 0; h < 65536; h++) {
      const x = fromF16Bits(h);
      if (Number.isNaN(x)) continue;
      expect(toF16Bits(x)).toBe(h);
    }
  });

  it("rounds to nearest with ties to even, through the subnormals, and to Infinity past the top", () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // tie: stays on the even code
      [1 + 3 * 2 ** -11, 0x3c02], // tie: goes up to the even code
      [1 + 2 ** -11 + 2 ** -20, 0x3c01],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between subnormals 1 and 2
      [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal rounds up into the normals
      [-2, 0xc000],
      [-0, 0x8000],
      [Infinity, 0x7c00],
    ];
    for (const [x, bits] of cases) expect(toF16Bits(x), `${x}`).toBe(bits);
    expect(Number.isNaN(fromF16Bits(toF16Bits(NaN)))).toBe(true);
  });

  it("gives the nearest half value for random fp32 inputs over the whole range", () => {
    const rand = gaussian(3);
    for (let i = 0; i < 20_000; i++) {
      const x = f32(rand() * 2 ** Math.round(rand() * 12));
      if (Math.abs(x) >= 65520) continue; // rounds to Infinity, checked above
      const h = toF16Bits(x);
      const err = Math.abs(fromF16Bits(h) - x);
      for (const other of [h - 1, h + 1]) {
        if ((other & 0x7fff) >= 0x7c00 || other < 0 || other > 0xffff || ((other ^ h) & 0x8000) !== 0) continue;
        const otherErr = Math.abs(fromF16Bits(other) - x);
        expect(otherErr >= err, `${x}: code ${h} vs ${other}`).toBe(true);
        if (otherErr === err) expect(h & 1).toBe(0);
      }
    }
  });
});

describe("encodeRows / decodeRow", () => {
  const rand = gaussian(11);
  const row = (dim: number, f: () => number = rand) => Float32Array.from({ length: dim }, f);

  it("f32 is exact; f16 and int8 stay within storageErrorBound, and cosines within twice it", () => {
    const dim = 384;
    const vectors = [
      row(dim),
      row(dim, () => rand() * 1e-3),
      row(dim, () => rand() * 1e-6), // mostly subnormal in fp16
      Float32Array.from(row(dim), (x, i) => (i === 7 ? 40 : x)), // one dominant entry, as some LM hidden states have
      new Float32Array(dim),
    ];
    const queries = Array.from({ length: 20 }, () => row(dim));
    for (const storage of ["f32", "f16", "int8"] as VectorStorage[]) {
      const encoded = encodeRows(vectors, storage);
      vectors.forEach((v, r) => {
        const back = decodeRow(encoded, r, new Float32Array(dim));
        expect(back).toEqual(storedVector(v, storage)); // alone or in a shard: the same values
        const bound = storageErrorBound(v, storage);
        if (storage === "f32") expect(back).toEqual(v);
        const norm = Math.hypot(...v);
        if (norm === 0) return expect(Array.from(back).every((x) => x === 0)).toBe(true);
        expect(Math.hypot(...back.map((x, d) => x - v[d]!)) / norm).toBeLessThanOrEqual(bound);
        for (const q of queries) expect(Math.abs(cosine(q, back) - cosine(q, v))).toBeLessThanOrEqual(2 * bound);
      });
    }
    // The bounds say something: fp16 keeps 11 bits; int8 on a Gaussian row is a few percent at worst.
    expect(storageErrorBound(vectors[0]!, "f16")).toBeLessThan(5e-4);
    expect(storageErrorBound(vectors[0]!, "int8")).toBeLessThan(0.02);
    expect(storageErrorBound(vectors[3]!, "int8")).toBeGreaterThan(0.05);
  });

  it("names the vector and index of a value it cannot store", () => {
    const good = Float32Array.of(1, 2, 3);
    expect(() => encodeRows([good, Float32Array.of(1, NaN, 3)], "int8", ["a", "b"])).toThrow("vector storage: vector b has NaN at index 1");
    expect(encodeRows([Float32Array.of(NaN)], "f32").values[0]).toBeNaN(); // fp32 keeps it; the search names the document
    expect(() => encodeRows([Float32Array.of(1, 70000, 3)], "f16")).toThrow(/row 0 has 70000 at index 1 \(f16 holds at most ±65504/);
    expect(encodeRows([Float32Array.of(1, 70000, 3)], "int8").storage).toBe("int8");
    expect(() => encodeRows([good, Float32Array.of(1, 2)], "f16", ["a", "b"])).toThrow("vector b has 2 dims, the first has 3");
    expect(() => encodeRows([good], "bf16" as VectorStorage)).toThrow('expected one of f32, f16, int8, got "bf16"');
  });
});

describe("recall of exact search over stored vectors", () => {
  it("keeps recall@100 against fp32 at ≥ 0.999 (f16) and ≥ 0.98 (int8) on a clustered corpus", () => {
    const docs = clustered(20_000, 256, 200, 0.6, 7, "d");
    const queries = clustered(50, 256, 200, 0.6, 99, "q");
    const exact = denseSearch(queries, docs, { k: 100 });
    const measured: Record<string, number> = {};
    for (const storage of ["f16", "int8"] as const) {
      const stored = { ids: docs.ids, vectors: docs.vectors.map((v) => storedVector(v, storage)) };
      measured[storage] = recall(denseSearch(queries, stored, { k: 100 }), exact, 100);
    }
    // Measured 0.9996 and 0.9904 (the generator is seeded, so these are the same every run).
    expect(measured.f16).toBeGreaterThanOrEqual(0.999);
    expect(measured.int8).toBeGreaterThanOrEqual(0.98);
  });
});

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
