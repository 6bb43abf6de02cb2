// Approximate top-k by an inverted file (IVF): k-means cuts the corpus into lists, and each query scores only the
// documents of the lists whose centroids it is nearest. Written here because no library fits (README, "IVF"). Same
// face as HnswSearcher. The build's products (sample × centroids, documents × centroids) go through the `scorer`
// kernel, as exact search's do. A list's documents meet a different set of queries per list, so the search's products
// go through `pairScorer`, whose both sides are inputs; each score is then the sum exact search computes over the
// same held rows (normalized for cosine, at storage width) on the same kind of kernel: ORT's fp32 SGEMM, or the
// scalar loop without kernels.
import { dotProducts, packRow, prepareQueries, type DenseSearchOptions, type LabeledVectors } from "./dense.js";
import { decodeRow, encodeRows, VECTOR_STORAGES, type EncodedRows, type VectorStorage } from "./storage.js";
import { TopK } from "./topk.js";
import type { Exclusions, Run, Similarity } from "./types.js";

export interface IvfOptions {
  /** Lists (k-means centroids, nlist); default round(4√N) for N documents. At most N (and the training sample). */
  lists?: number;
  /** Lists each query searches (nprobe); default max(8, round(lists / 8)). More: closer to exact, slower. */
  probes?: number;
  /** The width vectors are stored at (f16 default: half of f32's memory; see the README for what it costs). */
  storage?: VectorStorage;
  /** Documents k-means trains on, drawn at random; default min(N, 32 × lists). */
  trainingSample?: number;
  /** k-means rounds (assign, then move the centroids); default 10, fewer once no assignment changes. */
  iterations?: number;
  /** Seeds the training sample and the initial centroids (sample documents); default 0. */
  seed?: number;
}

export interface IvfSearchOptions extends IvfOptions {
  /** Documents kept per query. */
  k: number;
  similarity?: Similarity;
  /** Document ids removed from a query's ranking. */
  exclude?: Exclusions;
  /** A kernel for the build's products, as DenseSearcher's (`createDotScorer` from @dembed/onnx); scalar without. */
  scorer?: DenseSearchOptions["scorer"];
  /**
   * A kernel for the search's products, where both sides change per call (`createPairScorer` from @dembed/onnx):
   * f32 and f16 rows go to it as stored. Scalar without it, and for int8 rows.
   */
  pairScorer?: (dim: number, options: { block: "float32" | "float16" }) => Promise<PairProducts>;
}

/** The settings a run used, for its records: the search is approximate, so they belong beside its scores. */
export function describeIvf(o: IvfOptions): string {
  const sample = o.trainingSample ?? "min(N, 32 × lists)";
  return `ivf (lists ${o.lists ?? "4√N"}, probes ${o.probes ?? "max(8, lists/8)"}, k-means ${o.iterations ?? 10} rounds on ${sample} documents, seed ${o.seed ?? 0}, ${o.storage ?? "f16"})`;
}

/** The kernel's shape: `fixed` ([count, dim]) held, blocks of rows scored against it as [rows, count]. */
type Products = (fixed: Float32Array, count: number, dim: number) => Promise<{ score(block: Float32Array, rows: number): Promise<ArrayLike<number>>; release(): Promise<void> }>;

const scalarProducts: Products = async (fixed, count, dim) => ({
  score: async (block, rows) => {
    const out = new Float64Array(rows * count);
    dotProducts(block, rows, fixed, count, dim, out);
    return out;
  },
  release: async () => {},
});

/** The search kernel's shape: a block of document rows (as stored) · the probing queries → [rows, queries]. */
export interface PairProducts {
  score(block: Float32Array | Uint16Array, rows: number, against: Float32Array, count: number): Promise<ArrayLike<number>>;
  release(): Promise<void>;
}

/** Rows per kernel call and per block of a list's documents. */
const BLOCK = 1024;

export class IvfSearcher {
  private readonly queryMatrix: Float32Array; // [Q, dim], normalized for cosine
  private readonly queryIds: readonly string[];
  private readonly excluded: Array<ReadonlySet<string> | undefined>;
  private readonly similarity: Similarity;
  private readonly dim: number;
  private readonly k: number;
  private readonly options: IvfSearchOptions;
  private readonly products: Products;
  private batches: EncodedRows[] | undefined = []; // the stored documents, one entry per addDocuments call
  private readonly batchStarts: number[] = [];
  private readonly docIds: string[] = [];
  /** Per list: its documents (numbers in stored order) and the queries probing it. Built for `docs` documents. */
  private index: { docs: number; members: number[][]; probers: number[][] } | undefined;

  constructor(queries: LabeledVectors, options: IvfSearchOptions) {
    const { ids } = queries;
    ({ similarity: this.similarity, dim: this.dim, matrix: this.queryMatrix, excluded: this.excluded } = prepareQueries("ivf search", queries, options));
    const { lists, probes, trainingSample, iterations = 10, seed = 0, storage = "f16" } = options;
    for (const [name, value] of Object.entries({ lists, probes, trainingSample })) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new Error(`ivf search: ${name} must be a positive integer, got ${value}`);
    }
    for (const [name, value] of Object.entries({ iterations, seed })) {
      if (!Number.isInteger(value) || value < 0) throw new Error(`ivf search: ${name} must be a non-negative integer, got ${value}`);
    }
    if (lists !== undefined && probes !== undefined && probes > lists) throw new Error(`ivf search: probes (${probes}) must be at most lists (${lists})`);
    if (lists !== undefined && trainingSample !== undefined && trainingSample < lists) {
      throw new Error(`ivf search: trainingSample (${trainingSample}) must be at least lists (${lists}): k-means needs a document per centroid`);
    }
    if (!VECTOR_STORAGES.includes(storage)) throw new Error(`ivf search: storage must be one of ${VECTOR_STORAGES.join(", ")}, got ${JSON.stringify(storage)}`);
    this.queryIds = ids;
    this.k = options.k;
    this.options = { ...options, storage };
    const scorer = options.scorer;
    // Rows are stored normalized for cosine, so the kernel need not normalize them.
    this.products = scorer ? (fixed, count, dim) => scorer(fixed, count, dim, { normalizeRows: false }) : scalarProducts;
  }

  /** Stores documents (normalized for cosine, at `storage`'s width); batches of any size, in any number of calls. */
  addDocuments(docs: LabeledVectors): void {
    const batches = this.live();
    const { ids, vectors } = docs;
    if (ids.length !== vectors.length) throw new Error(`ivf search: ${ids.length} document ids but ${vectors.length} document vectors`);
    if (ids.length === 0) return;
    const dim = this.dim;
    const storage = this.options.storage as VectorStorage;
    // Narrow storage encodes from a reused buffer: a fresh one per batch cost more in page faults than the encoding.
    const packed = storage === "f32" ? new Float32Array(ids.length * dim) : this.scratch(ids.length * dim);
    vectors.forEach((v, j) => packRow(this.similarity, dim, v, packed, j, `document ${ids[j]}`));
    batches.push(storage === "f32" ? { storage, values: packed } : encodeRows(ids.map((_, j) => packed.subarray(j * dim, (j + 1) * dim)), storage, ids));
    this.batchStarts.push(this.docIds.length);
    for (const id of ids) this.docIds.push(id);
  }

  private scratchRows = new Float32Array(0);
  private scratch(length: number): Float32Array {
    if (this.scratchRows.length < length) this.scratchRows = new Float32Array(length);
    return this.scratchRows.subarray(0, length);
  }

  async addDocumentsAsync(docs: LabeledVectors): Promise<void> {
    this.addDocuments(docs);
  }

  /** Frees the stored documents and the lists. */
  async release(): Promise<void> {
    this.batches = undefined;
    this.scratchRows = new Float32Array(0);
    this.index = undefined;
  }

  get documentCount(): number {
    return this.docIds.length;
  }

  /**
   * Trains the centroids on a sample, puts every document in its nearest centroid's list and picks each query's lists.
   * run() does it when documents came since; awaited apart, it lets a caller time the build and the search apart.
   */
  async build(): Promise<void> {
    const n = this.docIds.length;
    if (n === 0 || this.index?.docs === n) return;
    const o = this.options;
    const lists = Math.min(n, o.lists ?? Math.max(1, Math.round(4 * Math.sqrt(n))), o.trainingSample ?? n);
    const probes = Math.min(lists, o.probes ?? Math.max(8, Math.round(lists / 8)));
    const centroids = await this.train(lists, Math.min(n, o.trainingSample ?? 32 * lists));
    const scorer = await this.products(centroids, lists, this.dim);
    try {
      const members: number[][] = Array.from({ length: lists }, () => []);
      await this.nearest(scorer, n, (i) => i, lists, (i, best) => (members[best] as number[]).push(i));
      // A query takes its `probes` nearest lists, and more while they hold fewer documents than k plus its excluded
      // ids: otherwise a small corpus (a few documents per list) would leave it short of k results.
      const probers: number[][] = Array.from({ length: lists }, () => []);
      const order = new Uint32Array(lists);
      const nq = this.queryIds.length;
      for (let q0 = 0; q0 < nq; q0 += BLOCK) {
        const rows = Math.min(BLOCK, nq - q0);
        const scores = await scorer.score(this.queryMatrix.subarray(q0 * this.dim, (q0 + rows) * this.dim), rows); // [rows, lists]
        for (let r = 0; r < rows; r++) {
          const at = (c: number) => scores[r * lists + c] as number;
          order.forEach((_, c) => (order[c] = c));
          order.sort((a, b) => at(b) - at(a) || a - b);
          const need = this.k + (this.excluded[q0 + r]?.size ?? 0);
          for (let t = 0, covered = 0; t < lists && (t < probes || covered < need); t++) {
            const c = order[t] as number;
            (probers[c] as number[]).push(q0 + r);
            covered += (members[c] as number[]).length;
          }
        }
      }
      this.index = { docs: n, members, probers };
    } finally {
      await scorer.release();
    }
  }

  /** Searches every query in its lists: its k best documents found, best first, excluded ids removed. */
  async run(): Promise<Run> {
    const out: Run = {};
    for (const qid of this.queryIds) out[qid] = {};
    if (this.docIds.length === 0) return out;
    await this.build();
    const { members, probers } = this.index!;
    const dim = this.dim;
    const storage = this.options.storage as VectorStorage;
    const heaps = this.queryIds.map(() => new TopK(this.k));
    const picked = new Float32Array(this.queryMatrix.length);
    // On the kernel, f32 and f16 rows go in as stored (ORT widens f16); int8 rows, and everything without it, are
    // widened here and scored by exact search's loop.
    const makePair = this.options.pairScorer;
    const pair = makePair && storage !== "int8" ? await makePair(dim, { block: storage === "f16" ? "float16" : "float32" }) : undefined;
    const stored = pair && storage === "f16" ? new Uint16Array(BLOCK * dim) : undefined;
    const block = new Float32Array(BLOCK * dim);
    let scalarScores = new Float64Array(0);
    try {
      for (const [c, queries] of probers.entries()) {
        const m = queries.length;
        if (m === 0) continue;
        queries.forEach((q, r) => picked.set(this.queryMatrix.subarray(q * dim, (q + 1) * dim), r * dim));
        const docs = members[c] as number[];
        for (let s = 0; s < docs.length; s += BLOCK) {
          const rows = Math.min(BLOCK, docs.length - s);
          let scores: ArrayLike<number>; // [rows, m]
          if (stored) {
            for (let j = 0; j < rows; j++) this.copyStored(docs[s + j] as number, stored, j);
            scores = await pair!.score(stored, rows, picked, m);
          } else {
            for (let j = 0; j < rows; j++) this.decode(docs[s + j] as number, block.subarray(j * dim, (j + 1) * dim));
            if (pair) scores = await pair.score(block, rows, picked, m);
            else {
              if (scalarScores.length < rows * m) scalarScores = new Float64Array(BLOCK * m);
              dotProducts(block, rows, picked, m, dim, scalarScores);
              scores = scalarScores;
            }
          }
          queries.forEach((q, r) => {
            const heap = heaps[q] as TopK;
            const excluded = this.excluded[q];
            for (let j = 0; j < rows; j++) {
              const score = scores[j * m + r] as number;
              if (score < heap.threshold) continue;
              const docId = this.docIds[docs[s + j] as number] as string;
              if (!excluded?.has(docId)) heap.push(docId, score);
            }
          });
        }
      }
    } finally {
      await pair?.release();
    }
    this.queryIds.forEach((qid, i) => (out[qid] = (heaps[i] as TopK).toRecord()));
    return out;
  }

  /**
   * k-means on `size` sampled documents, seeded: spherical for cosine (centroids renormalized), means for dot. Starts
   * from sample documents; a centroid left with none moves onto another one, drawn from the same seeded stream.
   */
  private async train(lists: number, size: number): Promise<Float32Array> {
    const { dim, docIds } = this;
    const random = mulberry32(this.options.seed ?? 0);
    const order = Uint32Array.from(docIds, (_, i) => i);
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(random() * (docIds.length - i));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const centroids = new Float32Array(lists * dim);
    for (let c = 0; c < lists; c++) this.decode(order[c] as number, centroids.subarray(c * dim, (c + 1) * dim));
    const sample = order.slice(0, size).sort(); // in stored order, for the reads
    const assigned = new Int32Array(size).fill(-1);
    for (let round = 0; round < (this.options.iterations ?? 10); round++) {
      const sums = new Float64Array(lists * dim);
      const counts = new Uint32Array(lists);
      let moved = 0;
      const scorer = await this.products(centroids, lists, dim);
      try {
        await this.nearest(scorer, size, (i) => sample[i] as number, lists, (i, best, row) => {
          if (assigned[i] !== best) (moved++, (assigned[i] = best));
          counts[best] = (counts[best] as number) + 1;
          for (let d = 0; d < dim; d++) sums[best * dim + d] = (sums[best * dim + d] as number) + (row[d] as number);
        });
      } finally {
        await scorer.release();
      }
      if (moved === 0) break; // the centroids would stay where they are
      for (let c = 0; c < lists; c++) {
        const centroid = centroids.subarray(c * dim, (c + 1) * dim);
        const count = counts[c] as number;
        if (count === 0) {
          this.decode(sample[Math.floor(random() * size)] as number, centroid);
          continue;
        }
        let norm = 0;
        for (let d = 0; d < dim; d++) norm += (sums[c * dim + d] as number) ** 2;
        const scale = this.similarity === "dot" ? 1 / count : norm > 0 ? 1 / Math.sqrt(norm) : 0;
        for (let d = 0; d < dim; d++) centroid[d] = (sums[c * dim + d] as number) * scale;
      }
    }
    return centroids;
  }

  /** Scores `count` stored documents (the i-th is `doc(i)`) against the scorer's centroids; visits each with its best. */
  private async nearest(
    scorer: Awaited<ReturnType<Products>>,
    count: number,
    doc: (i: number) => number,
    lists: number,
    visit: (i: number, best: number, row: Float32Array) => void,
  ): Promise<void> {
    const dim = this.dim;
    const block = new Float32Array(Math.min(BLOCK, count) * dim);
    for (let start = 0; start < count; start += BLOCK) {
      const rows = Math.min(BLOCK, count - start);
      for (let r = 0; r < rows; r++) this.decode(doc(start + r), block.subarray(r * dim, (r + 1) * dim));
      const scores = await scorer.score(block, rows); // [rows, lists]; the block is the kernel's until this settles
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let c = 1; c < lists; c++) if ((scores[r * lists + c] as number) > (scores[r * lists + best] as number)) best = c;
        visit(start + r, best, block.subarray(r * dim, (r + 1) * dim));
      }
    }
  }

  /** Stored document `doc`, widened to fp32 into `out`. */
  private decode(doc: number, out: Float32Array): void {
    const { batch, index } = this.locate(doc);
    decodeRow(batch, index, out);
  }

  /** The batch holding stored document `doc`, and its row there. */
  private locate(doc: number): { batch: EncodedRows; index: number } {
    const starts = this.batchStarts;
    let lo = 0;
    for (let hi = starts.length - 1; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= doc) lo = mid;
      else hi = mid - 1;
    }
    return { batch: this.live()[lo] as EncodedRows, index: doc - (starts[lo] as number) };
  }

  /** Stored f16 document `doc`'s bits, as they are, into row `row` of `out`. */
  private copyStored(doc: number, out: Uint16Array, row: number): void {
    const { batch, index } = this.locate(doc);
    const values = batch.values as Uint16Array;
    out.set(values.subarray(index * this.dim, (index + 1) * this.dim), row * this.dim);
  }

  private live(): EncodedRows[] {
    if (!this.batches) throw new Error("ivf search: used after release()");
    return this.batches;
  }
}

/** A small seeded generator (mulberry32): the same sample and starting centroids for the same seed, everywhere. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
