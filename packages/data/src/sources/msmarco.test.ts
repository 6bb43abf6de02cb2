import { describe, expect, it } from "vitest";
import { Rng } from "../rng.js";
import { MAX_NEW_NEGATIVES, passageText, pickNegatives } from "./msmarco.js";

// Titles are empty, as in most msmarco rows: every document text then starts with the reference's space.
const passages = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ docid: `${prefix}${i}`, title: "", text: `${prefix}${i}` }));
const doc = (name: string) => ` ${name}`;

describe("pickNegatives", () => {
  it("takes at most 3 new_negatives, in order, as the reference does, or as many as asked", () => {
    expect(MAX_NEW_NEGATIVES).toBe(3);
    const picked = pickNegatives(passages("n", 18), passages("p", 20), 15, Rng.seeded(1));
    expect(picked.slice(0, 3)).toEqual(["n0", "n1", "n2"].map(doc));
    expect(picked.slice(3).every((t) => t.startsWith(" p"))).toBe(true);
    expect(pickNegatives(passages("n", 18), passages("p", 20), 15, Rng.seeded(1), 15)).toEqual(passages("n", 15).map((p) => doc(p.text)));
    expect(pickNegatives(passages("n", 5), passages("p", 20), 2, Rng.seeded(1))).toEqual(["n0", "n1"].map(doc));
  });

  it("draws the rest from negative_passages without replacement when there are enough", () => {
    const picked = pickNegatives(passages("n", 2), passages("p", 13), 15, Rng.seeded(5));
    expect(picked.length).toBe(15);
    expect(new Set(picked).size).toBe(15);
    expect(new Set(picked.slice(2))).toEqual(new Set(passages("p", 13).map((p) => doc(p.text))));
  });

  it("uses every passage once, then draws with replacement, only when too few exist", () => {
    const picked = pickNegatives([], passages("p", 3), 15, Rng.seeded(2));
    expect(picked.length).toBe(15);
    expect(new Set(picked.slice(0, 3))).toEqual(new Set(["p0", "p1", "p2"].map(doc)));
    expect(picked.every((t) => ["p0", "p1", "p2"].map(doc).includes(t))).toBe(true);
    // no negative_passages at all: the new negatives are repeated
    expect(new Set(pickNegatives(passages("n", 2), [], 5, Rng.seeded(2)))).toEqual(new Set(["n0", "n1"].map(doc)));
  });

  it("does not draw a passage that is already among the new negatives", () => {
    const pool = passages("p", 16);
    const newNegatives = [pool[4]!, pool[9]!];
    const picked = pickNegatives(newNegatives, pool, 16, Rng.seeded(3));
    expect(new Set(picked).size).toBe(16);
    expect(picked.filter((t) => t === doc("p4") || t === doc("p9")).length).toBe(2);
  });

  it("is a function of the rng: same seed same picks, other seeds other orders", () => {
    const pool = passages("p", 40);
    const a = pickNegatives([], pool, 15, Rng.seeded(9, 0, 3));
    expect(pickNegatives([], pool, 15, Rng.seeded(9, 0, 3))).toEqual(a);
    expect(pickNegatives([], pool, 15, Rng.seeded(10, 0, 3))).not.toEqual(a);
  });

  it("joins title and text with one space always, as the reference does (a leading space when the title is empty)", () => {
    expect(passageText({ title: "Title", text: "body" })).toBe("Title body");
    expect(passageText({ title: "", text: "body" })).toBe(" body");
    expect(passageText({ title: null, text: "body" })).toBe(" body");
  });
});
