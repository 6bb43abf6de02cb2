import { describe, expect, it } from "vitest";
import { randomVectors, worstGradientError } from "../test/helpers.js";
import { RepLlama } from "./index.js";

const f = (...xs: number[]): Float32Array => Float32Array.from(xs);

describe("RepLlama", () => {
  it("matches a hand-computed case, with and without 1/√dim scaling", () => {
    // q = (1, 2), d⁺ = (1, 0), d⁻ = (0, 1): logits [1, 2].
    const batch = { queries: [f(1, 2)], positives: [f(1, 0)], negatives: [[f(0, 1)]] };
    const plain = new RepLlama().fromEmbeddings(batch);
    expect(plain.loss).toBeCloseTo(-1 + Math.log(Math.exp(1) + Math.exp(2)), 12);
    // dL/dq = Σ softmax·d − d⁺ = (σ1 − 1, σ2) with σ = softmax([1, 2]).
    const s1 = 1 / (1 + Math.E);
    expect(plain.dQueries[0]?.[0]).toBeCloseTo(s1 - 1, 6);
    expect(plain.dQueries[0]?.[1]).toBeCloseTo(1 - s1, 6);
    const scaled = new RepLlama({ scaleByDim: true }).fromEmbeddings(batch);
    expect(scaled.loss).toBeCloseTo(-0.5 + Math.log(Math.exp(0.5) + Math.exp(1)), 12);
  });

  it("without in-batch negatives, is the mean of independent per-query losses", () => {
    const v = randomVectors(10, 4, 3);
    const loss = new RepLlama();
    const whole = loss.fromEmbeddings({
      queries: [v[0]!, v[1]!], positives: [v[2]!, v[3]!], negatives: [[v[4]!, v[5]!, v[6]!], [v[7]!, v[8]!, v[9]!]],
    });
    const a = loss.fromEmbeddings({ queries: [v[0]!], positives: [v[2]!], negatives: [[v[4]!, v[5]!, v[6]!]] });
    const b = loss.fromEmbeddings({ queries: [v[1]!], positives: [v[3]!], negatives: [[v[7]!, v[8]!, v[9]!]] });
    expect(whole.loss).toBeCloseTo((a.loss + b.loss) / 2, 12);
    expect(whole.dQueries[1]?.[0]).toBeCloseTo((b.dQueries[0]?.[0] ?? NaN) / 2, 6);
  });

  it("with in-batch negatives, scores every document of the batch", () => {
    const [q0, q1, p0, p1, n0, n1] = randomVectors(6, 3, 9) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, k) => s + x * b[k]!, 0);
    const term = (q: Float32Array, pos: Float32Array): number =>
      -dot(q, pos) + Math.log([p0, p1, n0, n1].reduce((s, d) => s + Math.exp(dot(q, d)), 0));
    const out = new RepLlama({ inBatchNegatives: true }).fromEmbeddings({ queries: [q0, q1], positives: [p0, p1], negatives: [[n0], [n1]] });
    expect(out.loss).toBeCloseTo((term(q0, p0) + term(q1, p1)) / 2, 10);
  });

  for (const options of [{}, { scaleByDim: true }, { inBatchNegatives: true }, { scaleByDim: true, inBatchNegatives: true }]) {
    it(`has gradients that match finite differences (${JSON.stringify(options)})`, () => {
      const v = randomVectors(11, 6, 21);
      const batch = {
        queries: v.slice(0, 3),
        positives: v.slice(3, 6),
        negatives: [[v[6]!, v[7]!], [v[8]!], [v[9]!, v[10]!]],
        positiveKeys: ["a", "b", "c"],
        negativeKeys: [["x", "y"], ["a"], ["z", "w"]],
      };
      expect(worstGradientError(new RepLlama(options), batch)).toBeLessThan(2e-3);
    });
  }

  it("masks another query's copy of the positive when in-batch negatives are on", () => {
    const [q0, q1, p0, n0, n1] = randomVectors(5, 3, 4) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const loss = new RepLlama({ inBatchNegatives: true });
    const batch = { queries: [q0, q1], positives: [p0, p0.slice()], negatives: [[n0], [n1]] };
    const guarded = loss.fromEmbeddings({ ...batch, positiveKeys: ["P", "P"], negativeKeys: [["a"], ["b"]] });
    expect(guarded.maskedDuplicates).toBe(2);
    const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, k) => s + x * b[k]!, 0);
    const term = (q: Float32Array): number => -dot(q, p0) + Math.log([p0, n0, n1].reduce((s, d) => s + Math.exp(dot(q, d)), 0));
    expect(guarded.loss).toBeCloseTo((term(q0) + term(q1)) / 2, 10);
    expect(loss.fromEmbeddings(batch).loss).toBeGreaterThan(guarded.loss);
  });
});
