import { evaluate, pMRR } from "@dembed/metrics";
import type { Run } from "@dembed/retrieval";
import type { Qrels } from "./types.js";

/** MTEB's retrieval cutoffs. */
export const CUTOFFS = [1, 3, 5, 10, 20, 100, 1000] as const;

const cut = CUTOFFS.join(",");
const MEASURES = [`ndcg_cut.${cut}`, `map_cut.${cut}`, `recall.${cut}`, `P.${cut}`, `recip_rank_cut.${cut}`];

// trec_eval's printed names → MTEB's result keys.
const RENAME: ReadonlyArray<readonly [string, string]> = [
  ["ndcg_cut_", "ndcg_at_"],
  ["map_cut_", "map_at_"],
  ["recall_", "recall_at_"],
  ["P_", "precision_at_"],
  ["recip_rank_cut_", "mrr_at_"],
];

export interface RunScores {
  /** MTEB-named means over the evaluated queries: ndcg_at_10, map_at_1000, recall_at_100, precision_at_5, mrr_at_10, … */
  scores: Record<string, number>;
  /** Queries averaged: those with judgements (queries with judgements but no retrieved docs still count, as 0). */
  numQueries: number;
}

/** Scores a run with trec_eval semantics (via @dembed/metrics) under MTEB's metric names. */
export function scoreRun(qrels: Qrels, run: Run): RunScores {
  // Every judged query counts, as in MTEB: one the retriever returned nothing for scores 0.
  const evaluation = evaluate(qrels, run, MEASURES, { completeQueries: true });
  const scores: Record<string, number> = {};
  for (const [name, value] of Object.entries(evaluation.aggregate)) {
    const rename = RENAME.find(([prefix]) => name.startsWith(prefix));
    scores[rename ? `${rename[1]}${name.slice(rename[0].length)}` : name] = value;
  }
  return { scores, numQueries: evaluation.numQueries };
}

export interface FollowIrScores {
  /** p-MRR in [-1, 1] (FollowIR tables print it ×100). */
  pMRR: number;
  og: Record<string, number>;
  changed: Record<string, number>;
  /** Queries with at least one changed judgement (the ones p-MRR averages). */
  pMRRQueries: number;
}

/** "paired": each run against its own judgements (right); "mteb-1.14": crosswise, as MTEB 1.14.12 scored them. */
export const FOLLOWIR_SCORINGS = ["paired", "mteb-1.14"] as const;
export type FollowIrScoring = (typeof FOLLOWIR_SCORINGS)[number];

export function scoreFollowIr(ogRun: Run, changedRun: Run, qrelsOg: Qrels, qrelsChanged: Qrels, scoring: FollowIrScoring = "paired"): FollowIrScores {
  const result = pMRR(ogRun, changedRun, qrelsOg, qrelsChanged);
  // MTEB 1.14.12 (and the paper's fork) fill their qrels dicts crosswise: the og run is scored against the changed
  // judgements and the changed run against the og ones. p-MRR is unaffected; the secondary measures are not.
  const crosswise = scoring === "mteb-1.14";
  return {
    pMRR: result.value,
    og: scoreRun(crosswise ? qrelsChanged : qrelsOg, ogRun).scores,
    changed: scoreRun(crosswise ? qrelsOg : qrelsChanged, changedRun).scores,
    pMRRQueries: result.perQuery.size,
  };
}
