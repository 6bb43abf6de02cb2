// The quantizer keeps its stated per-element bound, and ORT's MatMulNBits multiplies by exactly the weight that
// dequantizeRow describes (up to float32 summation order; int8 compute also rounds the activations, to a looser bound).
import { describe, expect, it } from "vitest";
import { Graph, createSession, matMulNBits } from "./index.js";
import { dequantizeRow, quantizationProblem, quantizeBlockwise, type QuantBits } from "./quantize.js";
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
