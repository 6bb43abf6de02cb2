// Approximate top-k for corpora too big to score exhaustively: an HNSW graph (usearch, prebuilt native code, many
// threads) built as documents arrive, searched once at the end. Same face as DenseSearcher, so a benchmark swaps one
// for the other; unlike it, the index holds every document vector (at `quantization`'s width) until release().
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type * as Usearch from "usearch";
import { packRow, prepareQueries, type LabeledVectors } from "./dense.js";
import { TopK } from "./topk.js";
import type { Exclusions, Run, Similarity } from "./types.js";

// Loaded when an index is first made, so importing this package never loads native code a run does not use.
const usearch = (): typeof Usearch => createRequire(import.meta.url)("usearch") as typeof Usearch;

export interface HnswOptions {
  /** Graph degree M (usearch "connectivity"); default 32. More: better recall, more memory, slower build. */
  connectivity?: number;
  /** Candidates kept while inserting (efConstruction); default 128. */
  expansionAdd?: number;
  /** Candidates kept while searching (ef); default max(512, 2 × the results asked for). */
  expansionSearch?: number;
  /** How the index stores vectors: "f32", "f16" (default: half the memory, see the README for recall) or "i8". */
  quantization?: "f32" | "f16" | "i8";
  /** Threads for building and searching; default every CPU this process may use. */
  threads?: number;
}

export interface HnswSearchOptions extends HnswOptions {
  /** Documents kept per query. */
  k: number;
  similarity?: Similarity;
  /** Document ids removed from a query's ranking. */
  exclude?: Exclusions;
}

/** The settings a run used, for its records: the search is approximate, so they belong beside its scores. */
export function describeHnsw(options: HnswOptions): string {
  const o = resolved(options, 0);
  return `hnsw (usearch, M ${o.connectivity}, efConstruction ${o.expansionAdd}, ef ${options.expansionSearch ?? "max(512, 2k)"}, ${o.quantization})`;
}

function resolved(options: HnswOptions, want: number): Required<HnswOptions> {
  return {
    connectivity: options.connectivity ?? 32,
    expansionAdd: options.expansionAdd ?? 128,
    expansionSearch: options.expansionSearch ?? Math.max(512, 2 * want),
    quantization: options.quantization ?? "f16",
    threads: options.threads ?? availableParallelism(),
  };
}

export class HnswSearcher {
  private readonly queryMatrix: Float32Array;
  private readonly queryIds: readonly string[];
  private readonly excluded: Array<ReadonlySet<string> | undefined>;
  private readonly similarity: Similarity;
  private readonly dim: number;
  private readonly k: number;
  private readonly settings: Required<HnswOptions>;
  private index: Usearch.Index | undefined;
  private readonly docIds: string[] = [];

  constructor(queries: LabeledVectors, options: HnswSearchOptions) {
    const { ids } = queries;
    ({ similarity: this.similarity, dim: this.dim, matrix: this.queryMatrix, excluded: this.excluded } = prepareQueries("hnsw search", queries, options));
    this.queryIds = ids;
    this.k = options.k;
    const mostExcluded = Math.max(0, ...this.excluded.map((e) => e?.size ?? 0));
    this.settings = resolved(options, options.k + mostExcluded);
    const { connectivity, expansionAdd, expansionSearch, quantization } = this.settings;
    for (const [name, value] of Object.entries({ connectivity, expansionAdd, expansionSearch })) {
      if (!Number.isInteger(value) || value < 2) throw new Error(`hnsw search: ${name} must be an integer ≥ 2, got ${value}`);
    }
    if (!["f32", "f16", "i8"].includes(quantization)) throw new Error(`hnsw search: quantization must be "f32", "f16" or "i8", got ${JSON.stringify(quantization)}`);
    this.index = new (usearch().Index)({
      dimensions: this.dim,
      // Vectors are normalized here for cosine, so both similarities are inner products (usearch: distance = 1 − dot).
      metric: "ip" as Usearch.MetricKind,
      quantization: quantization as Usearch.ScalarKind,
      connectivity,
      expansion_add: expansionAdd,
      expansion_search: expansionSearch,
      multi: false,
    });
  }

  /** Inserts documents into the graph; batches of any size, in any number of calls. */
  addDocuments(docs: LabeledVectors): void {
    const index = this.live();
    const { ids, vectors } = docs;
    if (ids.length !== vectors.length) throw new Error(`hnsw search: ${ids.length} document ids but ${vectors.length} document vectors`);
    if (ids.length === 0) return;
    const packed = new Float32Array(ids.length * this.dim);
    vectors.forEach((v, j) => packRow(this.similarity, this.dim, v, packed, j, `document ${ids[j]}`));
    const keys = new BigUint64Array(ids.length);
    for (let j = 0; j < ids.length; j++) keys[j] = BigInt(this.docIds.length + j);
    index.add(keys, packed, this.settings.threads);
    this.docIds.push(...ids);
  }

  async addDocumentsAsync(docs: LabeledVectors): Promise<void> {
    this.addDocuments(docs);
  }

  /** Frees the index. */
  async release(): Promise<void> {
    this.index = undefined; // usearch frees the native index when the object is collected
  }

  /** Searches every query: its k best documents found, best first, excluded ids removed. */
  run(): Run {
    const out: Run = {};
    for (const qid of this.queryIds) out[qid] = {};
    if (this.docIds.length === 0) return out;
    const want = Math.min(this.docIds.length, this.k + Math.max(0, ...this.excluded.map((e) => e?.size ?? 0)));
    const found = this.live().search(this.queryMatrix, want, this.settings.threads);
    // One query comes back as a single Matches holding only the hits; several as rows of `want` with counts.
    const batch = found instanceof usearch().BatchMatches;
    this.queryIds.forEach((qid, i) => {
      const heap = new TopK(this.k);
      const excluded = this.excluded[i];
      const count = batch ? Number(found.counts[i]) : found.keys.length;
      const base = batch ? i * want : 0;
      for (let r = 0; r < count; r++) {
        const docId = this.docIds[Number(found.keys[base + r])] as string;
        if (excluded?.has(docId)) continue;
        heap.push(docId, 1 - (found.distances[base + r] as number));
      }
      out[qid] = heap.toRecord();
    });
    return out;
  }

  get documentCount(): number {
    return this.docIds.length;
  }

  private live(): Usearch.Index {
    if (!this.index) throw new Error("hnsw search: used after release()");
    return this.index;
  }
}
