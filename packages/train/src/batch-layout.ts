import type { ContrastiveLoss } from "@dembed/losses";
import type { EmbeddingLoss } from "./gradcache.js";

/** One training example: a query, its positive and its hard negatives, with optional document keys. */
export interface ContrastiveExample<T> {
  readonly query: T;
  readonly positive: T;
  readonly negatives: readonly T[];
  readonly positiveKey?: string;
  readonly negativeKeys?: readonly string[];
}

export type TextRole = "query" | "document";

export interface LaidOutBatch<T> {
  /** Every text to encode: all queries, then all positives, then each example's negatives in order. */
  readonly texts: readonly { readonly text: T; readonly role: TextRole }[];
  /** Maps the embeddings of `texts` (same order) to the contrastive loss and its per-embedding gradients. */
  readonly loss: EmbeddingLoss;
}

/**
 * Flattens contrastive examples into one text list for GradCache and builds the matching loss adapter.
 * Keys must be given for all examples or none: a half-keyed batch would silently disable the duplicate guard.
 */
export function layOutBatch<T>(examples: readonly ContrastiveExample<T>[], lossFn: ContrastiveLoss): LaidOutBatch<T> {
  if (examples.length === 0) throw new Error("layOutBatch: no examples");
  const keyed = examples.map((e) => e.positiveKey !== undefined);
  if (keyed.some((k) => k !== keyed[0])) throw new Error("layOutBatch: some examples have document keys and some do not");
  examples.forEach((e, i) => {
    if (e.negativeKeys !== undefined && e.negativeKeys.length !== e.negatives.length) {
      throw new Error(`layOutBatch: example ${i} has ${e.negatives.length} negatives but ${e.negativeKeys.length} negative keys`);
    }
  });
  const n = examples.length;
  const texts = [
    ...examples.map((e) => ({ text: e.query, role: "query" as const })),
    ...examples.map((e) => ({ text: e.positive, role: "document" as const })),
    ...examples.flatMap((e) => e.negatives.map((text) => ({ text, role: "document" as const }))),
  ];
  const negCounts = examples.map((e) => e.negatives.length);
  const loss: EmbeddingLoss = (embeddings) => {
    if (embeddings.length !== texts.length) throw new Error(`batch loss: got ${embeddings.length} embeddings for ${texts.length} texts`);
    let at = 2 * n;
    const negatives = negCounts.map((count) => embeddings.slice(at, (at += count)));
    const out = lossFn.fromEmbeddings({
      queries: embeddings.slice(0, n),
      positives: embeddings.slice(n, 2 * n),
      negatives,
      ...(keyed[0]
        ? {
            positiveKeys: examples.map((e) => e.positiveKey as string),
            // A negative without a key gets one no real document can have, so it is never masked.
            negativeKeys: examples.map((e, i) => e.negativeKeys ?? negatives[i]!.map((_, k) => `\u0000unkeyed:${i}:${k}`)),
          }
        : {}),
    });
    return { loss: out.loss, dEmbeddings: [...out.dQueries, ...out.dPositives, ...out.dNegatives.flat()] };
  };
  return { texts, loss };
}

/** Chunks of at most `size` texts that never mix queries and documents (they differ in max length and prompt). */
export function chunkByRole<T>(texts: LaidOutBatch<T>["texts"], size: number): (LaidOutBatch<T>["texts"][number])[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`chunk size must be an integer ≥ 1, got ${size}`);
  const out: (LaidOutBatch<T>["texts"][number])[][] = [];
  for (const item of texts) {
    const last = out[out.length - 1];
    if (last !== undefined && last.length < size && last[0]?.role === item.role) last.push(item);
    else out.push([item]);
  }
  return out;
}
