import { describe, expect, it } from "vitest";
import { Bm25Index, bm25Rerank, bm25Search } from "./bm25.js";
import { tokenize } from "./tokenize.js";

const plain = { stopwords: false, stem: false } as const;
const docs = [
  { id: "d1", text: "cat cat dog" },
  { id: "d2", text: "dog" },
  { id: "d3", text: "bird fish" },
];

describe("Bm25Index", () => {
  // Hand-computed: N = 3, avgdl = 2, k1 = 0.9, b = 0.4.
  // idf(cat) = ln(1 + 2.5/1.5) = 0.980829, idf(dog) = ln(1 + 1.5/2.5) = 0.470004.
  // d1: tf(cat) = 2, len 3 → 2 / (2 + 1.08) · 0.980829 = 0.636902; tf(dog) = 1 → 1/2.08 · 0.470004 = 0.225963.
  // d2: tf(dog) = 1, len 1 → 1 / (1 + 0.72) · 0.470004 = 0.273258.
  it("scores as Lucene's BM25 with k1 0.9 and b 0.4", () => {
    const index = new Bm25Index(plain).addAll(docs);
    const dog = index.search("dog", 10);
    expect(Object.keys(dog)).toEqual(["d2", "d1"]);
    expect(dog.d2).toBeCloseTo(0.273258, 5);
    expect(dog.d1).toBeCloseTo(0.225963, 5);
    const both = index.search("cat dog", 10);
    expect(both.d1).toBeCloseTo(0.636902 + 0.225963, 5);
    expect(index.search("dog dog", 10).d2).toBeCloseTo(2 * 0.273258, 5);
  });

  it("returns only documents that share a term, at most k", () => {
    const index = new Bm25Index(plain).addAll(docs);
    expect(Object.keys(index.search("fish", 10))).toEqual(["d3"]);
    expect(Object.keys(index.search("cat dog", 1))).toEqual(["d1"]);
    expect(index.search("zebra", 10)).toEqual({});
  });

  it("drops excluded ids and scores candidate lists with whole-corpus statistics", () => {
    const run = bm25Search([{ id: "q", text: "dog" }], docs, { ...plain, k: 10, exclude: { q: ["d2"] } });
    expect(Object.keys(run.q!)).toEqual(["d1"]);
    const rerank = bm25Rerank([{ id: "q", text: "dog" }], docs, { q: ["d1", "d3"] }, plain);
    expect(rerank.q!.d1).toBeCloseTo(0.225963, 5);
    expect(rerank.q!.d3).toBe(0);
    expect(() => bm25Rerank([{ id: "q", text: "dog" }], docs, { q: ["nope"] }, plain)).toThrow(/"nope" is not in the index/);
  });

  it("rejects a duplicate document id and bad parameters", () => {
    const index = new Bm25Index();
    index.add("a", "x");
    expect(() => index.add("a", "y")).toThrow(/"a" added twice/);
    expect(() => new Bm25Index({ b: 2 })).toThrow(/b must be in \[0, 1\]/);
  });
});

describe("tokenize", () => {
  it("lowercases, drops possessives and stop words, splits on non-alphanumerics and stems", () => {
    expect(tokenize("The Cats' owner's DOGS were running-fast in 2024!")).toEqual([
      "cat", "owner", "dog", "were", "run", "fast", "2024",
    ]);
  });

  it("can keep stop words and skip stemming, and accepts a custom stop list", () => {
    expect(tokenize("The running dogs", { stopwords: false, stem: false })).toEqual(["the", "running", "dogs"]);
    expect(tokenize("The running dogs", { stopwords: new Set(["dogs"]), stem: false })).toEqual(["the", "running"]);
    expect(tokenize("Grüße aus Köln")).toEqual(["grüße", "au", "köln"]);
  });
});
