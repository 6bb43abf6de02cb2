import type { ContrastiveBatch, ContrastiveLossResult } from "./types.js";

/** The batch laid out as one document list: all positives first, then every query's negatives in order. */
export interface FlatBatch {
  readonly dim: number;
  readonly queries: readonly Float32Array[];
  readonly docs: readonly Float32Array[];
  /** Which query each document came with. */
  readonly docOwner: Int32Array;
  /** Document key, or undefined when the caller gave no keys. */
  readonly docKeys: readonly (string | undefined)[];
  /** Start of each query's negatives in `docs`. */
  readonly negativeOffsets: Int32Array;
}

function checkVector(v: Float32Array | undefined, name: string, dim: number, loss: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new Error(`${loss}: ${name} is not a Float32Array`);
  if (v.length !== dim) throw new Error(`${loss}: ${name} has length ${v.length}, expected ${dim} (the length of queries[0])`);
  for (let k = 0; k < v.length; k++) {
    if (!Number.isFinite(v[k])) throw new Error(`${loss}: ${name}[${k}] is ${v[k]}, expected a finite number`);
  }
  return v;
}

/** Validates shapes, values and keys, and flattens the documents. Errors name the offending row. */
export function flattenBatch(batch: ContrastiveBatch, loss: string): FlatBatch {
  const nq = batch.queries.length;
  if (nq === 0) throw new Error(`${loss}: the batch has no queries`);
  if (batch.positives.length !== nq) throw new Error(`${loss}: positives has ${batch.positives.length} rows, expected ${nq} (one per query)`);
  if (batch.negatives.length !== nq) throw new Error(`${loss}: negatives has ${batch.negatives.length} lists, expected ${nq} (one per query, possibly empty)`);
  const dim = batch.queries[0]?.length ?? 0;
  if (dim === 0) throw new Error(`${loss}: queries[0] is empty`);
  const queries = batch.queries.map((q, i) => checkVector(q, `queries[${i}]`, dim, loss));
  const docs: Float32Array[] = batch.positives.map((p, i) => checkVector(p, `positives[${i}]`, dim, loss));
  const owner: number[] = docs.map((_, i) => i);
  const negativeOffsets = new Int32Array(nq);
  batch.negatives.forEach((list, i) => {
    negativeOffsets[i] = docs.length;
    list.forEach((n, k) => {
      docs.push(checkVector(n, `negatives[${i}][${k}]`, dim, loss));
      owner.push(i);
    });
  });
  const docKeys: (string | undefined)[] = new Array<string | undefined>(docs.length).fill(undefined);
  if (batch.positiveKeys !== undefined) {
    if (batch.positiveKeys.length !== nq) throw new Error(`${loss}: positiveKeys has ${batch.positiveKeys.length} entries, expected ${nq}`);
    batch.positiveKeys.forEach((key, i) => (docKeys[i] = key));
  }
  if (batch.negativeKeys !== undefined) {
    if (batch.positiveKeys === undefined) throw new Error(`${loss}: negativeKeys given without positiveKeys; the duplicate guard needs both`);
    if (batch.negativeKeys.length !== nq) throw new Error(`${loss}: negativeKeys has ${batch.negativeKeys.length} lists, expected ${nq}`);
    batch.negativeKeys.forEach((keys, i) => {
      const count = batch.negatives[i]?.length ?? 0;
      if (keys.length !== count) throw new Error(`${loss}: negativeKeys[${i}] has ${keys.length} entries, expected ${count} (one per negative)`);
      keys.forEach((key, k) => (docKeys[(negativeOffsets[i] ?? 0) + k] = key));
    });
  }
  return { dim, queries, docs, docOwner: Int32Array.from(owner), docKeys, negativeOffsets };
}

/** Unit vector and norm, in float64. Zero vectors have no direction, so cosine is undefined for them. */
export function normalize(v: Float32Array, name: string, loss: string): { unit: Float64Array; norm: number } {
  let sq = 0;
  for (let k = 0; k < v.length; k++) sq += (v[k] as number) * (v[k] as number);
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new Error(`${loss}: ${name} has norm ${norm}; cosine similarity needs a non-zero finite vector`);
  const unit = new Float64Array(v.length);
  for (let k = 0; k < v.length; k++) unit[k] = (v[k] as number) / norm;
  return { unit, norm };
}

/** Backward of x ↦ x/|x|: dx = (du − u·(u·du)) / |x|. */
export function normalizeBackward(unit: Float64Array, norm: number, dUnit: Float64Array): Float32Array {
  let dot = 0;
  for (let k = 0; k < unit.length; k++) dot += (unit[k] as number) * (dUnit[k] as number);
  const dx = new Float32Array(unit.length);
  for (let k = 0; k < unit.length; k++) dx[k] = ((dUnit[k] as number) - (unit[k] as number) * dot) / norm;
  return dx;
}

export interface ScoreProblem {
  /** Query vectors after any transform (unit vectors for cosine), float64. */
  readonly queries: readonly Float64Array[];
  readonly docs: readonly Float64Array[];
  /** Doc index of each query's positive; must appear in that query's candidates. */
  readonly labels: Int32Array;
  /** Per query, the doc indices in its softmax denominator (label included). */
  readonly candidates: readonly Int32Array[];
  /** Multiplies every dot product. */
  readonly scale: number;
}

/**
 * Mean over queries of −log softmax(scale·q·d)[label] over each query's candidates, and its gradients w.r.t.
 * the (transformed) vectors. Log-sum-exp subtracts the row max, so scale 50 on unit vectors cannot overflow.
 */
export function maskedCrossEntropy(p: ScoreProblem): { loss: number; dQueries: Float64Array[]; dDocs: Float64Array[] } {
  const nq = p.queries.length;
  const dim = p.queries[0]?.length ?? 0;
  const dQueries = p.queries.map(() => new Float64Array(dim));
  const dDocs = p.docs.map(() => new Float64Array(dim));
  let total = 0;
  for (let i = 0; i < nq; i++) {
    const q = p.queries[i] as Float64Array;
    const cand = p.candidates[i] as Int32Array;
    const label = p.labels[i] as number;
    const scores = new Float64Array(cand.length);
    let max = -Infinity;
    let labelAt = -1;
    for (let c = 0; c < cand.length; c++) {
      const j = cand[c] as number;
      if (j === label) labelAt = c;
      const d = p.docs[j] as Float64Array;
      let s = 0;
      for (let k = 0; k < dim; k++) s += (q[k] as number) * (d[k] as number);
      s *= p.scale;
      scores[c] = s;
      if (s > max) max = s;
    }
    if (labelAt < 0) throw new Error(`internal: the label of query ${i} is not among its candidates`);
    let sum = 0;
    for (let c = 0; c < cand.length; c++) sum += Math.exp((scores[c] as number) - max);
    const lse = max + Math.log(sum);
    total += lse - (scores[labelAt] as number);
    // dL/ds_c = (softmax_c − [c is label]) / nq, then s = scale·q·d spreads it to both vectors.
    const dq = dQueries[i] as Float64Array;
    for (let c = 0; c < cand.length; c++) {
      const g = ((Math.exp((scores[c] as number) - lse) - (c === labelAt ? 1 : 0)) / nq) * p.scale;
      if (g === 0) continue;
      const j = cand[c] as number;
      const d = p.docs[j] as Float64Array;
      const dd = dDocs[j] as Float64Array;
      for (let k = 0; k < dim; k++) {
        dq[k] = (dq[k] as number) + g * (d[k] as number);
        dd[k] = (dd[k] as number) + g * (q[k] as number);
      }
    }
  }
  return { loss: total / nq, dQueries, dDocs };
}

/**
 * Drops from each query's candidates every document (other than its own positive) whose key equals the
 * key of that query's positive, and counts how many it dropped.
 */
export function guardDuplicates(flat: FlatBatch, candidates: Int32Array[]): { candidates: Int32Array[]; masked: number } {
  let masked = 0;
  const kept = candidates.map((cand, i) => {
    const key = flat.docKeys[i];
    if (key === undefined) return cand;
    const out = cand.filter((j) => j === i || flat.docKeys[j] !== key);
    masked += cand.length - out.length;
    return out;
  });
  return { candidates: kept, masked };
}

/** Splits flat document gradients back into the batch's positive / negative shape. */
export function unflattenGrads(
  flat: FlatBatch,
  dQueries: Float32Array[],
  dDocs: Float32Array[],
  loss: number,
  maskedDuplicates: number,
): ContrastiveLossResult {
  const nq = flat.queries.length;
  const dPositives = dDocs.slice(0, nq);
  const dNegatives: Float32Array[][] = [];
  for (let i = 0; i < nq; i++) {
    const start = flat.negativeOffsets[i] as number;
    const end = i + 1 < nq ? (flat.negativeOffsets[i + 1] as number) : flat.docs.length;
    dNegatives.push(dDocs.slice(start, end));
  }
  return { loss, dQueries, dPositives, dNegatives, maskedDuplicates };
}
