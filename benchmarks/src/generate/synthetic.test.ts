import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateNeedle, generatePasskey, LONGEMBED_CONTEXT_LENGTHS } from "./synthetic.js";

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const facts = (JSON.parse(readFileSync(new URL("../../assets/needles.json", import.meta.url), "utf8")) as { facts: Array<{ fact: string; question: string }> }).facts;

/** The sentence that answers a query: the passkey sentence for its name, or the fact written for its question. */
function answerOf(task: "passkey" | "needle", query: string): string {
  if (task === "needle") return facts.find((f) => f.question === query)!.fact;
  const name = /for (\S+)\?$/.exec(query)![1]!;
  return `${name}'s pass key is`;
}

describe("passkey and needle generators", () => {
  it("default to LongEmbed's recipe: 8 lengths 256…32768, 100 docs and 50 queries per length", () => {
    expect(LONGEMBED_CONTEXT_LENGTHS).toEqual([256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
    const data = generatePasskey({ contextLengths: [256, 512] });
    for (const split of data.splits) {
      expect(split.corpus).toHaveLength(100);
      expect(split.queries).toHaveLength(50);
      expect(Object.keys(split.qrels)).toHaveLength(50);
    }
    expect(data.source).toMatchObject({ kind: "generated", seed: 42 });
  });

  for (const [name, generate] of [["passkey", generatePasskey], ["needle", generateNeedle]] as const) {
    it(`${name}: every document has 0.75 words per token, and each query's one relevant document holds its answer`, () => {
      const data = generate({ seed: 3, contextLengths: [64, 300, 2048], docsPerLength: 12, queriesPerLength: 5 });
      expect(data.splits.map((s) => s.split)).toEqual(["test_64", "test_300", "test_2048"]);
      for (const split of data.splits) {
        const target = Math.round((split.contextLength as number) * 0.75);
        expect(split.corpus).toHaveLength(12);
        expect(split.queries).toHaveLength(5);
        for (const doc of split.corpus) expect(words(doc.text)).toBe(target);
        expect(new Set(split.corpus.map((d) => d.text)).size).toBe(12);
        for (const q of split.queries) {
          const relevant = Object.keys(split.qrels[q.id]!);
          expect(relevant).toHaveLength(1);
          const answer = answerOf(name, q.text);
          expect(split.corpus.filter((d) => d.text.includes(answer)).map((d) => d.id)).toEqual(relevant);
        }
      }
    });
  }

  it("is deterministic for a seed and differs across seeds", () => {
    const a = generateNeedle({ seed: 1, contextLengths: [128], docsPerLength: 4, queriesPerLength: 2 });
    const b = generateNeedle({ seed: 1, contextLengths: [128], docsPerLength: 4, queriesPerLength: 2 });
    const c = generateNeedle({ seed: 2, contextLengths: [128], docsPerLength: 4, queriesPerLength: 2 });
    expect(b).toEqual(a);
    expect(c.splits[0]!.corpus.map((d) => d.text)).not.toEqual(a.splits[0]!.corpus.map((d) => d.text));
  });

  it("a length does not change when other lengths are added", () => {
    const alone = generatePasskey({ contextLengths: [256], docsPerLength: 4, queriesPerLength: 2 });
    const withOthers = generatePasskey({ contextLengths: [128, 256], docsPerLength: 4, queriesPerLength: 2 });
    expect(withOthers.splits[1]).toEqual(alone.splits[0]);
  });

  it("rejects sizes it cannot honour", () => {
    expect(() => generatePasskey({ contextLengths: [8] })).toThrow(/too short for its needle/);
    expect(() => generatePasskey({ docsPerLength: 3, queriesPerLength: 4 })).toThrow(/queriesPerLength/);
    expect(() => generateNeedle({ docsPerLength: 101 })).toThrow(/exceeds the 100 facts/);
  });
});
