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

/** The checks every searcher makes of its queries and options; errors start with `what` ("hnsw search"). */
export function checkSearch(what: string, queries: { ids: readonly string[]; vectors: readonly Float32Array[] }, k: number, similarity: Similarity = "cosine"): Similarity {
  const { ids, vectors } = queries;
  if (ids.length !== vectors.length) throw new Error(`${what}: ${ids.length} query ids but ${vectors.length} query vectors`);
  if (ids.length === 0) throw new Error(`${what}: no queries`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer, got ${k}`);
  if (similarity !== "cosine" && similarity !== "dot") throw new Error(`${what}: similarity must be "cosine" or "dot", got ${JSON.stringify(similarity)}`);
  return similarity;
}
