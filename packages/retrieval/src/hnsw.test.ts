// HNSW against exact search on a generated clustered corpus.
import { describe, expect, it } from "vitest";
import { denseSearch } from "./dense.js";
import { HnswSearcher, describeHnsw } from "./hnsw.js";
import { clustered, recall } from "../test/clustered.js";

describe("HnswSearcher", () => {
  const docs = clustered(20_000, 64, 200, 0.6, 7, "d");
  const queries = clustered(50, 64, 200, 0.6, 99, "q");

  it("reaches recall@100 ≥ 0.98 against exact search with its defaults (f16), with scores as exact cosine", () => {
    const exact = denseSearch(queries, docs, { k: 100 });
    const searcher = new HnswSearcher(queries, { k: 100 });
    for (let s = 0; s < docs.ids.length; s += 3000) searcher.addDocuments({ ids: docs.ids.slice(s, s + 3000), vectors: docs.vectors.slice(s, s + 3000) });
    expect(searcher.documentCount).toBe(20_000);
    const approx = searcher.run();
    expect(recall(approx, exact, 100)).toBeGreaterThanOrEqual(0.98);
    for (const [qid, ranked] of Object.entries(approx)) {
      expect(Object.keys(ranked)).toHaveLength(100);
      for (const [id, score] of Object.entries(ranked)) if (id in exact[qid]!) expect(Math.abs(score - exact[qid]![id]!)).toBeLessThan(2e-3); // f16 storage
    }
  });

  it("removes excluded ids and still returns k documents; one query alone works", () => {
    const one = { ids: [queries.ids[0]!], vectors: [queries.vectors[0]!] };
    const small = { ids: docs.ids.slice(0, 5000), vectors: docs.vectors.slice(0, 5000) };
    const exact = denseSearch(one, small, { k: 10, similarity: "dot" });
    const top = Object.keys(exact[queries.ids[0]!]!).slice(0, 3);
    const searcher = new HnswSearcher(one, { k: 10, similarity: "dot", quantization: "f32", exclude: { [queries.ids[0]!]: top } });
    searcher.addDocuments(small);
    const ranked = searcher.run()[queries.ids[0]!]!;
    expect(Object.keys(ranked)).toHaveLength(10);
    for (const id of top) expect(ranked).not.toHaveProperty(id);
    const expected = Object.keys(exact[queries.ids[0]!]!).slice(3);
    expect(Object.keys(ranked).filter((id) => expected.includes(id)).length).toBeGreaterThanOrEqual(6);
  });

  it("rejects bad input with a line naming it, and use after release", async () => {
    expect(() => new HnswSearcher(queries, { k: 0 })).toThrow(/k must be a positive integer, got 0/);
    expect(() => new HnswSearcher(queries, { k: 5, connectivity: 1 })).toThrow(/connectivity must be an integer ≥ 2, got 1/);
    expect(() => new HnswSearcher(queries, { k: 5, quantization: "f8" as "f16" })).toThrow(/quantization must be "f32", "f16" or "i8"/);
    const searcher = new HnswSearcher(queries, { k: 5 });
    expect(() => searcher.addDocuments({ ids: ["a"], vectors: [new Float32Array(3)] })).toThrow(/document a has 3 dims, expected 64/);
    const bad = new Float32Array(64);
    bad[5] = Number.NaN;
    expect(() => searcher.addDocuments({ ids: ["b"], vectors: [bad] })).toThrow(/document b has a non-finite value at index 5/);
    expect(Object.values(searcher.run()).every((r) => Object.keys(r).length === 0)).toBe(true); // empty corpus
    await searcher.release();
    expect(() => searcher.run()).not.toThrow(); // nothing was added: nothing to search
    expect(() => searcher.addDocuments(docs)).toThrow(/used after release/);
    expect(describeHnsw({})).toBe("hnsw (usearch, M 32, efConstruction 128, ef max(512, 2k), f16)");
  });

  it("builds the same graph every time on one thread, near-duplicate documents included", () => {
    // Near-duplicates (a passkey haystack differs in a few tokens) are where graph order matters most.
    const base = clustered(3_000, 32, 3, 0.01, 11, "n");
    const queries = clustered(20, 32, 3, 0.05, 12, "q");
    const once = () => {
      const searcher = new HnswSearcher(queries, { k: 50, threads: 1, expansionSearch: 64 });
      for (let start = 0; start < base.ids.length; start += 500) searcher.addDocuments({ ids: base.ids.slice(start, start + 500), vectors: base.vectors.slice(start, start + 500) });
      return JSON.stringify(searcher.run());
    };
    expect(once()).toBe(once());
  });
});
