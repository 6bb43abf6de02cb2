import { describe, expect, it } from "vitest";
import { changedDocuments, pMRR, pMRRFromChanges, rankScore } from "./index.js";

describe("p-MRR", () => {
  it("matches a hand-computed FollowIR case", () => {
    const ogQrels = { q1: { d1: 1, d2: 1, d3: 0 }, q2: { a: 1, b: 1 }, q3: { x: 1 } };
    const changedQrels = { q1: { d1: 0, d2: 1, d3: 0 }, q2: { a: 0, b: 0 }, q3: { x: 1 } };
    const ogRun = {
      q1: { d1: 0.9, d2: 0.8, d3: 0.7 },
      q2: { a: 0.5, b: 0.5, c: 0.1 }, // tie: b ranks 1, a ranks 2
      q3: { x: 1 },
    };
    const changedRun = {
      q1: { d2: 0.9, d3: 0.8, d1: 0.7 }, // d1: rank 1 → 3, moved down: 1 − (1/3)/(1/1) = 2/3
      q2: { c: 0.9, a: 0.8 }, // a: 2 → 2, score 0; b: 1 → missing = len + 1 = 3, 1 − (1/3)/1 = 2/3
      q3: { x: 1 },
    };
    expect([...changedDocuments(ogQrels, changedQrels)]).toEqual([
      ["q1", ["d1"]],
      ["q2", ["a", "b"]],
    ]);
    const result = pMRR(ogRun, changedRun, ogQrels, changedQrels);
    expect(result.perQuery.get("q1")).toBeCloseTo(2 / 3, 15);
    expect(result.perQuery.get("q2")).toBeCloseTo((0 + 2 / 3) / 2, 15);
    expect(result.perQuery.has("q3")).toBe(false); // no judgement changed
    expect(result.value).toBeCloseTo((2 / 3 + 1 / 3) / 2, 15);
  });

  it("penalizes a document that moved up after it stopped being relevant", () => {
    expect(rankScore(4, 2)).toBe(2 / 4 - 1);
    expect(rankScore(2, 4)).toBe(1 - 2 / 4);
    expect(rankScore(3, 3)).toBe(0);
    const result = pMRRFromChanges({ q: { a: 3, b: 2, c: 1 } }, { q: { c: 3, b: 2, a: 1 } }, { q: ["c"] });
    expect(result.value).toBe(1 / 3 / (1 / 1) - 1);
  });

  it("rejects a query with changed judgements that a run lacks", () => {
    expect(() => pMRRFromChanges({ q: { a: 1 } }, {}, { q: ["a"] })).toThrow(
      'p-MRR: query "q" has changed judgements but is missing from the changed run',
    );
  });
});
