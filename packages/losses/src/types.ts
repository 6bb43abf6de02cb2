/**
 * One contrastive batch as embeddings. The same record serves every loss, so the GradCache trainer can
 * swap losses without re-shaping its data.
 *
 * - `queries[i]` and `positives[i]` form pair i.
 * - `negatives[i]` are the hard negatives mined for query i (any count, possibly zero).
 * - Keys name the document behind each embedding (an id, or the text itself, or its hash). When given, a
 *   document whose key equals query i's positive key never counts as a negative for query i: it is the same
 *   document under another row, and treating it as a negative would push the model away from the right answer.
 */
export interface ContrastiveBatch {
  readonly queries: readonly Float32Array[];
  readonly positives: readonly Float32Array[];
  readonly negatives: readonly (readonly Float32Array[])[];
  readonly positiveKeys?: readonly string[];
  readonly negativeKeys?: readonly (readonly string[])[];
}

/** Loss value and its gradients with respect to the raw (unnormalized) embeddings, shaped like the input. */
export interface ContrastiveLossResult {
  /** Mean cross-entropy over queries. */
  readonly loss: number;
  readonly dQueries: Float32Array[];
  readonly dPositives: Float32Array[];
  readonly dNegatives: Float32Array[][];
  /** How many (query, document) pairs the duplicate guard removed from a denominator. */
  readonly maskedDuplicates: number;
}

/** A contrastive loss with its pure math (`fromEmbeddings`) kept apart from any encoding step. */
export interface ContrastiveLoss {
  readonly name: string;
  fromEmbeddings(batch: ContrastiveBatch): ContrastiveLossResult;
}
