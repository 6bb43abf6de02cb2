import type { Doc, Qrels } from "../types.js";

/**
 * Counts qrels entries whose doc is not in the corpus. trec_eval tolerates them (they only lower recall-type
 * measures), so this is a warning with counts, not an error.
 */
export function missingQrelsDocs(label: string, qrels: Qrels, corpus: readonly Doc[]): string | undefined {
  const ids = new Set(corpus.map((d) => d.id));
  let missing = 0;
  let total = 0;
  const queries = new Set<string>();
  const examples: string[] = [];
  for (const [qid, docs] of Object.entries(qrels)) {
    for (const docId of Object.keys(docs)) {
      total++;
      if (ids.has(docId)) continue;
      missing++;
      queries.add(qid);
      if (examples.length < 3) examples.push(docId);
    }
  }
  if (missing === 0) return undefined;
  return `${label}: ${missing} of ${total} qrels entries (in ${queries.size} queries) name documents missing from the corpus, e.g. ${examples.join(", ")}`;
}

/** Adds one judgement, rejecting a doc judged twice for one query with different labels. */
export function addJudgement(qrels: Qrels, qid: string, docId: string, relevance: number, where: string): void {
  const q = (qrels[qid] ??= {});
  const prior = q[docId];
  if (prior !== undefined && prior !== relevance) {
    throw new Error(`${where}: query ${qid} judges ${docId} twice (${prior} and ${relevance})`);
  }
  q[docId] = relevance;
}

/** Duplicate ids would make two documents share one embedding and one rank: refuse them. */
export function checkUniqueIds(label: string, file: string, items: ReadonlyArray<{ id: string }>): void {
  const seen = new Set<string>();
  for (const { id } of items) {
    if (seen.has(id)) throw new Error(`${label}: ${file} has the id ${JSON.stringify(id)} twice`);
    seen.add(id);
  }
}
