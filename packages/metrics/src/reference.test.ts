import { describe, expect, it } from "vitest";
import { evaluate } from "./index.js";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Code point order, written independently of the package's compareIds. */
function byCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Textbook trec_eval: sort the whole list, then apply each formula over the ranked labels. */
function naive(labels: Record<string, number>, scores: Record<string, number>, level: number, maxDocs: number) {
  const ranked = Object.keys(scores)
    .sort((a, b) => scores[b]! - scores[a]! || byCodePoints(b, a))
    .slice(0, maxDocs)
    .map((d) => labels[d] ?? -1);
  const isRel = (l: number) => l >= level && l >= 0;
  const R = Object.values(labels).filter(isRel).length;
  const ideal = Object.values(labels).filter((l) => l > 0).sort((a, b) => b - a);
  const top = (k: number) => ranked.slice(0, k);
  const P = (k: number) => top(k).filter(isRel).length / k;
  const recall = (k: number) => (R ? top(k).filter(isRel).length / R : 0);
  const ap = (k: number) => {
    let found = 0;
    let sum = 0;
    top(k).forEach((l, i) => {
      if (isRel(l)) sum += ++found / (i + 1);
    });
    return R ? sum / R : 0;
  };
  const dcg = (gains: number[]) => gains.reduce((s, g, i) => s + (g > 0 ? g / Math.log2(i + 2) : 0), 0);
  const ndcg = (k: number) => {
    const best = dcg(ideal.slice(0, k));
    return best > 0 ? dcg(top(k)) / best : 0;
  };
  const first = ranked.findIndex(isRel) + 1;
  const rr = (k: number) => (first > 0 && first <= k ? 1 / first : 0);
  return {
    map: ap(Infinity),
    recip_rank: rr(Infinity),
    P_1: P(1),
    P_5: P(5),
    P_20: P(20),
    recall_5: recall(5),
    recall_100: recall(100),
    ndcg: ndcg(Infinity),
    ndcg_cut_3: ndcg(3),
    ndcg_cut_10: ndcg(10),
    map_cut_5: ap(5),
    success_1: rr(1) > 0 ? 1 : 0,
    success_10: rr(10) > 0 ? 1 : 0,
    recip_rank_cut_5: rr(5),
  };
}

const MEASURES = ["map", "recip_rank", "P.1,5,20", "recall.5,100", "ndcg", "ndcg_cut.3,10", "map_cut.5", "success.1,10", "mrr_cut.5"];

describe("evaluate against a naive reference", () => {
  for (const [seed, level, maxDocs] of [
    [1, 1, Infinity],
    [2, 2, Infinity],
    [3, 0, Infinity],
    [4, 1, 7],
  ] as const) {
    it(`agrees on random runs with ties and graded labels (seed ${seed}, level ${level}, max ${maxDocs})`, () => {
      const next = rng(seed);
      const pool = Array.from({ length: 90 }, (_, i) => (i % 17 === 0 ? `\u{1F600}${i}` : i % 13 === 0 ? `\uE000${i}` : `d${i}`));
      const qrels: Record<string, Record<string, number>> = {};
      const run: Record<string, Record<string, number>> = {};
      for (let q = 0; q < 40; q++) {
        const qid = `q${q}`;
        // Some queries judge many documents (the sorting path), most only a few (the counting path).
        const judged = q % 4 === 0 ? 40 : Math.floor(next() * 6);
        qrels[qid] = {};
        for (let j = 0; j < judged; j++) qrels[qid]![pool[Math.floor(next() * pool.length)]!] = Math.floor(next() * 5) - 1;
        if (q % 9 === 5) continue; // missing from the run
        run[qid] = {};
        const retrieved = Math.floor(next() * 60);
        for (let r = 0; r < retrieved; r++) run[qid]![pool[Math.floor(next() * pool.length)]!] = Math.floor(next() * 8) / 4;
      }
      const result = evaluate(qrels, run, MEASURES, { relevanceLevel: level, maxDocsPerQuery: maxDocs === Infinity ? undefined : maxDocs });
      const evaluated = Object.keys(qrels).filter((qid) => qid in run);
      expect([...result.perQuery.keys()].sort()).toEqual(evaluated.sort());
      const sums: Record<string, number> = {};
      for (const qid of evaluated) {
        const expected = naive(qrels[qid]!, run[qid]!, level, maxDocs);
        const actual = result.perQuery.get(qid)!;
        for (const [name, value] of Object.entries(expected)) {
          expect(actual[name], `${qid} ${name}`).toBeCloseTo(value, 12);
          sums[name] = (sums[name] ?? 0) + value;
        }
      }
      for (const [name, sum] of Object.entries(sums)) expect(result.aggregate[name], name).toBeCloseTo(sum / evaluated.length, 12);
    });
  }
});
