import { describe, expect, it } from "vitest";
import { Rng } from "../rng.js";
import { passageText, pickNegatives } from "./msmarco.js";

const passages = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ docid: `${prefix}${i}`, title: "", text: `${prefix}${i}` }));

describe("pickNegatives", () => {
  it("takes new_negatives first, in order, and at most `count` of them", () => {
    expect(pickNegatives(passages("n", 3), passages("p", 20), 15, Rng.seeded(1)).slice(0, 3)).toEqual(["n0", "n1", "n2"]);
    expect(pickNegatives(passages("n", 18), passages("p", 20), 15, Rng.seeded(1))).toEqual(passages("n", 15).map((p) => p.text));
  });

  it("draws the rest from negative_passages without replacement when there are enough", () => {
    const picked = pickNegatives(passages("n", 2), passages("p", 13), 15, Rng.seeded(5));
    expect(picked.length).toBe(15);
    expect(new Set(picked).size).toBe(15);
    expect(new Set(picked.slice(2))).toEqual(new Set(passages("p", 13).map((p) => p.text)));
  });

  it("uses every passage once, then draws with replacement, only when too few exist", () => {
    const picked = pickNegatives([], passages("p", 3), 15, Rng.seeded(2));
    expect(picked.length).toBe(15);
    expect(new Set(picked.slice(0, 3))).toEqual(new Set(["p0", "p1", "p2"]));
    expect(picked.every((t) => ["p0", "p1", "p2"].includes(t))).toBe(true);
    // no negative_passages at all: the new negatives are repeated
    expect(new Set(pickNegatives(passages("n", 2), [], 5, Rng.seeded(2)))).toEqual(new Set(["n0", "n1"]));
  });

  it("does not draw a passage that is already among the new negatives", () => {
    const pool = passages("p", 16);
    const newNegatives = [pool[4]!, pool[9]!];
    const picked = pickNegatives(newNegatives, pool, 16, Rng.seeded(3));
    expect(new Set(picked).size).toBe(16);
    expect(picked.filter((t) => t === "p4" || t === "p9").length).toBe(2);
  });

  it("is a function of the rng: same seed same picks, other seeds other orders", () => {
    const pool = passages("p", 40);
    const a = pickNegatives([], pool, 15, Rng.seeded(9, 0, 3));
    expect(pickNegatives([], pool, 15, Rng.seeded(9, 0, 3))).toEqual(a);
    expect(pickNegatives([], pool, 15, Rng.seeded(10, 0, 3))).not.toEqual(a);
  });

  it("joins title and text with a space, and leaves an empty title out", () => {
    expect(passageText({ title: "Title", text: "body" })).toBe("Title body");
    expect(passageText({ title: "", text: "body" })).toBe("body");
    expect(passageText({ title: null, text: "body" })).toBe("body");
  });
});
