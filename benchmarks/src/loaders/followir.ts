import { existsSync } from "node:fs";
import { join } from "node:path";
import { numberField, optionalStringField, stringField } from "../data/fields.js";
import { readJsonl } from "../data/readers.js";
import type { ResolvedDataset } from "../data/resolve.js";
import type { TaskDefinition } from "../tasks.js";
import type { DatasetSource, Doc, FollowIrTaskData, InstructionQuery, Qrels } from "../types.js";
import { addJudgement, checkUniqueIds, missingQrelsDocs } from "./common.js";

/** True when `root` holds a FollowIR dataset (corpus.jsonl and qrels_og/). */
export function looksLikeFollowIr(root: string): boolean {
  return existsSync(join(root, "corpus.jsonl")) && existsSync(join(root, "qrels_og"));
}

async function readQrels(dataset: string, file: string): Promise<Qrels> {
  const qrels: Qrels = {};
  for await (const { row, index } of readJsonl(dataset, file)) {
    const ctx = { dataset, file, row: index };
    addJudgement(qrels, stringField(row, "query-id", ctx), stringField(row, "corpus-id", ctx), numberField(row, "score", ctx), `${dataset}: ${file}`);
  }
  return qrels;
}

/**
 * Reads one FollowIR dataset (jhu-clsp/{robust04,news21,core17}-instructions layout: corpus.jsonl {_id,title,text},
 * queries.jsonl {_id,text,instruction_og,instruction_changed}, qrels_og/<split>.jsonl and qrels_changed/<split>.jsonl
 * {query-id,corpus-id,score}, top_ranked.jsonl {qid,pid}). As in MTEB, only queries with og judgements are kept,
 * and a document's text is its title and text joined by a space.
 */
export async function loadFollowIrTask(resolved: ResolvedDataset, task: TaskDefinition): Promise<FollowIrTaskData> {
  const dataset = resolved.source.dataset;
  const split = task.splits[0] as string;
  const file = (name: string) => join(resolved.root, name);

  const corpus: Doc[] = [];
  for await (const { row, index } of readJsonl(dataset, file("corpus.jsonl"))) {
    const ctx = { dataset, file: file("corpus.jsonl"), row: index };
    const title = optionalStringField(row, "title", ctx)?.trim() ?? "";
    const text = stringField(row, "text", ctx);
    corpus.push({ id: stringField(row, "_id", ctx), text: title ? `${title} ${text}` : text });
  }

  const qrelsOg = await readQrels(dataset, file(join("qrels_og", `${split}.jsonl`)));
  const qrelsChanged = await readQrels(dataset, file(join("qrels_changed", `${split}.jsonl`)));

  const queries: InstructionQuery[] = [];
  for await (const { row, index } of readJsonl(dataset, file("queries.jsonl"))) {
    const ctx = { dataset, file: file("queries.jsonl"), row: index };
    const id = stringField(row, "_id", ctx);
    if (!qrelsOg[id]) continue;
    queries.push({
      id,
      text: stringField(row, "text", ctx),
      instructionOg: stringField(row, "instruction_og", ctx),
      instructionChanged: stringField(row, "instruction_changed", ctx),
    });
  }

  const topRanked: Record<string, string[]> = {};
  for await (const { row, index } of readJsonl(dataset, file("top_ranked.jsonl"))) {
    const ctx = { dataset, file: file("top_ranked.jsonl"), row: index };
    (topRanked[stringField(row, "qid", ctx)] ??= []).push(stringField(row, "pid", ctx));
  }
  const parts = { corpus, queries, qrelsOg, qrelsChanged, topRanked };
  return assembleFollowIr(task, split, parts, resolved.source, { corpus: file("corpus.jsonl"), queries: file("queries.jsonl"), topRanked: file("top_ranked.jsonl") });
}

export interface FollowIrParts {
  corpus: Doc[];
  queries: InstructionQuery[];
  qrelsOg: Qrels;
  qrelsChanged: Qrels;
  topRanked: Record<string, string[]>;
}

/**
 * The checks every FollowIR layout shares: unique ids, candidates for every query (those missing from the corpus
 * dropped with a warning), and judged documents missing from the corpus counted in a warning.
 */
export function assembleFollowIr(
  task: TaskDefinition,
  split: string,
  parts: FollowIrParts,
  source: DatasetSource,
  files: { corpus: string; queries: string; topRanked: string },
): FollowIrTaskData {
  const dataset = source.dataset;
  const { corpus, queries, qrelsOg, qrelsChanged, topRanked } = parts;
  checkUniqueIds(dataset, files.corpus, corpus);
  checkUniqueIds(dataset, files.queries, queries);
  const withoutCandidates = queries.filter((q) => !topRanked[q.id]).map((q) => q.id);
  if (withoutCandidates.length > 0) {
    throw new Error(`${dataset}: ${files.topRanked} has no candidates for queries ${withoutCandidates.slice(0, 5).join(", ")}`);
  }
  const warnings: string[] = [];
  const docIds = new Set(corpus.map((d) => d.id));
  let missingCandidates = 0;
  for (const q of queries) {
    const list = topRanked[q.id] as string[];
    const kept = list.filter((d) => docIds.has(d));
    missingCandidates += list.length - kept.length;
    topRanked[q.id] = kept;
  }
  if (missingCandidates > 0) {
    warnings.push(`${dataset}: ${missingCandidates} top_ranked candidates are missing from the corpus and were dropped`);
  }
  for (const [name, qrels] of [["qrels_og", qrelsOg], ["qrels_changed", qrelsChanged]] as const) {
    const warning = missingQrelsDocs(`${dataset} ${name}`, qrels, corpus);
    if (warning) warnings.push(warning);
  }
  return { benchmark: "followir", taskId: task.id, split, corpus, queries, qrelsOg, qrelsChanged, topRanked, source, warnings };
}
