import { TopK } from "./topk.js";
import { excludedFor, type Exclusions, type Run, type Similarity } from "./types.js";

export interface DenseSearchOptions {
  /** Documents kept per query. */
  k: number;
  /** "cosine" (default) L2-normalizes both sides; "dot" uses raw inner products. */
  similarity?: Similarity;
  /** Documents scored at once; memory beyond the inputs is `blockSize × dim` floats. Default 1024. */
  blockSize?: number;
  /** Document ids removed from a query's ranking (not scored low: removed). */
  exclude?: Exclusions;
  /**
   * A faster kernel for the products, used by {@link DenseSearcher.addDocumentsAsync}: given the packed queries
   * ([count, dim]), it returns a scorer of document blocks. `createDotScorer` from @dembed/onnx (ORT's SGEMM) fits.
   * Its sums are fp32, so scores may differ from the scalar loop's in the last bits.
   */
  scorer?: (queries: Float32Array, count: number, dim: number, options: { normalizeRows: boolean }) => Promise<BlockScorer>;
}

/**
 * Scores a block of packed document rows against the queries: [rows, queries], row-major. `block` is lent: the scorer
 * may read it until the returned promise settles, and the searcher then packs the next block into it.
 */
export interface BlockScorer {
  score(block: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Vectors with their ids, one id per vector. */
export interface LabeledVectors {
  ids: readonly string[];
  vectors: readonly Float32Array[];
}

/**
 * Exact top-k search that takes the corpus block by block, so a corpus can be streamed from disk and never held whole.
 * Each query keeps a k-sized heap; the work is |Q| × |D| dot products and the extra memory one packed block.
 */
export class DenseSearcher {
  private readonly dim: number;
  private readonly queryMatrix: Float32Array; // [Q, dim], normalized for cosine
  private readonly heaps: TopK[];
  private readonly excluded: Array<ReadonlySet<string> | undefined>;
  private readonly queryIds: readonly string[];
  private readonly similarity: Similarity;
  private readonly blockSize: number;
  private readonly block: Float32Array; // [blockSize, dim]
  /** The async path's two blocks, the first being `block`: one is packed while the scorer reads the other. */
  private readonly lent: Float32Array[];
  private scores = new Float64Array(0);
  private docsSeen = 0;
  private readonly makeScorer: DenseSearchOptions["scorer"];
  private scorer: Promise<BlockScorer> | undefined;

  constructor(queries: LabeledVectors, options: DenseSearchOptions) {
    const { ids } = queries;
    ({ similarity: this.similarity, dim: this.dim, matrix: this.queryMatrix, excluded: this.excluded } = prepareQueries("dense search", queries, options));
    this.blockSize = options.blockSize ?? 1024;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) {
      throw new Error(`dense search: blockSize must be a positive integer, got ${this.blockSize}`);
    }
    this.heaps = ids.map(() => new TopK(options.k));
    this.block = new Float32Array(Math.min(this.blockSize, 1 << 20) * this.dim);
    this.lent = [this.block];
    this.queryIds = ids;
    this.makeScorer = options.scorer;
  }

  /** Scores a batch of documents against every query; batches of any size, in any number of calls. */
  addDocuments(docs: LabeledVectors): void {
    const { ids, vectors } = docs;
    if (ids.length !== vectors.length) {
      throw new Error(`dense search: ${ids.length} document ids but ${vectors.length} document vectors`);
    }
    for (let start = 0; start < ids.length; start += this.blockSize) {
      const end = Math.min(ids.length, start + this.blockSize);
      for (let j = start; j < end; j++) packRow(this.similarity, this.dim, vectors[j] as Float32Array, this.block, j - start, `document ${ids[j]}`);
      this.scoreBlock(ids, start, end);
    }
    this.docsSeen += ids.length;
  }

  /**
   * As addDocuments, with the products on the `scorer` kernel when one was given. Blocks are pipelined: block i+1 is
   * packed, and block i−1's scores selected, while the kernel scores block i (on another thread, if it runs in one).
   * Documents that are consecutive rows of one buffer are lent to the kernel as they are, not copied; they must not
   * change until the returned promise settles.
   */
  async addDocumentsAsync(docs: LabeledVectors): Promise<void> {
    if (!this.makeScorer) return this.addDocuments(docs);
    const { ids, vectors } = docs;
    if (ids.length !== vectors.length) throw new Error(`dense search: ${ids.length} document ids but ${vectors.length} document vectors`);
    const cosine = this.similarity === "cosine";
    const scorer = await (this.scorer ??= this.makeScorer(this.queryMatrix, this.heaps.length, this.dim, { normalizeRows: cosine }));
    let inFlight: { start: number; end: number; scores: Promise<Float32Array> } | undefined;
    for (let start = 0, turn = 0; start < ids.length; start += this.blockSize, turn ^= 1) {
      const end = Math.min(ids.length, start + this.blockSize);
      const block = contiguousRows(vectors, start, end, this.dim) ?? this.pack(ids, vectors, start, end, turn);
      const next = { start, end, scores: scorer.score(block, end - start) };
      next.scores.catch(() => {}); // awaited below; a failure while the previous block is selected must not go unhandled
      if (inFlight) this.selectScored(ids, vectors, inFlight.start, inFlight.end, await inFlight.scores);
      inFlight = next;
    }
    if (inFlight) this.selectScored(ids, vectors, inFlight.start, inFlight.end, await inFlight.scores);
    this.docsSeen += ids.length;
  }

  /**
   * Copies rows start…end into a reused block. Two of them, not a fresh one per call: a fresh 16 MB array costs more in
   * page faults than its GEMM (measured in the README). The block packed now was last lent two blocks ago, and that
   * score has settled. Rows are copied as they are: the kernel normalizes them, and a non-finite value shows up as a
   * NaN score.
   */
  private pack(ids: readonly string[], vectors: readonly Float32Array[], start: number, end: number, turn: number): Float32Array {
    const block = (this.lent[turn] ??= new Float32Array(this.block.length)).subarray(0, (end - start) * this.dim);
    for (let j = start; j < end; j++) {
      const v = vectors[j] as Float32Array;
      if (v.length !== this.dim) throw new Error(`dense search: document ${ids[j]} has ${v.length} dims, expected ${this.dim}`);
      block.set(v, (j - start) * this.dim);
    }
    return block;
  }

  /** Selects a kernel-scored block ([rows, queries]: query i's score of document j at j·nq + i). */
  private selectScored(ids: readonly string[], vectors: readonly Float32Array[], start: number, end: number, scores: Float32Array): void {
    const nq = this.heaps.length;
    for (let j = 0; j < end - start; j++) {
      // packRow names the document and what is wrong with it.
      if (!Number.isFinite(scores[j * nq] as number)) packRow(this.similarity, this.dim, vectors[start + j] as Float32Array, new Float32Array(this.dim), 0, `document ${ids[start + j]}`);
    }
    this.select(ids, start, end, scores, nq, 1);
  }

  /** Frees the scorer kernel, if one was made. */
  async release(): Promise<void> {
    const scorer = this.scorer;
    this.scorer = undefined;
    await (await scorer)?.release();
  }

  /** The ranking so far, best first within each query. */
  run(): Run {
    const out: Run = {};
    this.queryIds.forEach((qid, i) => (out[qid] = (this.heaps[i] as TopK).toRecord()));
    return out;
  }

  get documentCount(): number {
    return this.docsSeen;
  }

  private scoreBlock(ids: readonly string[], start: number, end: number): void {
    const nq = this.heaps.length;
    const n = end - start;
    const scores = this.scores.length >= n * nq ? this.scores : (this.scores = new Float64Array(n * nq)); // [Q, n]
    dotProducts(this.queryMatrix, nq, this.block, n, this.dim, scores);
    this.select(ids, start, end, scores, 1, n);
  }

  /** Offers block documents start…end to every query's heap; query i's score of block row j is at j·rowStride + i·queryStride. */
  private select(ids: readonly string[], start: number, end: number, scores: ArrayLike<number>, rowStride: number, queryStride: number): void {
    const n = end - start;
    for (let i = 0; i < this.heaps.length; i++) {
      const heap = this.heaps[i] as TopK;
      const excluded = this.excluded[i];
      const base = i * queryStride;
      for (let j = 0; j < n; j++) {
        const score = scores[base + j * rowStride] as number;
        // Most candidates lose to the heap's worst entry: test before the call (ties still go to push).
        if (score < heap.threshold) continue;
        const docId = ids[start + j] as string;
        if (excluded?.has(docId)) continue;
        heap.push(docId, score);
      }
    }
  }
}

/**
 * Rows start…end as one view when they already lie back to back in one buffer (rows of a matrix read from an Arrow
 * column, say): the kernel then reads the caller's memory and nothing is copied. Shared memory is left out, since ORT
 * refuses a tensor on a SharedArrayBuffer.
 */
function contiguousRows(vectors: readonly Float32Array[], start: number, end: number, dim: number): Float32Array | undefined {
  const first = vectors[start] as Float32Array;
  if (first.buffer instanceof SharedArrayBuffer) return undefined;
  for (let j = start; j < end; j++) {
    const v = vectors[j] as Float32Array;
    if (v.length !== dim || v.buffer !== first.buffer || v.byteOffset !== first.byteOffset + (j - start) * dim * 4) return undefined;
  }
  return new Float32Array(first.buffer, first.byteOffset, (end - start) * dim);
}

/**
 * scores[i·n + j] = row i of `q` · row j of `block` (rows of `dim`), each an fp64 sum in dimension order: the
 * arithmetic exact search's scores are defined by, shared with IVF search so that its scores are the same numbers.
 */
export function dotProducts(q: Float32Array, nq: number, block: Float32Array, n: number, dim: number, scores: Float64Array): void {
  // Queries in tiles of ~256 KiB stay in cache while the block's document rows stream past them; without the
  // tiling, 1000 queries × 3584 dims (14 MiB) were re-read from memory for every document.
  const tile = Math.max(4, Math.floor(65536 / dim / 4) * 4);
  for (let t0 = 0; t0 < nq; t0 += tile) {
    const t1 = Math.min(nq, t0 + tile);
    for (let j = 0; j < n; j++) {
      const off = j * dim;
      // Four queries per pass over the document row: each document value is loaded once for four products.
      let i = t0;
      for (; i + 3 < t1; i += 4) {
        const o0 = i * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let d = 0; d < dim; d++) {
          const x = block[off + d] as number;
          s0 += (q[o0 + d] as number) * x;
          s1 += (q[o1 + d] as number) * x;
          s2 += (q[o2 + d] as number) * x;
          s3 += (q[o3 + d] as number) * x;
        }
        scores[i * n + j] = s0;
        scores[(i + 1) * n + j] = s1;
        scores[(i + 2) * n + j] = s2;
        scores[(i + 3) * n + j] = s3;
      }
      for (; i < t1; i++) {
        const o = i * dim;
        let s0 = 0;
        for (let d = 0; d < dim; d++) s0 += (q[o + d] as number) * (block[off + d] as number);
        scores[i * n + j] = s0;
      }
    }
  }
}

/** Exact top-k over an in-memory corpus, scored in blocks of `blockSize` documents. */
export function denseSearch(queries: LabeledVectors, docs: LabeledVectors, options: DenseSearchOptions): Run {
  const searcher = new DenseSearcher(queries, options);
  searcher.addDocuments(docs);
  return searcher.run();
}

/**
 * Scores each query's own candidate list (a reranking task such as FollowIR's top_ranked), keeping every candidate.
 * A candidate without a vector is an error: silently dropping it would shift every rank below it.
 */
export function rerankDense(
  queries: LabeledVectors,
  docVectors: ReadonlyMap<string, Float32Array>,
  candidates: Readonly<Record<string, readonly string[]>>,
  similarity: Similarity = "cosine",
): Run {
  const out: Run = {};
  queries.ids.forEach((qid, i) => {
    const list = candidates[qid];
    if (!list) throw new Error(`rerank: query ${qid} has no candidate list`);
    const ids: string[] = [];
    const vectors: Float32Array[] = [];
    for (const docId of new Set(list)) {
      const v = docVectors.get(docId);
      if (!v) throw new Error(`rerank: candidate ${docId} of query ${qid} has no document vector`);
      ids.push(docId);
      vectors.push(v);
    }
    if (ids.length === 0) {
      out[qid] = {};
      return;
    }
    const one = { ids: [qid], vectors: [queries.vectors[i] as Float32Array] };
    out[qid] = denseSearch(one, { ids, vectors }, { k: ids.length, similarity })[qid] ?? {};
  });
  return out;
}

/** Copies a vector into row `row` of `target`, normalizing for cosine; rejects wrong sizes and non-finite values. */
export function packRow(similarity: Similarity, dim: number, v: Float32Array, target: Float32Array, row: number, what: string): void {
  if (v.length !== dim) throw new Error(`dense search: ${what} has ${v.length} dims, expected ${dim}`);
  let norm = 0;
  for (let d = 0; d < v.length; d++) {
    const x = v[d] as number;
    if (!Number.isFinite(x)) throw new Error(`dense search: ${what} has a non-finite value at index ${d}`);
    norm += x * x;
  }
  // A zero vector has no direction: under cosine it scores 0 against everything rather than NaN.
  const scale = similarity === "cosine" ? (norm > 0 ? 1 / Math.sqrt(norm) : 0) : 1;
  const off = row * dim;
  for (let d = 0; d < v.length; d++) target[off + d] = (v[d] as number) * scale;
}

/**
 * What every searcher makes of its queries: the checks (errors start with `what`, e.g. "hnsw search"), the rows packed
 * into one matrix (normalized for cosine) and each query's excluded ids.
 */
export function prepareQueries(
  what: string,
  queries: LabeledVectors,
  options: { k: number; similarity?: Similarity | undefined; exclude?: Exclusions | undefined },
): { similarity: Similarity; dim: number; matrix: Float32Array; excluded: Array<ReadonlySet<string> | undefined> } {
  const { ids, vectors } = queries;
  const { k, similarity = "cosine" } = options;
  if (ids.length !== vectors.length) throw new Error(`${what}: ${ids.length} query ids but ${vectors.length} query vectors`);
  if (ids.length === 0) throw new Error(`${what}: no queries`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer, got ${k}`);
  if (similarity !== "cosine" && similarity !== "dot") throw new Error(`${what}: similarity must be "cosine" or "dot", got ${JSON.stringify(similarity)}`);
  const dim = (vectors[0] as Float32Array).length;
  if (dim === 0) throw new Error(`${what}: query vectors are empty`);
  const matrix = new Float32Array(ids.length * dim);
  vectors.forEach((v, i) => packRow(similarity, dim, v, matrix, i, `query ${ids[i]}`));
  return { similarity, dim, matrix, excluded: ids.map((qid) => excludedFor(options.exclude, qid)) };
}
