import { existsSync } from "node:fs";
import { join } from "node:path";
import { numberField, stringField, type RowContext } from "../data/fields.js";
import { readJsonl } from "../data/readers.js";
import type { ResolvedDataset } from "../data/resolve.js";
import type { TaskDefinition } from "../tasks.js";
import type { Doc, Qrels, Query, RetrievalSplit, RetrievalTaskData } from "../types.js";
import { addJudgement, checkUniqueIds, missingQrelsDocs } from "./common.js";

const FILES = ["corpus.jsonl", "queries.jsonl", "qrels.jsonl"] as const;

/** True when `root` holds at least one LongEmbed config folder in the HF layout (`<config>/corpus.jsonl`). */
export function looksLikeLongEmbed(root: string, configs: readonly string[]): boolean {
  return configs.some((c) => existsSync(join(root, c, "corpus.jsonl")));
}

interface Row<T> {
  value: T;
  contextLength?: number;
}

/**
 * Reads one LongEmbed config (dwzhu/LongEmbed layout: `<config>/{corpus,queries,qrels}.jsonl` with fields
 * doc_id/text, qid/text, qid/doc_id). Passkey and needle rows carry context_length and become one split per
 * length (`test_<L>`), restricted to `contextLengths` when given; the other tasks are one split named as the task says.
 */
export async function loadLongEmbedTask(
  resolved: ResolvedDataset,
  task: TaskDefinition,
  options: { contextLengths?: readonly number[] } = {},
): Promise<RetrievalTaskData> {
  const config = task.config ?? task.id;
  const label = `${resolved.source.dataset} (${config})`;
  const dir = join(resolved.root, config);
  const [corpusFile, queriesFile, qrelsFile] = FILES.map((f) => join(dir, f)) as [string, string, string];
  const perLength = task.perContextLength === true;
  const lengthOf = (row: Record<string, unknown>, ctx: RowContext) => (perLength ? numberField(row, "context_length", ctx) : undefined);

  const docs: Array<Row<Doc>> = [];
  for await (const { row, index } of readJsonl(label, corpusFile)) {
    const ctx = { dataset: label, file: corpusFile, row: index };
    docs.push({ value: { id: stringField(row, "doc_id", ctx), text: stringField(row, "text", ctx) }, contextLength: lengthOf(row, ctx) });
  }
  const queries: Array<Row<Query>> = [];
  for await (const { row, index } of readJsonl(label, queriesFile)) {
    const ctx = { dataset: label, file: queriesFile, row: index };
    queries.push({ value: { id: stringField(row, "qid", ctx), text: stringField(row, "text", ctx) }, contextLength: lengthOf(row, ctx) });
  }
  const judgements: Array<Row<{ qid: string; docId: string; relevance: number }>> = [];
  for await (const { row, index } of readJsonl(label, qrelsFile)) {
    const ctx = { dataset: label, file: qrelsFile, row: index };
    // LongEmbed qrels carry no label column: every listed pair is relevant (1). A "score" column is honoured if present.
    const relevance = row.score === undefined ? 1 : numberField(row, "score", ctx);
    const docId = stringField(row, "doc_id", ctx);
    judgements.push({ value: { qid: stringField(row, "qid", ctx), docId, relevance }, contextLength: lengthOf(row, ctx) });
  }

  const splitName = task.splits[0] as string;
  const lengths = [...new Set(docs.map((d) => d.contextLength as number))].sort((a, b) => a - b);
  const groups: Array<number | undefined> = perLength ? lengths : [undefined];
  const wanted = perLength && options.contextLengths ? lengths.filter((l) => options.contextLengths!.includes(l)) : groups;
  if (perLength && options.contextLengths) {
    const absent = options.contextLengths.filter((l) => !lengths.includes(l));
    if (absent.length > 0) {
      throw new Error(`${label}: ${corpusFile} has no rows with context_length ${absent.join(", ")} (present: ${lengths.join(", ")})`);
    }
  }

  const warnings: string[] = [];
  const splits: RetrievalSplit[] = wanted.map((length) => {
    const pick = <T>(rows: Array<Row<T>>) => rows.filter((r) => r.contextLength === length).map((r) => r.value);
    const corpus = pick(docs);
    const qs = pick(queries);
    const qrels: Qrels = {};
    for (const j of pick(judgements)) addJudgement(qrels, j.qid, j.docId, j.relevance, `${label}: ${qrelsFile}`);
    checkUniqueIds(label, corpusFile, corpus);
    checkUniqueIds(label, queriesFile, qs);
    const split = length === undefined ? splitName : `${splitName}_${length}`;
    const warning = missingQrelsDocs(`${label} ${split}`, qrels, corpus);
    if (warning) warnings.push(warning);
    return { split, ...(length === undefined ? {} : { contextLength: length }), corpus, queries: qs, qrels };
  });
  return { benchmark: "longembed", taskId: task.id, splits, source: resolved.source, warnings };
}
