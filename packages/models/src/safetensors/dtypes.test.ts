import { describe, expect, it } from "vitest";
import { bf16ToFloat32, f16ToFloat32, float32ToBf16, float32ToF16, toFloat32 } from "./dtypes.js";

const allBits = Uint16Array.from({ length: 65536 }, (_, i) => i);

function isNaNBits16(h: number, exponentMask: number, mantissaMask: number): boolean {
  return (h & exponentMask) === exponentMask && (h & mantissaMask) !== 0;
}

/** The nearest representable value with ties to even, found by looking at the neighbours of the candidate. */
function expectNearest(x: number, bits: number, decode: (b: Uint16Array) => Float32Array) {
  const [mine, below, above] = decode(Uint16Array.of(bits, (bits - 1) & 0xffff, (bits + 1) & 0xffff)) as unknown as number[];
  const error = Math.abs(mine! - x);
  for (const other of [below!, above!]) {
    if (!Number.isFinite(other) || Math.sign(other) !== Math.sign(mine!)) continue;
    const otherError = Math.abs(other - x);
    expect(error).toBeLessThanOrEqual(otherError);
    if (error === otherError) expect(bits & 1).toBe(0);
  }
}

describe("float16", () => {
  it("decodes known bit patterns", () => {
    const values = f16ToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00));
    expect([...values.slice(0, 6)]).toEqual([1, -2, 65504, 2 ** -24, 2 ** -14, -0]);
    expect(values[6]).toBe(Infinity);
    expect(values[7]).toBe(-Infinity);
    expect(values[8]).toBeNaN();
  });

  it("round-trips every non-NaN half exactly", () => {
    const decoded = f16ToFloat32(allBits);
    const encoded = float32ToF16(decoded);
    for (let h = 0; h < 65536; h++) {
      if (isNaNBits16(h, 0x7c00, 0x3ff)) expect(f16ToFloat32(encoded.subarray(h, h + 1))[0]).toBeNaN();
      else if (encoded[h] !== h) expect.fail(`half 0x${h.toString(16)} came back as 0x${encoded[h]!.toString(16)}`);
    }
  });

  it("rounds to nearest even, overflows to infinity and underflows to zero", () => {
    expect([...float32ToF16([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 65519, 2 ** -25, 1.5 * 2 ** -25, -1e-10])]).toEqual([
      0x3c00, 0x3c02, 0x7c00, 0x7bff, 0x0000, 0x0001, 0x8000,
    ]);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const samples = Float32Array.from({ length: 2000 }, () => (random() - 0.5) * 2 ** (random() * 40 - 28));
    const encoded = float32ToF16(samples);
    samples.forEach((x, i) => expectNearest(x, encoded[i]!, f16ToFloat32));
  });
});

describe("bfloat16", () => {
  it("round-trips every non-NaN bf16 exactly", () => {
    const encoded = float32ToBf16(bf16ToFloat32(allBits));
    for (let h = 0; h < 65536; h++) {
      if (isNaNBits16(h, 0x7f80, 0x7f)) expect(bf16ToFloat32(encoded.subarray(h, h + 1))[0]).toBeNaN();
      else if (encoded[h] !== h) expect.fail(`bf16 0x${h.toString(16)} came back as 0x${encoded[h]!.toString(16)}`);
    }
  });

  it("rounds to nearest even like torch", () => {
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
    expect([...float32ToBf16([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN])]).toEqual([0x3f80, 0xc000, 0x3f80, 0x3f82, 0x7fc0]);
    const samples = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
    const encoded = float32ToBf16(samples);
    samples.forEach((x, i) => expectNearest(x, encoded[i]!, bf16ToFloat32));
  });
});

it("toFloat32 converts floating dtypes and rejects integers", () => {
  expect([...toFloat32("BF16", Uint16Array.of(0x3f80))]).toEqual([1]);
  expect([...toFloat32("F64", Float64Array.of(0.5))]).toEqual([0.5]);
  expect(() => toFloat32("I32", Int32Array.of(1))).toThrow(/I32 is not a floating-point dtype/);
});
