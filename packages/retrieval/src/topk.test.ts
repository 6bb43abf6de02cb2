import { describe, expect, it } from "vitest";
import { TopK } from "./topk.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("TopK", () => {
  it("keeps the same k entries as a full sort, ties broken by doc id descending", () => {
    const rand = lcg(7);
    for (const k of [1, 3, 10, 50]) {
      const items = Array.from({ length: 200 }, (_, i) => [`d${i}`, Math.floor(rand() * 20)] as [string, number]);
      const top = new TopK(k);
      for (const [id, score] of items) top.push(id, score);
      const expected = [...items].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).slice(0, k);
      expect(top.sorted()).toEqual(expected);
    }
  });

  it("holds fewer than k when fewer were pushed, and reports a threshold once full", () => {
    const top = new TopK(3);
    top.push("a", 1);
    expect(top.length).toBe(1);
    expect(top.threshold).toBe(-Infinity);
    top.push("b", 2);
    top.push("c", 0.5);
    expect(top.threshold).toBe(0.5);
    expect(Object.keys(top.toRecord())).toEqual(["b", "a", "c"]);
  });

  it("rejects a k that is not a positive integer", () => {
    expect(() => new TopK(0)).toThrow(/positive integer/);
    expect(() => new TopK(1.5)).toThrow(/positive integer/);
  });
});
