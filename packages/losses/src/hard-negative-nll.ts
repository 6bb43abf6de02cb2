import { flattenBatch, guardDuplicates, maskedCrossEntropy, normalize, normalizeBackward, unflattenGrads } from "./contrastive.js";
import type { ContrastiveBatch, ContrastiveLoss, ContrastiveLossResult } from "./types.js";

export interface HardNegativeNllOptions {
  /** Multiplies cosine similarities before the softmax; 50 is a temperature of 0.02, as the reference trains. */
  readonly scale?: number;
}

/**
 * llm2vec's HardNegativeNLL. Every query scores every document of the batch, D = [all positives; all hard
 * negatives], by cos(q, d) × scale; cross-entropy takes query i's own positive as the label. The other
 * queries' positives and everyone's negatives are thus in-batch negatives.
 *
 * False-negative guard: when keys are given, a document whose key equals the key of query i's positive (the
 * same passage sampled twice, or shared by two queries) is removed from query i's denominator instead of being
 * pushed away as a negative. Without keys no document is masked.
 *
 * Gradients are with respect to the raw embeddings, through the normalization.
 */
export class HardNegativeNLL implements ContrastiveLoss {
  readonly name = "HardNegativeNLL";
  readonly scale: number;

  constructor(options: HardNegativeNllOptions = {}) {
    this.scale = options.scale ?? 50;
    if (!Number.isFinite(this.scale) || this.scale <= 0) throw new Error(`HardNegativeNLL: scale must be a positive number, got ${this.scale}`);
  }

  fromEmbeddings(batch: ContrastiveBatch): ContrastiveLossResult {
    const flat = flattenBatch(batch, this.name);
    const q = flat.queries.map((v, i) => normalize(v, `queries[${i}]`, this.name));
    const d = flat.docs.map((v, j) => normalize(v, docName(flat.docOwner, flat.negativeOffsets, j), this.name));
    const everyDoc = Int32Array.from(flat.docs, (_, j) => j);
    const { candidates, masked } = guardDuplicates(flat, flat.queries.map(() => everyDoc));
    const out = maskedCrossEntropy({
      queries: q.map((x) => x.unit),
      docs: d.map((x) => x.unit),
      labels: Int32Array.from(flat.queries, (_, i) => i),
      candidates,
      scale: this.scale,
    });
    const dQueries = q.map((x, i) => normalizeBackward(x.unit, x.norm, out.dQueries[i] as Float64Array));
    const dDocs = d.map((x, j) => normalizeBackward(x.unit, x.norm, out.dDocs[j] as Float64Array));
    return unflattenGrads(flat, dQueries, dDocs, out.loss, masked);
  }
}

/** Names flat doc j as the caller knows it, for error messages. */
function docName(owner: Int32Array, negativeOffsets: Int32Array, j: number): string {
  const nq = negativeOffsets.length;
  if (j < nq) return `positives[${j}]`;
  const i = owner[j] as number;
  return `negatives[${i}][${j - (negativeOffsets[i] as number)}]`;
}
