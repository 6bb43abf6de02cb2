import { flattenBatch, guardDuplicates, maskedCrossEntropy, unflattenGrads } from "./contrastive.js";
import type { ContrastiveBatch, ContrastiveLoss, ContrastiveLossResult } from "./types.js";

export interface RepLlamaOptions {
  /** Scale q and d by 1/√dim each (logits by 1/dim), as the reference's `scale_by_dim`. Default false. */
  readonly scaleByDim?: boolean;
  /**
   * Also score the other queries' positives and negatives. The reference gets these only across GPUs (its
   * all-gather); on one device it has none. Default false.
   */
  readonly inBatchNegatives?: boolean;
}

/**
 * Tevatron / RepLlama loss: logits = [q·d⁺, q·d⁻₁ … q·d⁻ₙ] with dot products of raw embeddings over the
 * query's own negatives (plus in-batch documents when enabled), cross-entropy with label 0 (the positive).
 *
 * The duplicate guard works as in HardNegativeNLL: with keys, a document equal to query i's positive (an own
 * negative that is really the positive, or another query's copy of it) leaves query i's denominator.
 */
export class RepLlama implements ContrastiveLoss {
  readonly name = "RepLlama";
  readonly scaleByDim: boolean;
  readonly inBatchNegatives: boolean;

  constructor(options: RepLlamaOptions = {}) {
    this.scaleByDim = options.scaleByDim ?? false;
    this.inBatchNegatives = options.inBatchNegatives ?? false;
  }

  fromEmbeddings(batch: ContrastiveBatch): ContrastiveLossResult {
    const flat = flattenBatch(batch, this.name);
    const nq = flat.queries.length;
    const everyDoc = Int32Array.from(flat.docs, (_, j) => j);
    const own = (i: number): Int32Array => {
      const start = flat.negativeOffsets[i] as number;
      const end = i + 1 < nq ? (flat.negativeOffsets[i + 1] as number) : flat.docs.length;
      const list = new Int32Array(1 + end - start);
      list[0] = i;
      for (let j = start; j < end; j++) list[1 + j - start] = j;
      return list;
    };
    const raw = flat.queries.map((_, i) => (this.inBatchNegatives ? everyDoc : own(i)));
    const { candidates, masked } = guardDuplicates(flat, raw);
    const out = maskedCrossEntropy({
      queries: flat.queries.map((v) => Float64Array.from(v)),
      docs: flat.docs.map((v) => Float64Array.from(v)),
      labels: Int32Array.from(flat.queries, (_, i) => i),
      candidates,
      // (q/√dim)·(d/√dim) = q·d/dim; the gradient picks up the same factor through `scale`.
      scale: this.scaleByDim ? 1 / flat.dim : 1,
    });
    const dQueries = out.dQueries.map((g) => Float32Array.from(g));
    const dDocs = out.dDocs.map((g) => Float32Array.from(g));
    return unflattenGrads(flat, dQueries, dDocs, out.loss, masked);
  }
}
