import { compareIds } from "./compare.js";
import { forEachDoc, rankOf, readQueryRun, type QueryRun } from "./ranking.js";
import type { DocValues, QrelsInput, RunInput } from "./types.js";

export interface PMRRResult {
  /** Mean over queries of the per-query mean rank score, in [-1, 1] (FollowIR reports ×100). */
  readonly value: number;
  /** Per-query p-MRR, for queries with at least one changed judgement, qid ascending. */
  readonly perQuery: ReadonlyMap<string, number>;
  /** The documents each score was taken over. */
  readonly changed: ReadonlyMap<string, readonly string[]>;
}

function toMap(input: QrelsInput | RunInput): Map<string, DocValues> {
  return input instanceof Map ? new Map(input) : new Map(Object.entries(input as Readonly<Record<string, DocValues>>));
}

function labelsOf(values: DocValues | undefined): Map<string, number> {
  const labels = new Map<string, number>();
  if (values) forEachDoc(values, (id, label) => labels.set(id, label));
  return labels;
}

/**
 * Documents whose judgement differs between the original and the changed qrels, as FollowIR's
 * `create_qrel_diff` finds them: every document judged under the original instruction whose label under
 * the changed one is different (or absent).
 */
export function changedDocuments(ogQrels: QrelsInput, changedQrels: QrelsInput): Map<string, string[]> {
  const changedByQuery = toMap(changedQrels);
  const out = new Map<string, string[]>();
  const og = [...toMap(ogQrels)].sort((a, b) => compareIds(a[0], b[0]));
  for (const [qid, values] of og) {
    const after = labelsOf(changedByQuery.get(qid));
    const docs: string[] = [];
    forEachDoc(values, (id, label) => {
      if (after.get(id) !== label) docs.push(id);
    });
    if (docs.length > 0) out.set(qid, docs);
  }
  return out;
}

/** 1-based rank of `docid` in one query's run (score, then doc id, descending); absent → list length + 1. */
function rankIn(run: QueryRun, docid: string): number {
  const index = run.ids.indexOf(docid);
  return index < 0 ? run.ids.length + 1 : rankOf(run, index);
}

/**
 * FollowIR's rank score of one document: moving up under the changed instruction (where it stopped being
 * relevant) is penalized, moving down rewarded, both as reciprocal-rank ratios.
 */
export function rankScore(ogRank: number, newRank: number): number {
  return ogRank >= newRank ? 1 / ogRank / (1 / newRank) - 1 : 1 - 1 / newRank / (1 / ogRank);
}

/** p-MRR over explicit changed-document lists (e.g. FollowIR's `qrel_diff` config). */
export function pMRRFromChanges(
  ogRun: RunInput,
  changedRun: RunInput,
  changed: ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>,
): PMRRResult {
  const ogByQuery = toMap(ogRun);
  const newByQuery = toMap(changedRun);
  const entries = (changed instanceof Map ? [...changed] : Object.entries(changed)) as [string, readonly string[]][];
  entries.sort((a, b) => compareIds(a[0], b[0]));
  const perQuery = new Map<string, number>();
  const used = new Map<string, readonly string[]>();
  for (const [qid, docs] of entries) {
    if (docs.length === 0) continue;
    const og = ogByQuery.get(qid);
    const now = newByQuery.get(qid);
    if (og === undefined || now === undefined) {
      throw new RangeError(`p-MRR: query "${qid}" has changed judgements but is missing from the ${og === undefined ? "original" : "changed"} run`);
    }
    const ogRanked = readQueryRun(qid, og);
    const newRanked = readQueryRun(qid, now);
    const total = docs.reduce((sum, docid) => sum + rankScore(rankIn(ogRanked, docid), rankIn(newRanked, docid)), 0);
    perQuery.set(qid, total / docs.length);
    used.set(qid, docs);
  }
  const value = perQuery.size === 0 ? 0 : [...perQuery.values()].reduce((a, b) => a + b, 0) / perQuery.size;
  return { value, perQuery, changed: used };
}

/**
 * FollowIR's p-MRR: how a run's ranking of documents whose judgement changed moves when the instruction
 * changes. For each changed document, og and new ranks (score, then doc id, descending; a missing document
 * ranks after the whole list) give (1/og)/(1/new) − 1 when it did not move down, else 1 − (1/new)/(1/og);
 * averaged per query, then over queries. Range [-1, 1]; FollowIR tables show it ×100.
 */
export function pMRR(ogRun: RunInput, changedRun: RunInput, ogQrels: QrelsInput, changedQrels: QrelsInput): PMRRResult {
  return pMRRFromChanges(ogRun, changedRun, changedDocuments(ogQrels, changedQrels));
}
