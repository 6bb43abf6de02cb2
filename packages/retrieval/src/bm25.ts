import { tokenize, type TokenizerOptions } from "./tokenize.js";
import { TopK } from "./topk.js";
import { excludedFor, type Exclusions, type Run } from "./types.js";

export interface Bm25Options extends TokenizerOptions {
  /** Term-frequency saturation; 0.9 as in BRIGHT and Pyserini. */
  k1?: number;
  /** Length normalization; 0.4 as in BRIGHT and Pyserini. */
  b?: number;
}

export interface TextItem {
  id: string;
  text: string;
}

interface Postings {
  docs: number[];
  tfs: number[];
}

/**
 * An in-memory inverted index scored with Lucene's BM25:
 * idf = ln(1 + (N − df + 0.5) / (df + 0.5)), score = Σ_query terms qtf · idf · tf / (tf + k1 · (1 − b + b · dl / avgdl)).
 * Lucene ≥ 8 leaves out the constant (k1 + 1) factor; so does this, so scores match Pyserini's in scale. Unlike Lucene,
 * document lengths are kept exactly rather than in Lucene's lossy one-byte encoding, so scores can differ slightly.
 * A repeated query term counts once per repeat, as Pyserini's bag-of-words query does.
 */
export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  private readonly tokenizerOptions: TokenizerOptions;
  private readonly postings = new Map<string, Postings>();
  private readonly ids: string[] = [];
  private readonly indexOf = new Map<string, number>();
  private readonly lengths: number[] = [];
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 0.9;
    this.b = options.b ?? 0.4;
    if (!(this.k1 >= 0)) throw new Error(`BM25: k1 must be ≥ 0, got ${this.k1}`);
    if (!(this.b >= 0 && this.b <= 1)) throw new Error(`BM25: b must be in [0, 1], got ${this.b}`);
    this.tokenizerOptions = { stopwords: options.stopwords ?? true, stem: options.stem ?? true };
  }

  get size(): number {
    return this.ids.length;
  }

  add(id: string, text: string): void {
    if (this.indexOf.has(id)) throw new Error(`BM25: document id ${JSON.stringify(id)} added twice`);
    const index = this.ids.length;
    this.ids.push(id);
    this.indexOf.set(id, index);
    const counts = new Map<string, number>();
    const tokens = tokenize(text, this.tokenizerOptions);
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [term, tf] of counts) {
      let p = this.postings.get(term);
      if (!p) this.postings.set(term, (p = { docs: [], tfs: [] }));
      p.docs.push(index);
      p.tfs.push(tf);
    }
    this.lengths.push(tokens.length);
    this.totalLength += tokens.length;
  }

  addAll(docs: Iterable<TextItem>): this {
    for (const d of docs) this.add(d.id, d.text);
    return this;
  }

  /** The k best documents for a query; documents sharing no term with it are not returned. */
  search(query: string, k: number, exclude?: ReadonlySet<string>): Record<string, number> {
    const { scores, touched } = this.accumulate(query);
    const top = new TopK(k);
    for (const i of touched) {
      const id = this.ids[i] as string;
      if (!exclude?.has(id)) top.push(id, scores[i] as number);
    }
    return top.toRecord();
  }

  /** Scores exactly the given documents (0 for no shared term); an id not in the index is an error. */
  scoreDocuments(query: string, docIds: readonly string[]): Record<string, number> {
    const { scores } = this.accumulate(query);
    const out: Record<string, number> = {};
    for (const id of docIds) {
      const i = this.indexOf.get(id);
      if (i === undefined) throw new Error(`BM25: document ${JSON.stringify(id)} is not in the index`);
      out[id] = scores[i] as number;
    }
    return out;
  }

  private accumulate(query: string): { scores: Float64Array; touched: number[] } {
    const n = this.ids.length;
    const scores = new Float64Array(n);
    const seen = new Uint8Array(n);
    const touched: number[] = [];
    if (n === 0) return { scores, touched };
    const avgdl = this.totalLength / n || 1;
    const queryCounts = new Map<string, number>();
    for (const t of tokenize(query, this.tokenizerOptions)) queryCounts.set(t, (queryCounts.get(t) ?? 0) + 1);
    for (const [term, qtf] of queryCounts) {
      const p = this.postings.get(term);
      if (!p) continue;
      const df = p.docs.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let x = 0; x < df; x++) {
        const i = p.docs[x] as number;
        const tf = p.tfs[x] as number;
        const norm = this.k1 * (1 - this.b + (this.b * (this.lengths[i] as number)) / avgdl);
        scores[i] = (scores[i] as number) + (qtf * idf * tf) / (tf + norm);
        if (!seen[i]) {
          seen[i] = 1;
          touched.push(i);
        }
      }
    }
    return { scores, touched };
  }
}

/** BM25 top-k for every query over one corpus, with optional per-query exclusions. */
export function bm25Search(
  queries: Iterable<TextItem>,
  docs: Iterable<TextItem>,
  options: Bm25Options & { k: number; exclude?: Exclusions },
): Run {
  const index = new Bm25Index(options).addAll(docs);
  const run: Run = {};
  for (const q of queries) run[q.id] = index.search(q.text, options.k, excludedFor(options.exclude, q.id));
  return run;
}

/** BM25 scores of each query's own candidate list, with idf and avgdl taken from the whole corpus. */
export function bm25Rerank(
  queries: Iterable<TextItem>,
  docs: Iterable<TextItem>,
  candidates: Readonly<Record<string, readonly string[]>>,
  options: Bm25Options = {},
): Run {
  const index = new Bm25Index(options).addAll(docs);
  const run: Run = {};
  for (const q of queries) {
    const list = candidates[q.id];
    if (!list) throw new Error(`BM25 rerank: query ${q.id} has no candidate list`);
    run[q.id] = index.scoreDocuments(q.text, [...new Set(list)]);
  }
  return run;
}
