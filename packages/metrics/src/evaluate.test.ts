import { describe, expect, it } from "vitest";
import { evaluate, formatTrecEval } from "./index.js";

// REFERENCE.md's hand-checked case. Ranking: d3 (.9, label 0), then the .8 tie broken by doc id descending:
// d4 (unjudged) before d1 (2), then d2 (1), d9 (unjudged). d5 (1) is never retrieved.
const qrels = { q1: { d1: 2, d2: 1, d3: 0, d5: 1 } };
const run = { q1: { d3: 0.9, d1: 0.8, d4: 0.8, d2: 0.5, d9: 0.1 } };

describe("evaluate: the hand-checked case", () => {
  const result = evaluate(qrels, run, ["recip_rank", "ndcg_cut.3,5", "map_cut.10", "P.10", "map", "recall.5", "success.1,5"]);
  const q1 = result.perQuery.get("q1")!;

  it("matches the REFERENCE.md values to 4 decimals", () => {
    expect(q1.recip_rank!.toFixed(4)).toBe("0.3333");
    expect(q1.ndcg_cut_3!.toFixed(4)).toBe("0.3194");
    expect(q1.ndcg_cut_5!.toFixed(4)).toBe("0.4569");
    expect(q1.map_cut_10!.toFixed(4)).toBe("0.2778");
    expect(q1.P_10).toBe(0.2);
  });

  it("follows the formulas exactly", () => {
    const ideal = 2 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(q1.ndcg_cut_3).toBe(2 / Math.log2(4) / ideal);
    expect(q1.ndcg_cut_5).toBe((2 / Math.log2(4) + 1 / Math.log2(5)) / ideal);
    expect(q1.map).toBe((1 / 3 + 2 / 4) / 3); // divided by all 3 relevant, d5 included
    expect(q1.recall_5).toBe(2 / 3);
    expect(q1.success_1).toBe(0);
    expect(q1.success_5).toBe(1);
  });

  it("prints trec_eval's lines in trec_eval's measure order", () => {
    expect(result.measures).toEqual(["map", "recip_rank", "P_10", "recall_5", "ndcg_cut_3", "ndcg_cut_5", "map_cut_10", "success_1", "success_5"]);
    expect(formatTrecEval(result, { perQuery: true })).toBe(
      [
        "map                   \tq1\t0.2778",
        "recip_rank            \tq1\t0.3333",
        "P_10                  \tq1\t0.2000",
        "recall_5              \tq1\t0.6667",
        "ndcg_cut_3            \tq1\t0.3194",
        "ndcg_cut_5            \tq1\t0.4569",
        "map_cut_10            \tq1\t0.2778",
        "success_1             \tq1\t0.0000",
        "success_5             \tq1\t1.0000",
        "map                   \tall\t0.2778",
        "recip_rank            \tall\t0.3333",
        "P_10                  \tall\t0.2000",
        "recall_5              \tall\t0.6667",
        "ndcg_cut_3            \tall\t0.3194",
        "ndcg_cut_5            \tall\t0.4569",
        "map_cut_10            \tall\t0.2778",
        "success_1             \tall\t0.0000",
        "success_5             \tall\t1.0000",
        "",
      ].join("\n"),
    );
  });
});

describe("evaluate: trec_eval semantics", () => {
  it("uses labels as linear gains and counts label ≥ relevanceLevel as relevant", () => {
    const graded = { q: { a: 3, b: 1, c: 2, d: 0 } };
    const ranking = { q: { b: 4, d: 3, a: 2, c: 1 } };
    const dcg = 1 / Math.log2(2) + 3 / Math.log2(4) + 2 / Math.log2(5);
    const ideal = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
    const level1 = evaluate(graded, ranking, ["ndcg", "ndcg_cut.2", "P.2", "map", "recip_rank"]).perQuery.get("q")!;
    expect(level1.ndcg).toBe(dcg / ideal);
    expect(level1.ndcg_cut_2).toBe(1 / (3 + 2 / Math.log2(3)));
    expect(level1.P_2).toBe(0.5);
    expect(level1.map).toBe((1 / 1 + 2 / 3 + 3 / 4) / 3);
    const level2 = evaluate(graded, ranking, ["ndcg", "P.2", "map", "recip_rank"], { relevanceLevel: 2 }).perQuery.get("q")!;
    expect(level2.ndcg).toBe(dcg / ideal); // gains do not depend on the level
    expect(level2.P_2).toBe(0);
    expect(level2.map).toBe((1 / 3 + 2 / 4) / 2);
    expect(level2.recip_rank).toBe(1 / 3);
  });

  it("breaks score ties by doc id descending, byte-wise", () => {
    const tied = { q: { a: 1, b: 1, c: 1, "\u{1F600}": 1, "\uE000": 1 } };
    // Order: U+1F600 > U+E000 > c > b > a (UTF-8 byte order), whatever JS's UTF-16 `<` says.
    const at = (doc: string) => evaluate({ q: { [doc]: 1 } }, tied, ["recip_rank"]).perQuery.get("q")!.recip_rank;
    expect(["\u{1F600}", "\uE000", "c", "b", "a"].map(at)).toEqual([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]);
    // The same order through the sorting path (more than a handful of relevant documents).
    const letters = [..."abcdefghij"];
    const wide = { q: Object.fromEntries([...letters, "\u{1F600}", "\uE000"].map((d) => [d, 0.5])) };
    const relevant = { q: Object.fromEntries([...letters.slice(1), "\u{1F600}"].map((d) => [d, 1])) };
    expect(evaluate(relevant, wide, ["P.1,2,3,12"]).perQuery.get("q")).toEqual({ P_1: 1, P_2: 0.5, P_3: 2 / 3, P_12: 10 / 12 });
  });

  it("ranks infinite scores, ties between them broken by doc id, on both ranking paths", () => {
    const scores = { q: { a: Infinity, b: Infinity, c: -Infinity, d: -Infinity, e: 0 } };
    const order = (doc: string) => 1 / evaluate({ q: { [doc]: 1 } }, scores, ["recip_rank"]).perQuery.get("q")!.recip_rank!;
    expect(["b", "a", "e", "d", "c"].map(order)).toEqual([1, 2, 3, 4, 5]);
    const many = { q: { ...scores.q, ...Object.fromEntries([..."fghijklm"].map((d) => [d, 0])) } };
    const judged = { q: Object.fromEntries([..."bcdfghijklm"].map((d) => [d, 1])) }; // all but a and e
    expect(evaluate(judged, many, ["P.1,2,13"]).perQuery.get("q")).toEqual({ P_1: 1, P_2: 0.5, P_13: 11 / 13 });
  });

  it("skips queries absent from the run, or scores them 0 with completeQueries", () => {
    const judged = { q1: { d1: 1 }, q2: { d2: 1 } };
    const partial = { q1: { d1: 1 }, q9: { d1: 1 } };
    const skipped = evaluate(judged, partial, ["P.1"]);
    expect(skipped.numQueries).toBe(1);
    expect(skipped.aggregate.P_1).toBe(1);
    expect(skipped.missingQueries).toEqual(["q2"]);
    expect(skipped.unjudgedQueries).toEqual(["q9"]);
    const complete = evaluate(judged, partial, ["P.1"], { completeQueries: true });
    expect(complete.numQueries).toBe(2);
    expect(complete.aggregate.P_1).toBe(0.5);
    expect(complete.perQuery.get("q2")).toEqual({ P_1: 0 });
  });

  it("evaluates empty rankings and queries without relevant documents as 0, counting them in the mean", () => {
    const judged = { q1: { d1: 1 }, q2: { d2: 0, d3: 0 }, q3: { d4: 1 } };
    const ranking = new Map([
      ["q1", new Map([["d1", 1]])],
      ["q2", new Map([["d2", 5]])],
      ["q3", new Map<string, number>()],
    ]);
    const result = evaluate(judged, ranking, ["map", "ndcg", "recall.10", "P.10", "recip_rank"]);
    expect(result.numQueries).toBe(3);
    for (const qid of ["q2", "q3"]) expect(Object.values(result.perQuery.get(qid)!)).toEqual([0, 0, 0, 0, 0]);
    expect(result.aggregate.map).toBe(1 / 3);
    expect(result.aggregate.P_10).toBeCloseTo(0.1 / 3, 15);
    const nothing = evaluate(judged, {}, ["map"]);
    expect(nothing.numQueries).toBe(0);
    expect(nothing.aggregate).toEqual({ map: 0 });
  });

  it("divides P@k by k even when fewer documents were retrieved, and cuts MRR at k", () => {
    const result = evaluate({ q: { b: 1 } }, { q: { a: 2, b: 1 } }, ["P.5", "recip_rank_cut.1,2", "mrr@10", "hit@1"]);
    expect(result.perQuery.get("q")).toEqual({ P_5: 0.2, recip_rank_cut_1: 0, recip_rank_cut_2: 0.5, recip_rank_cut_10: 0.5, success_1: 0 });
  });

  it("evaluates only the top maxDocsPerQuery documents (trec_eval -M)", () => {
    const result = evaluate({ q: { b: 1, c: 1 } }, { q: { a: 3, b: 2, c: 1 } }, ["map", "recall.5"], { maxDocsPerQuery: 2 });
    expect(result.perQuery.get("q")).toEqual({ map: 1 / 2 / 2, recall_5: 1 / 2 });
  });

  it("rejects NaN scores, non-integer labels and bad options", () => {
    expect(() => evaluate({ q: { a: 1 } }, { q: { a: Number.NaN } }, ["map"])).toThrow(
      'run: score of document "a" for query "q" is NaN, expected a number',
    );
    expect(() => evaluate({ q: { a: 0.5 } }, { q: { a: 1 } }, ["map"])).toThrow('qrels: label 0.5 of document "a" for query "q" is not an integer');
    expect(() => evaluate({}, {}, ["map"], { relevanceLevel: 1.5 })).toThrow("relevanceLevel must be a non-negative integer");
    expect(() => evaluate({}, {}, ["map"], { maxDocsPerQuery: 0 })).toThrow("maxDocsPerQuery must be a positive integer");
  });
});
