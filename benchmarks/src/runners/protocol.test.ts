// BRIGHT's excluded ids under the three published protocols, and FollowIR's two scorings, on hand-checked cases.
import { describe, expect, it } from "vitest";
import type { EncodeOptions, EncodeResult, TextEncoder } from "../encoder.js";
import { scoreFollowIr } from "../scoring.js";
import type { BrightProtocol, System } from "../systems.js";
import type { RetrievalTaskData } from "../types.js";
import { runRetrievalTask } from "./retrieval.js";

/** Vectors chosen by hand: the text names its vector. */
class LookupEncoder implements TextEncoder {
  readonly cacheKey = { model: "lookup" };
  constructor(private readonly vectors: Record<string, number[]>) {}
  async encode(texts: string[], _options: EncodeOptions): Promise<EncodeResult> {
    return { embeddings: texts.map((t) => Float32Array.from(this.vectors[t]!)), truncated: 0 };
  }
  describe() {
    return { model: "lookup" };
  }
}

// The excluded document is the query's nearest; a relevant one has a negative cosine.
const task: RetrievalTaskData = {
  benchmark: "bright",
  taskId: "leetcode",
  source: { kind: "generated", dataset: "hand-made", revision: null },
  warnings: [],
  splits: [
    {
      split: "standard",
      queries: [{ id: "q1", text: "query" }],
      corpus: [
        { id: "d_excluded", text: "excluded" },
        { id: "d_gold", text: "gold" },
        { id: "d_low", text: "low" },
      ],
      qrels: { q1: { d_gold: 1, d_low: 1 } },
      excluded: { q1: ["d_excluded"] },
    },
  ],
};
const encoder = new LookupEncoder({ query: [1, 0], excluded: [1, 0], gold: [0.5, Math.sqrt(3) / 2], low: [-1, 0] });
const system: System = { kind: "dense", name: "lookup", encoder };

async function ndcg10(protocol: BrightProtocol) {
  const result = await runRetrievalTask(task, "ndcg_at_10", system, "", { brightProtocol: protocol });
  return { score: result.mainScore, run: result.splits[0]!.run.q1! };
}

describe("BRIGHT exclusion protocols", () => {
  const ideal = 1 + 1 / Math.log2(3);
  it("bright removes excluded ids: the relevant documents rank 1 and 2", async () => {
    const { score, run } = await ndcg10("bright");
    expect(Object.keys(run).sort()).toEqual(["d_gold", "d_low"]);
    expect(score).toBeCloseTo(1, 12);
  });

  it("mteb-1.14 keeps them ranked: the relevant documents rank 2 and 3", async () => {
    const { score, run } = await ndcg10("mteb-1.14");
    expect(run.d_excluded).toBeCloseTo(1, 6);
    expect(score).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(4)) / ideal, 12);
  });

  it("paper scores them 0: above a document with a negative score, so ranks 1 and 3", async () => {
    const { score, run } = await ndcg10("paper");
    expect(run.d_excluded).toBe(0);
    expect(run.d_low).toBeCloseTo(-1, 6);
    expect(score).toBeCloseTo((1 + 1 / Math.log2(4)) / ideal, 12);
  });
});

describe("FollowIR scorings", () => {
  // og run ranks d1 first; changed run ranks d2 first. Under og judgements d1 is relevant; under changed, d2 only.
  const runOg = { q: { d1: 0.9, d2: 0.5 } };
  const runChanged = { q: { d2: 0.9, d1: 0.5 } };
  const qrelsOg = { q: { d1: 1, d2: 1 } };
  const qrelsChanged = { q: { d1: 0, d2: 1 } };

  it("paired: each run against its own judgements", () => {
    const s = scoreFollowIr(runOg, runChanged, qrelsOg, qrelsChanged, "paired");
    expect(s.og.ndcg_at_5).toBeCloseTo(1, 12); // both relevant, ranked 1 and 2
    expect(s.changed.ndcg_at_5).toBeCloseTo(1, 12); // d2 ranked first
  });

  it("mteb-1.14: crosswise, and p-MRR is the same under both", () => {
    const s = scoreFollowIr(runOg, runChanged, qrelsOg, qrelsChanged, "mteb-1.14");
    expect(s.og.ndcg_at_5).toBeCloseTo(1 / Math.log2(3), 12); // og run vs changed qrels: d2 at rank 2
    expect(s.changed.ndcg_at_5).toBeCloseTo(1, 12); // changed run vs og qrels: both relevant
    expect(s.pMRR).toBe(scoreFollowIr(runOg, runChanged, qrelsOg, qrelsChanged, "paired").pMRR);
  });
});
