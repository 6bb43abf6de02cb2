import { describe, expect, it } from "vitest";
import { parseMeasures } from "./index.js";

describe("parseMeasures", () => {
  it("reads trec_eval -m names, printed names and @-aliases into trec_eval's print order", () => {
    expect(parseMeasures(["ndcg_cut.10", "map_cut.100", "recip_rank", "P.10", "recall.100", "success.10"]).names).toEqual([
      "recip_rank",
      "P_10",
      "recall_100",
      "ndcg_cut_10",
      "map_cut_100",
      "success_10",
    ]);
    expect(parseMeasures(["ndcg_cut_10", "P_5", "mrr_cut_10", "recip_rank_cut_3"]).names).toEqual([
      "P_5",
      "ndcg_cut_10",
      "recip_rank_cut_3",
      "recip_rank_cut_10",
    ]);
    expect(parseMeasures(["nDCG@10", "MRR@10", "Hit@5", "recall@100", "MAP@100", "p@1", "mrr"]).names).toEqual([
      "recip_rank",
      "P_1",
      "recall_100",
      "ndcg_cut_10",
      "map_cut_100",
      "success_5",
      "recip_rank_cut_10",
    ]);
  });

  it("expands a bare cut measure to trec_eval's default cutoffs and merges repeats", () => {
    expect(parseMeasures(["ndcg_cut"]).names).toEqual([5, 10, 15, 20, 30, 100, 200, 500, 1000].map((k) => `ndcg_cut_${k}`));
    expect(parseMeasures(["success"]).names).toEqual(["success_1", "success_5", "success_10"]);
    expect(parseMeasures(["P.20,5", "P.10", "P.5"]).names).toEqual(["P_5", "P_10", "P_20"]);
  });

  it("rejects unknown names (listing the known ones) and bad parameters", () => {
    expect(() => parseMeasures(["bpref"])).toThrow(/^unknown measure "bpref"; known measures: map, recip_rank, P\.k, recall\.k, ndcg, ndcg_cut\.k/);
    expect(() => parseMeasures(["ndcg_10"])).toThrow('unknown measure "ndcg_10"');
    expect(() => parseMeasures(["foo@10"])).toThrow('unknown measure "foo@10"');
    expect(() => parseMeasures(["P.0"])).toThrow('measure "P.0": cutoff "0" is not a positive integer');
    expect(() => parseMeasures(["P.5,x"])).toThrow('cutoff "x" is not a positive integer');
    expect(() => parseMeasures(["P."])).toThrow('cutoff "" is not a positive integer');
    expect(() => parseMeasures(["P.5,5"])).toThrow("duplicate cutoff 5 for P");
    expect(() => parseMeasures(["map.10"])).toThrow('measure "map.10": map takes no parameters');
    expect(() => parseMeasures(["ndcg.1=3"])).toThrow("gain maps such as ndcg.1=3 are not supported");
    expect(() => parseMeasures([])).toThrow("no measures given");
  });
});
