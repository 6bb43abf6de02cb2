// FollowIR as MTEB 2.x stores it (jhu-clsp/*-instructions-mteb, mteb/*InstructionRetrieval): every query appears
// twice, as "<qid>-og" and "<qid>-changed", each with its own instruction and judgements; qrel_diff lists the
// documents whose judgement changed. Read into the same FollowIrTaskData as the jsonl layout (bare query ids).
import { changedDocuments } from "@dembed/metrics";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, numberField, stringField, stringListField, type RowContext } from "../data/fields.js";
import type { ResolvedDataset } from "../data/resolve.js";
import type { TaskDefinition } from "../tasks.js";
import type { Doc, FollowIrTaskData, InstructionQuery, Qrels } from "../types.js";
import { addJudgement } from "./common.js";
import { assembleFollowIr } from "./followir.js";
import { docText, findConfig, idField, QRELS_CONFIGS, readRows, splitFiles } from "./mteb.js";

/** True when `root` has MTEB's instruction-retrieval configs (corpus/ and qrel_diff/ folders). */
export function looksLikeMtebInstructions(root: string): boolean {
  return existsSync(join(root, "corpus")) && existsSync(join(root, "qrel_diff"));
}

type Which = "og" | "changed";

/** "310-og" → ["310", "og"]; any other id is an error naming where it was found. */
function splitId(id: string, field: string, ctx: RowContext): [string, Which] {
  const m = /^(.*)-(og|changed)$/.exec(id);
  if (!m) throw new DatasetError(`${ctx.dataset}: ${ctx.file} row ${ctx.row}: ${field} "${id}" should end in -og or -changed`);
  return [m[1] as string, m[2] as Which];
}

/**
 * Reads one FollowIR task in MTEB's 2.x layout: corpus/ {_id|id, title, text}; queries/ {_id|id, text[, instruction]};
 * instruction/ {query-id, instruction} (when queries carry no instruction column); data/ or qrels/
 * {query-id, corpus-id, score} for both query variants; top_ranked/ {query-id, corpus-ids}; qrel_diff/
 * {query-id, corpus-ids}. Only queries with og judgements are kept, as in MTEB and the jsonl loader.
 */
export async function loadMtebInstructionsTask(resolved: ResolvedDataset, task: TaskDefinition): Promise<FollowIrTaskData> {
  const dataset = resolved.source.dataset;
  const root = resolved.root;
  const split = task.splits[0] as string;
  const files = (configs: readonly string[]) => splitFiles(dataset, root, configs, split);

  const corpus: Doc[] = [];
  for await (const { row, index, file } of readRows(dataset, files(["corpus"]))) {
    const ctx = { dataset, file, row: index };
    corpus.push({ id: idField(row, ctx), text: docText(row, ctx) });
  }

  const qrels: Record<Which, Qrels> = { og: {}, changed: {} };
  for await (const { row, index, file } of readRows(dataset, files(QRELS_CONFIGS))) {
    const ctx = { dataset, file, row: index };
    const [qid, which] = splitId(stringField(row, "query-id", ctx), "query-id", ctx);
    addJudgement(qrels[which], qid, stringField(row, "corpus-id", ctx), numberField(row, "score", ctx), `${dataset}: ${file}`);
  }

  const instructions = new Map<string, string>();
  if (findConfig(root, ["instruction"]) !== undefined) {
    for await (const { row, index, file } of readRows(dataset, files(["instruction"]))) {
      const ctx = { dataset, file, row: index };
      instructions.set(stringField(row, "query-id", ctx), stringField(row, "instruction", ctx));
    }
  }
  const variants = new Map<string, Partial<Record<Which, { text: string; instruction: string }>>>();
  const order: string[] = [];
  const queriesFiles = files(["queries"]);
  for await (const { row, index, file } of readRows(dataset, queriesFiles)) {
    const ctx = { dataset, file, row: index };
    const id = idField(row, ctx);
    const [qid, which] = splitId(id, "id", ctx);
    const instruction = row.instruction !== undefined && row.instruction !== null ? stringField(row, "instruction", ctx) : instructions.get(id);
    if (instruction === undefined) throw new DatasetError(`${dataset}: no instruction for query ${id} (${file} row ${index} has none, nor has ${join(root, "instruction")})`);
    if (!variants.has(qid)) order.push(qid);
    variants.set(qid, { ...variants.get(qid), [which]: { text: stringField(row, "text", ctx), instruction } });
  }
  const queries: InstructionQuery[] = [];
  for (const qid of order.filter((q) => qrels.og[q])) {
    const { og, changed } = variants.get(qid)!;
    if (!og || !changed) throw new DatasetError(`${dataset}: ${queriesFiles.join(", ")} has ${qid}-${og ? "og" : "changed"} but not ${qid}-${og ? "changed" : "og"}`);
    // dembed's task data holds one query text per query; the two variants differ only in their instruction.
    if (og.text !== changed.text) throw new DatasetError(`${dataset}: ${qid}-og and ${qid}-changed have different query texts in ${queriesFiles.join(", ")}`);
    queries.push({ id: qid, text: og.text, instructionOg: og.instruction, instructionChanged: changed.instruction });
  }

  const topRankedFiles = files(["top_ranked"]);
  const lists: Record<Which, Record<string, string[]>> = { og: {}, changed: {} };
  for await (const { row, index, file } of readRows(dataset, topRankedFiles)) {
    const ctx = { dataset, file, row: index };
    const [qid, which] = splitId(stringField(row, "query-id", ctx), "query-id", ctx);
    lists[which][qid] = stringListField(row, "corpus-ids", ctx);
  }
  for (const [qid, changed] of Object.entries(lists.changed)) {
    const og = lists.og[qid];
    // dembed reranks one candidate list per query under both instructions, as the jsonl layout has it.
    if (og && (og.length !== changed.length || !changed.every((d) => og.includes(d)))) {
      throw new DatasetError(`${dataset}: ${topRankedFiles.join(", ")} lists other candidates for ${qid}-changed than for ${qid}-og`);
    }
  }

  const data = assembleFollowIr(task, split, { corpus, queries, qrelsOg: qrels.og, qrelsChanged: qrels.changed, topRanked: { ...lists.changed, ...lists.og } }, resolved.source, {
    corpus: join(root, "corpus"),
    queries: join(root, "queries"),
    topRanked: join(root, "top_ranked"),
  });
  const diff = await qrelDiffMismatch(dataset, files(["qrel_diff"]), qrels.og, qrels.changed);
  if (diff) data.warnings.push(diff);
  return data;
}

/**
 * dembed scores p-MRR over the documents whose og and changed judgements differ; MTEB 2.x reads the same list from
 * qrel_diff. A difference would make the two disagree, so it is reported with counts.
 */
async function qrelDiffMismatch(dataset: string, files: string[], og: Qrels, changed: Qrels): Promise<string | undefined> {
  const derived = changedDocuments(og, changed);
  const listed = new Map<string, string[]>();
  for await (const { row, index, file } of readRows(dataset, files)) {
    const ctx = { dataset, file, row: index };
    listed.set(stringField(row, "query-id", ctx), stringListField(row, "corpus-ids", ctx));
  }
  const queries = new Set([...derived.keys(), ...listed.keys()]);
  const differing = [...queries].filter((q) => {
    const a = new Set(derived.get(q) ?? []);
    const b = listed.get(q) ?? [];
    return a.size !== new Set(b).size || !b.every((d) => a.has(d));
  });
  if (differing.length === 0) return undefined;
  return `${dataset}: qrel_diff differs from the og/changed judgements for ${differing.length} queries (e.g. ${differing.slice(0, 3).join(", ")}); dembed scores p-MRR from the judgements`;
}
