import { compareIds } from "./compare.js";
import { parseMeasures, type MeasureFamily, type MeasureSet } from "./measures.js";
import { forEachDoc, ranksOf, readQueryRun } from "./ranking.js";
import type { DocValues, EvaluateOptions, Evaluation, QrelsInput, RunInput } from "./types.js";

/** The retrieved documents that matter to some measure (label > 0 or relevant), by rank. */
interface Hits {
  /** Ranks, ascending, 1-based. */
  readonly ranks: readonly number[];
  readonly labels: readonly number[];
  readonly numRet: number;
}

/** Per-query facts from the qrels: relevant count and the ideal gain order. */
interface Judged {
  readonly labels: ReadonlyMap<string, number>;
  readonly numRel: number;
  /** Positive labels, descending: the ideal ranking's gains. */
  readonly idealGains: readonly number[];
}

function entriesOf(input: QrelsInput | RunInput): [string, DocValues][] {
  return input instanceof Map ? [...input] : Object.entries(input as Readonly<Record<string, DocValues>>);
}

function judge(qid: string, values: DocValues, level: number): Judged {
  const labels = new Map<string, number>();
  forEachDoc(values, (id, label) => {
    if (!Number.isInteger(label)) {
      throw new TypeError(`qrels: label ${String(label)} of document "${id}" for query "${qid}" is not an integer`);
    }
    labels.set(id, label);
  });
  let numRel = 0;
  const idealGains: number[] = [];
  for (const label of labels.values()) {
    if (label >= level) numRel++;
    if (label > 0) idealGains.push(label);
  }
  idealGains.sort((a, b) => b - a);
  return { labels, numRel, idealGains };
}

function hitsOf(qid: string, values: DocValues, judged: Judged, level: number, maxDocs: number): Hits {
  const run = readQueryRun(qid, values);
  // A label of 0 still matters when the relevance level is 0 (trec_eval -l0).
  const matters = (label: number | undefined) => label !== undefined && (label > 0 || (label >= level && label >= 0));
  const { ranks, indices } = ranksOf(run, (i) => matters(judged.labels.get(run.ids[i]!)));
  const hits: Hits = { ranks, labels: indices.map((i) => judged.labels.get(run.ids[i]!)!), numRet: run.ids.length };
  if (hits.numRet <= maxDocs) return hits;
  const cut = ranks.findIndex((rank) => rank > maxDocs);
  const keep = cut < 0 ? ranks.length : cut;
  return { ranks: ranks.slice(0, keep), labels: hits.labels.slice(0, keep), numRet: maxDocs };
}

const log2Discount = (rank: number) => Math.log2(rank + 1);

/** One query's values for every requested measure, with trec_eval's formulas (see README). */
function scoreQuery(hits: Hits, judged: Judged, measures: MeasureSet, level: number, out: Record<string, number>): void {
  const { ranks, labels } = hits;
  const relevant = labels.map((label) => label >= level);
  const { numRel, idealGains } = judged;
  const relevantWithin = (k: number) => ranks.reduce((n, rank, i) => n + (relevant[i] && rank <= k ? 1 : 0), 0);
  const firstRelevant = ranks.find((_, i) => relevant[i]);
  const averagePrecision = (k: number) => {
    if (numRel === 0) return 0;
    let found = 0;
    let sum = 0;
    ranks.forEach((rank, i) => {
      if (relevant[i] && rank <= k) sum += ++found / rank;
    });
    return sum / numRel;
  };
  const ndcg = (k: number) => {
    let ideal = 0;
    for (let i = 0; i < idealGains.length && i < k; i++) ideal += idealGains[i]! / log2Discount(i + 1);
    if (ideal <= 0) return 0;
    let dcg = 0;
    ranks.forEach((rank, i) => {
      if (rank <= k && labels[i]! > 0) dcg += labels[i]! / log2Discount(rank);
    });
    return dcg / ideal;
  };
  const value: Record<MeasureFamily, (k: number) => number> = {
    map: () => averagePrecision(Infinity),
    recip_rank: () => (firstRelevant === undefined ? 0 : 1 / firstRelevant),
    P: (k) => relevantWithin(k) / k,
    recall: (k) => (numRel === 0 ? 0 : relevantWithin(k) / numRel),
    ndcg: () => ndcg(Infinity),
    ndcg_cut: (k) => ndcg(k),
    map_cut: (k) => averagePrecision(k),
    success: (k) => (relevantWithin(k) > 0 ? 1 : 0),
    recip_rank_cut: (k) => (firstRelevant !== undefined && firstRelevant <= k ? 1 / firstRelevant : 0),
  };
  for (const [family, cutoffs] of measures.families) {
    if (cutoffs.length === 0) out[family] = value[family](Infinity);
    else for (const k of cutoffs) out[`${family}_${k}`] = value[family](k);
  }
}

/**
 * Scores a run against qrels with trec_eval's semantics: rank by score descending, ties by doc id
 * descending; linear gains with log2(rank + 1) discounts and the ideal DCG from every positively judged
 * document; label ≥ `relevanceLevel` is relevant; P@k divides by k; MAP and recall divide by all relevant
 * documents. Queries are those in the qrels: ones absent from the run are skipped (or score 0 with
 * `completeQueries`), run queries without qrels are ignored. A query present in the run with no documents
 * is evaluated (it scores 0).
 */
export function evaluate(
  qrels: QrelsInput,
  run: RunInput,
  measures: readonly string[] | MeasureSet,
  options: EvaluateOptions = {},
): Evaluation {
  const set = Array.isArray(measures) ? parseMeasures(measures) : (measures as MeasureSet);
  const level = options.relevanceLevel ?? 1;
  if (!Number.isInteger(level) || level < 0) throw new RangeError(`relevanceLevel must be a non-negative integer, got ${level}`);
  const maxDocs = options.maxDocsPerQuery ?? Infinity;
  if (maxDocs !== Infinity && (!Number.isInteger(maxDocs) || maxDocs < 1)) {
    throw new RangeError(`maxDocsPerQuery must be a positive integer, got ${maxDocs}`);
  }
  const runByQuery = new Map(entriesOf(run));
  const qrelsEntries = entriesOf(qrels).sort((a, b) => compareIds(a[0], b[0]));
  const perQuery = new Map<string, Record<string, number>>();
  const sums: Record<string, number> = Object.fromEntries(set.names.map((name) => [name, 0]));
  const missingQueries: string[] = [];
  for (const [qid, judgements] of qrelsEntries) {
    const values = runByQuery.get(qid);
    if (values === undefined) missingQueries.push(qid);
    if (values === undefined && !options.completeQueries) continue;
    const judged = judge(qid, judgements, level);
    const hits = values === undefined ? { ranks: [], labels: [], numRet: 0 } : hitsOf(qid, values, judged, level, maxDocs);
    const scores: Record<string, number> = {};
    scoreQuery(hits, judged, set, level, scores);
    for (const name of set.names) sums[name]! += scores[name]!;
    perQuery.set(qid, scores);
  }
  const qrelsIds = new Set(qrelsEntries.map(([qid]) => qid));
  const unjudgedQueries = [...runByQuery.keys()].filter((qid) => !qrelsIds.has(qid)).sort(compareIds);
  const numQueries = perQuery.size;
  const aggregate = Object.fromEntries(set.names.map((name) => [name, numQueries ? sums[name]! / numQueries : 0]));
  return { measures: set.names, perQuery, aggregate, numQueries, missingQueries, unjudgedQueries };
}
