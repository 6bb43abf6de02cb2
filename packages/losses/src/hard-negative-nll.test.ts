import { describe, expect, it } from "vitest";
import { randomVectors, worstGradientError } from "../test/helpers.js";
import { HardNegativeNLL } from "./index.js";

const f = (...xs: number[]): Float32Array => Float32Array.from(xs);

describe("HardNegativeNLL", () => {
  it("matches a hand-computed case (scale 1)", () => {
    // q0 = e1, q1 = e2; docs D = [p0 = e1, p1 = (1,1), n0 = (0,-1)].
    // cos(q0, D) = [1, 1/√2, 0]; cos(q1, D) = [0, 1/√2, -1].
    const r = Math.SQRT1_2;
    const l0 = -1 + Math.log(Math.exp(1) + Math.exp(r) + Math.exp(0));
    const l1 = -r + Math.log(Math.exp(0) + Math.exp(r) + Math.exp(-1));
    const out = new HardNegativeNLL({ scale: 1 }).fromEmbeddings({
      queries: [f(1, 0), f(0, 1)],
      positives: [f(1, 0), f(1, 1)],
      negatives: [[f(0, -1)], []],
    });
    expect(out.loss).toBeCloseTo((l0 + l1) / 2, 12);
    expect(out.dNegatives[0]).toHaveLength(1);
    expect(out.dNegatives[1]).toHaveLength(0);
  });

  it("is invariant to the embeddings' lengths, and its gradients are orthogonal to them", () => {
    const [q, p, n] = [randomVectors(3, 6, 1), randomVectors(3, 6, 2), randomVectors(3, 6, 3)];
    const loss = new HardNegativeNLL();
    const a = loss.fromEmbeddings({ queries: q, positives: p, negatives: n.map((v) => [v]) });
    const scaled = q.map((v, i) => v.map((x) => x * (i + 2)));
    const b = loss.fromEmbeddings({ queries: scaled, positives: p, negatives: n.map((v) => [v]) });
    expect(b.loss).toBeCloseTo(a.loss, 5);
    a.dQueries.forEach((g, i) => {
      const dot = g.reduce((s, x, k) => s + x * (q[i]?.[k] ?? 0), 0);
      expect(Math.abs(dot)).toBeLessThan(1e-6);
    });
  });

  it("has gradients that match finite differences (scale 50, uneven negatives, keys)", () => {
    const v = randomVectors(12, 5, 7);
    const batch = {
      queries: v.slice(0, 3),
      positives: v.slice(3, 6),
      negatives: [[v[6] as Float32Array, v[7] as Float32Array], [], [v[8] as Float32Array]],
      positiveKeys: ["a", "b", "c"],
      negativeKeys: [["x", "b"], [], ["y"]],
    };
    expect(worstGradientError(new HardNegativeNLL({ scale: 50 }), batch)).toBeLessThan(2e-3);
  });

  it("masks a duplicate of a query's own positive out of that query's denominator", () => {
    const v = randomVectors(6, 4, 11);
    const [q0, q1, p0, n0, n1] = v as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    // Query 1's positive is the same passage as query 0's (same key, slightly different vector as after
    // different padding); query 0's negative list also contains that passage.
    const p1 = p0.map((x) => x * 1.01);
    const dupOfP0 = p0.slice();
    const loss = new HardNegativeNLL({ scale: 10 });
    const guarded = loss.fromEmbeddings({
      queries: [q0, q1],
      positives: [p0, p1],
      negatives: [[n0, dupOfP0], [n1]],
      positiveKeys: ["P", "P"],
      negativeKeys: [["N0", "P"], ["N1"]],
    });
    // Query 0 loses p1 and dupOfP0; query 1 loses p0 and dupOfP0.
    expect(guarded.maskedDuplicates).toBe(4);
    const cos = (a: Float32Array, b: Float32Array): number => {
      let ab = 0, aa = 0, bb = 0;
      for (let k = 0; k < a.length; k++) { ab += a[k]! * b[k]!; aa += a[k]! * a[k]!; bb += b[k]! * b[k]!; }
      return ab / Math.sqrt(aa * bb);
    };
    const term = (q: Float32Array, pos: Float32Array, rest: Float32Array[]): number =>
      -10 * cos(q, pos) + Math.log([pos, ...rest].reduce((s, d) => s + Math.exp(10 * cos(q, d)), 0));
    const expected = (term(q0, p0, [n0, n1]) + term(q1, p1, [n0, n1])) / 2;
    expect(guarded.loss).toBeCloseTo(expected, 10);
    // The duplicate receives no gradient: it is in no denominator and is nobody's label.
    expect(Array.from(guarded.dNegatives[0]?.[1] ?? [])).toEqual([0, 0, 0, 0]);

    const unguarded = loss.fromEmbeddings({ queries: [q0, q1], positives: [p0, p1], negatives: [[n0, dupOfP0], [n1]] });
    expect(unguarded.maskedDuplicates).toBe(0);
    expect(unguarded.loss).toBeGreaterThan(guarded.loss + 0.1);
  });

  it("stays finite for huge scales (log-sum-exp is shifted)", () => {
    const v = randomVectors(4, 3, 5);
    const out = new HardNegativeNLL({ scale: 1e5 }).fromEmbeddings({
      queries: [v[0]!, v[1]!], positives: [v[2]!, v[3]!], negatives: [[], []],
    });
    expect(Number.isFinite(out.loss)).toBe(true);
    for (const g of out.dQueries) for (const x of g) expect(Number.isFinite(x)).toBe(true);
  });

  it("rejects bad input with the row and field named", () => {
    const loss = new HardNegativeNLL();
    const ok = f(1, 0);
    expect(() => loss.fromEmbeddings({ queries: [ok], positives: [f(1, 0, 0)], negatives: [[]] })).toThrow(/positives\[0\] has length 3, expected 2/);
    expect(() => loss.fromEmbeddings({ queries: [ok], positives: [ok], negatives: [[f(0, NaN)]] })).toThrow(/negatives\[0\]\[0\]\[1\] is NaN/);
    expect(() => loss.fromEmbeddings({ queries: [ok], positives: [f(0, 0)], negatives: [[]] })).toThrow(/positives\[0\] has norm 0/);
    expect(() => loss.fromEmbeddings({ queries: [ok, ok], positives: [ok], negatives: [[], []] })).toThrow(/positives has 1 rows, expected 2/);
    expect(() => loss.fromEmbeddings({ queries: [ok], positives: [ok], negatives: [[ok]], positiveKeys: ["a"], negativeKeys: [[]] })).toThrow(/negativeKeys\[0\] has 0 entries, expected 1/);
    expect(() => new HardNegativeNLL({ scale: 0 })).toThrow(/scale must be a positive number/);
  });
});
