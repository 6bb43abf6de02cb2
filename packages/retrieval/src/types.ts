/** A ranking per query, as trec_eval reads it: `{ qid: { docid: score } }`. Higher scores rank first. */
export type Run = Record<string, Record<string, number>>;

/** How a query vector is compared with a document vector. */
export type Similarity = "cosine" | "dot";

/** Document ids to drop from one query's ranking (BRIGHT's excluded_ids), keyed by query id. */
export type Exclusions = ReadonlyMap<string, ReadonlySet<string>> | Readonly<Record<string, readonly string[]>>;

/** Looks up the excluded ids of one query in either form of {@link Exclusions}. */
export function excludedFor(exclusions: Exclusions | undefined, qid: string): ReadonlySet<string> | undefined {
  if (!exclusions) return undefined;
  if (exclusions instanceof Map) return exclusions.get(qid);
  const list = (exclusions as Readonly<Record<string, readonly string[]>>)[qid];
  return list ? new Set(list) : undefined;
}
