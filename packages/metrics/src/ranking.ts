import { compareIds } from "./compare.js";
import type { DocValues } from "./types.js";

/** One query's run as parallel arrays, scores checked. */
export interface QueryRun {
  readonly ids: string[];
  readonly scores: Float64Array;
}

/** Visits `docid → value` pairs of a Map or a plain object. */
export function forEachDoc(values: DocValues, visit: (id: string, value: number) => void): void {
  if (values instanceof Map) {
    for (const [id, value] of values) visit(id, value);
    return;
  }
  for (const id of Object.keys(values)) visit(id, (values as Readonly<Record<string, number>>)[id]!);
}

export function docCount(values: DocValues): number {
  return values instanceof Map ? values.size : Object.keys(values).length;
}

/** Reads one query's run, rejecting scores that cannot be ranked (NaN, non-numbers). */
export function readQueryRun(qid: string, values: DocValues): QueryRun {
  const ids: string[] = [];
  const scores = new Float64Array(docCount(values));
  forEachDoc(values, (id, score) => {
    if (typeof score !== "number" || Number.isNaN(score)) {
      throw new TypeError(`run: score of document "${id}" for query "${qid}" is ${String(score)}, expected a number`);
    }
    scores[ids.length] = score;
    ids.push(id);
  });
  return { ids, scores };
}

/** trec_eval's order: score descending, then doc id descending (byte-wise). Negative when i ranks first. */
export function compareRanked(run: QueryRun, i: number, j: number): number {
  const si = run.scores[i]!;
  const sj = run.scores[j]!;
  if (si !== sj) return si > sj ? -1 : 1;
  return compareIds(run.ids[j]!, run.ids[i]!);
}

/** Indices of the run's documents in rank order. */
export function rankOrder(run: QueryRun): number[] {
  const { ids, scores } = run;
  const order = Array.from({ length: ids.length }, (_, i) => i);
  // compareRanked inlined: this sort is the hot loop of writing a run. Equal infinities subtract to NaN,
  // which is falsy, so they fall through to the id comparison as equal scores should.
  return order.sort((i, j) => scores[j]! - scores[i]! || compareIds(ids[j]!, ids[i]!));
}

/** 1-based rank of document `i` without sorting: one pass counting the documents ranked above it. */
export function rankOf(run: QueryRun, i: number): number {
  let above = 0;
  for (let j = 0; j < run.ids.length; j++) if (j !== i && compareRanked(run, j, i) < 0) above++;
  return above + 1;
}

/**
 * Ranks of the documents for which `keep(index)` holds, ascending. Counting ranks one document at a time
 * costs N per kept document, sorting costs ~N·log N in comparisons: count while few are kept (the usual
 * case: a handful of judged-relevant documents in a list of 1,000), sort otherwise.
 */
export function ranksOf(run: QueryRun, keep: (index: number) => boolean): { ranks: number[]; indices: number[] } {
  const kept: number[] = [];
  for (let i = 0; i < run.ids.length; i++) if (keep(i)) kept.push(i);
  if (kept.length <= 8) {
    const pairs = kept.map((i) => [rankOf(run, i), i] as const).sort((a, b) => a[0] - b[0]);
    return { ranks: pairs.map((p) => p[0]), indices: pairs.map((p) => p[1]) };
  }
  const ranks: number[] = [];
  const indices: number[] = [];
  const wanted = new Uint8Array(run.ids.length);
  for (const i of kept) wanted[i] = 1;
  rankOrder(run).forEach((i, position) => {
    if (wanted[i]) {
      ranks.push(position + 1);
      indices.push(i);
    }
  });
  return { ranks, indices };
}
