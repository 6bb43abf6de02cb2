/**
 * Public types of @dembed/metrics. Qrels and runs are nested maps `qid → docid → number`; inputs may be
 * `Map`s or plain objects (`{ qid: { docid: score } }`, the JSON run form), so results of any retriever fit.
 */

/** `docid → value` for one query, as a Map or a plain object. */
export type DocValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

/**
 * Relevance judgements: `qid → docid → label`. Labels are integers: ≥ 1 (by default) is relevant, the
 * label itself is the nDCG gain, 0 is judged non-relevant, negative means "in the pool but unjudged".
 */
export type QrelsInput = ReadonlyMap<string, DocValues> | Readonly<Record<string, DocValues>>;

/** Retrieval scores: `qid → docid → score`. Higher ranks first; ties are broken by doc id, descending. */
export type RunInput = ReadonlyMap<string, DocValues> | Readonly<Record<string, DocValues>>;

/** What the readers return: qrels as nested Maps (insertion order = file order). */
export type Qrels = Map<string, Map<string, number>>;

/** What the readers return: a run as nested Maps (insertion order = file order). */
export type Run = Map<string, Map<string, number>>;

export interface EvaluateOptions {
  /** Minimum label that counts as relevant for the binary measures (trec_eval `-l`). Default 1. */
  readonly relevanceLevel?: number;
  /**
   * Average over every query in the qrels; queries missing from the run score 0 (trec_eval `-c`).
   * Default false: such queries are skipped, as trec_eval does.
   */
  readonly completeQueries?: boolean;
  /** Only the top N documents of each query are evaluated (trec_eval `-M`). Default: all. */
  readonly maxDocsPerQuery?: number;
}

export interface Evaluation {
  /** trec_eval names of the computed values, in trec_eval's print order (e.g. `map`, `P_10`, `ndcg_cut_10`). */
  readonly measures: readonly string[];
  /** One record per evaluated query, in trec_eval's order (qid ascending, byte-wise). */
  readonly perQuery: ReadonlyMap<string, Readonly<Record<string, number>>>;
  /** Mean of each measure over the evaluated queries (all 0 when none was evaluated). */
  readonly aggregate: Readonly<Record<string, number>>;
  /** Number of queries averaged (trec_eval's `num_q`). */
  readonly numQueries: number;
  /** Queries in the qrels but not in the run: skipped, or scored 0 with `completeQueries`. */
  readonly missingQueries: readonly string[];
  /** Queries in the run but not in the qrels: always ignored, as trec_eval does. */
  readonly unjudgedQueries: readonly string[];
}
