// The quantizer keeps its stated per-element bound, and ORT's MatMulNBits multiplies by exactly the weight that
// dequantizeRow describes (up to float32 summation order; int8 compute also rounds the activations, to a looser bound);
// the per-token int8 path computes exactly its integer arithmetic.
import { describe, expect, it } from "vitest";
import { Graph, createSession, matMulNBits, perTokenInt8Linear } from "./index.js";
import { dequantizeRow, quantizationProblem, quantizeBlockwise, quantizePerChannel, type QuantBits } from "./quantize.js";
import { seeded as seededRandom } from "./seeded.js";

const N = 48;
const K = 128;

function randomWeight(seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  // One row of one sign, one constant row: the cases a symmetric or naive min/max quantizer gets wrong.
  return Array.from({ length: N }, (_, r) => Float32Array.from({ length: K }, () => (r === 0 ? Math.abs(rand()) : r === 1 ? 0.25 : rand() - 0.5)));
}

describe.each([4, 8] as const)("%i-bit block quantization", (bits: QuantBits) => {
  const w = randomWeight(bits);
  const q = quantizeBlockwise((r) => w[r]!, N, K, bits, 32, "w");

  it("keeps every element within scale/2 of its block", () => {
    for (let r = 0; r < N; r++) {
      const d = dequantizeRow(q, r);
      for (let i = 0; i < K; i++) expect(Math.abs(d[i]! - w[r]![i]!)).toBeLessThanOrEqual(q.scales[r * (K / 32) + Math.floor(i / 32)]! / 2 + 1e-7);
    }
    expect(Array.from(dequantizeRow(q, 1))).toEqual(Array(K).fill(0.25));
  });

  it.each([0, 4] as const)("MatMulNBits (accuracy_level %i) multiplies by the dequantized weight", async (accuracyLevel) => {
    const g = new Graph("nbits");
    const x = g.input("x", "float32", [3, K]);
    const codes = g.initializer("codes", "uint8", [N, K / 32, (32 * bits) / 8], q.codes);
    const scales = g.initializer("scales", "float32", [q.scales.length], q.scales);
    const zps = g.initializer("zp", "uint8", [q.zeroPoints.length], q.zeroPoints);
    g.output(matMulNBits(x, codes, scales, zps, { n: N, k: K, bits, blockSize: 32, accuracyLevel }), "y");
    const session = await createSession(g, { threads: 1 });
    const rand = seededRandom(11);
    const xs = Float32Array.from({ length: 3 * K }, () => rand() - 0.5);
    const y = (await session.run({ x: { dtype: "float32", dims: [3, K], data: xs } })).y!.data as Float32Array;
    await session.release();
    let worst = 0;
    for (let m = 0; m < 3; m++) {
      for (let r = 0; r < N; r++) {
        const d = dequantizeRow(q, r);
        let exact = 0;
        let scale = 0;
        for (let i = 0; i < K; i++) {
          exact += xs[m * K + i]! * d[i]!;
          scale += Math.abs(xs[m * K + i]! * d[i]!);
        }
        worst = Math.max(worst, Math.abs(y[m * N + r]! - exact) / scale);
      }
    }
    // fp32 compute: summation order only. int8 compute quantizes x per block to 8 bits: |Δx| ≤ absmax/254 per block.
    expect(worst).toBeLessThan(accuracyLevel === 0 ? 1e-5 : 1e-2);
  });
});

describe("quantization rules", () => {
  it("names the tensor and the rule it breaks", () => {
    expect(quantizationProblem("model.layers.0.mlp.down_proj.weight", 8, 100, 4, 32)).toBe(
      "model.layers.0.mlp.down_proj.weight: its input size 100 is not a multiple of the block size 32",
    );
    expect(quantizationProblem("w", 8, 64, 3, 32)).toMatch(/3-bit quantization is not supported/);
    expect(() => quantizeBlockwise(() => [Number.NaN, ...Array(31).fill(0)], 1, 32, 8, 32, "w")).toThrow(/element \[0, 0\] is NaN/);
  });
});

describe("per-channel int8 with per-token activations", () => {
  const w = randomWeight(5);
  const q = quantizePerChannel((r) => w[r]!, N, K, "w");
  const weightOf = (r: number, i: number) => q.codes[i * N + r]! * q.scales[r]!;

  it("keeps every element within scale/2 of its row, codes in −127…127", () => {
    for (let r = 0; r < N; r++) for (let i = 0; i < K; i++) expect(Math.abs(weightOf(r, i) - w[r]![i]!)).toBeLessThanOrEqual(q.scales[r]! / 2 + 1e-7);
    expect(Math.min(...q.codes)).toBeGreaterThanOrEqual(-127);
    expect(Array.from({ length: K }, (_, i) => q.codes[i * N + 1])).toEqual(Array(K).fill(127)); // the constant row
    expect(() => quantizePerChannel(() => [1, Number.POSITIVE_INFINITY], 1, 2, "w")).toThrow(/w: element \[0, 1\] is Infinity/);
  });

  it("perTokenInt8Linear equals its integer arithmetic: per-row codes, exact int32 sums, then the two scales", async () => {
    const rows = 4;
    const g = new Graph("rowq");
    const x = g.input("x", "float32", [1, rows, K]);
    g.output(perTokenInt8Linear(x, g.initializer("codes", "int8", [K, N], q.codes), g.initializer("scales", "float32", [N], q.scales)), "y");
    const session = await createSession(g, { threads: 1 });
    const rand = seededRandom(12);
    // Row 1 carries one large token value, row 3 is padding (all zero): neither may disturb another row.
    const xs = Float32Array.from({ length: rows * K }, (_, j) => (j >= 3 * K ? 0 : j === K + 7 ? 40 : rand() - 0.5));
    const y = (await session.run({ x: { dtype: "float32", dims: [1, rows, K], data: xs } })).y!.data as Float32Array;
    await session.release();
    let worst = 0;
    for (let m = 0; m < rows; m++) {
      const row = xs.subarray(m * K, (m + 1) * K);
      const scale = Math.fround(Math.fround(Math.max(...row.map(Math.abs), 1e-30)) / 127);
      // QuantizeLinear rounds half to even; x / scale is a float32 division.
      const codes = Array.from(row, (v) => {
        const t = Math.fround(v / scale);
        const r = Math.round(t);
        return r - t === 0.5 && r % 2 !== 0 ? r - 1 : r;
      });
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let i = 0; i < K; i++) acc += codes[i]! * q.codes[i * N + n]!;
        const want = acc * scale * q.scales[n]!;
        worst = Math.max(worst, Math.abs(y[m * N + n]! - want) / Math.max(1e-30, Math.abs(want)));
        if (m === 3) expect(y[m * N + n]).toBe(0);
      }
    }
    expect(worst).toBeLessThan(1e-6);
  });
});
