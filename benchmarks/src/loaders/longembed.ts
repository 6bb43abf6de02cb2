import { existsSync } from "node:fs";
import { join } from "node:path";
import { numberField, stringField, type RowContext } from "../data/fields.js";
import { readJsonl } from "../data/readers.js";
import type { ResolvedDataset } from "../data/resolve.js";
import type { TaskDefinition } from "../tasks.js";
import type { Doc, Qrels, Query, RetrievalSplit, RetrievalTaskData } from "../types.js";
import { addJudgement, checkUniqueIds, missingQrelsDocs } from "./common.js";
import { configSplits, docText, idField, QRELS_CONFIGS, readRows, splitFiles } from "./mteb.js";

const FILES = ["corpus.jsonl", "queries.jsonl", "qrels.jsonl"] as const;

/** True when `root` holds at least one LongEmbed config folder in the HF layout (`<config>/corpus.jsonl`). */
export function looksLikeLongEmbed(root: string, configs: readonly string[]): boolean {
  return configs.some((c) => existsSync(join(root, c, "corpus.jsonl")));
}

/** True when `root` is one task in MTEB's 2.x layout (mteb/LEMB*Retrieval: corpus/, queries/, qrels/ parquet). */
export function looksLikeMtebRetrieval(root: string): boolean {
  return ["corpus", "queries"].every((c) => configSplits(root, c).size > 0) && QRELS_CONFIGS.some((c) => configSplits(root, c).size > 0);
}

interface Row<T> {
  value: T;
  contextLength?: number;
}

interface Rows {
  docs: Array<Row<Doc>>;
  queries: Array<Row<Query>>;
  judgements: Array<Row<{ qid: string; docId: string; relevance: number }>>;
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

  const rows: Rows = { docs: [], queries: [], judgements: [] };
  for await (const { row, index } of readJsonl(label, corpusFile)) {
    const ctx = { dataset: label, file: corpusFile, row: index };
    rows.docs.push({ value: { id: stringField(row, "doc_id", ctx), text: stringField(row, "text", ctx) }, contextLength: lengthOf(row, ctx) });
  }
  for await (const { row, index } of readJsonl(label, queriesFile)) {
    const ctx = { dataset: label, file: queriesFile, row: index };
    rows.queries.push({ value: { id: stringField(row, "qid", ctx), text: stringField(row, "text", ctx) }, contextLength: lengthOf(row, ctx) });
  }
  for await (const { row, index } of readJsonl(label, qrelsFile)) {
    const ctx = { dataset: label, file: qrelsFile, row: index };
    // LongEmbed qrels carry no label column: every listed pair is relevant (1). A "score" column is honoured if present.
    const relevance = row.score === undefined ? 1 : numberField(row, "score", ctx);
    const docId = stringField(row, "doc_id", ctx);
    rows.judgements.push({ value: { qid: stringField(row, "qid", ctx), docId, relevance }, contextLength: lengthOf(row, ctx) });
  }
  const lengths = [...new Set(rows.docs.map((d) => d.contextLength as number))].sort((a, b) => a - b);
  const where = { label, corpus: corpusFile, queries: queriesFile, qrels: qrelsFile, lengthsIn: `${corpusFile} has no rows with context_length` };
  return { benchmark: "longembed", taskId: task.id, ...buildSplits(task, rows, lengths, where, options), source: resolved.source };
}

/**
 * Reads one LongEmbed task from MTEB's 2.x copy (e.g. mteb/LEMBPasskeyRetrieval): corpus/<split>-*.parquet
 * {_id, text, title}, queries/<split>-*.parquet {_id, text}, qrels/<split>-*.parquet {query-id, corpus-id, score}.
 * Passkey and needle keep one split per length (test_256, …), which become the same splits as the jsonl layout's.
 */
export async function loadMtebLongEmbedTask(
  resolved: ResolvedDataset,
  task: TaskDefinition,
  options: { contextLengths?: readonly number[] } = {},
): Promise<RetrievalTaskData> {
  const label = resolved.source.dataset;
  const root = resolved.root;
  const splitName = task.splits[0] as string;
  const perLength = task.perContextLength === true;
  const lengthSplit = new RegExp(`^${splitName}_(\\d+)$`);
  const lengths = perLength
    ? [...configSplits(root, "corpus").keys()].flatMap((s) => (lengthSplit.test(s) ? [Number(lengthSplit.exec(s)![1])] : [])).sort((a, b) => a - b)
    : [];
  const rows: Rows = { docs: [], queries: [], judgements: [] };
  for (const contextLength of perLength ? lengths : [undefined]) {
    const split = contextLength === undefined ? splitName : `${splitName}_${contextLength}`;
    for await (const { row, index, file } of readRows(label, splitFiles(label, root, ["corpus"], split))) {
      const ctx = { dataset: label, file, row: index };
      rows.docs.push({ value: { id: idField(row, ctx), text: docText(row, ctx) }, contextLength });
    }
    for await (const { row, index, file } of readRows(label, splitFiles(label, root, ["queries"], split))) {
      const ctx = { dataset: label, file, row: index };
      rows.queries.push({ value: { id: idField(row, ctx), text: stringField(row, "text", ctx) }, contextLength });
    }
    for await (const { row, index, file } of readRows(label, splitFiles(label, root, QRELS_CONFIGS, split))) {
      const ctx = { dataset: label, file, row: index };
      const value = { qid: stringField(row, "query-id", ctx), docId: stringField(row, "corpus-id", ctx), relevance: numberField(row, "score", ctx) };
      rows.judgements.push({ value, contextLength });
    }
  }
  const corpusDir = join(root, "corpus");
  const where = { label, corpus: corpusDir, queries: join(root, "queries"), qrels: join(root, "qrels"), lengthsIn: `${corpusDir} has no split for context_length` };
  return { benchmark: "longembed", taskId: task.id, ...buildSplits(task, rows, lengths, where, options), source: resolved.source };
}

interface Where {
  label: string;
  corpus: string;
  queries: string;
  qrels: string;
  lengthsIn: string;
}

/** Groups rows into MTEB's splits (one per context length for passkey/needle), with warnings about missing documents. */
function buildSplits(
  task: TaskDefinition,
  rows: Rows,
  lengths: number[],
  where: Where,
  options: { contextLengths?: readonly number[] },
): { splits: RetrievalSplit[]; warnings: string[] } {
  const splitName = task.splits[0] as string;
  const perLength = task.perContextLength === true;
  if (perLength && options.contextLengths) {
    const absent = options.contextLengths.filter((l) => !lengths.includes(l));
    if (absent.length > 0) throw new Error(`${where.label}: ${where.lengthsIn} ${absent.join(", ")} (present: ${lengths.join(", ")})`);
  }
  const wanted: Array<number | undefined> = !perLength ? [undefined] : options.contextLengths ? lengths.filter((l) => options.contextLengths!.includes(l)) : lengths;
  const warnings: string[] = [];
  const splits = wanted.map((length) => {
    const pick = <T>(list: Array<Row<T>>) => list.filter((r) => r.contextLength === length).map((r) => r.value);
    const corpus = pick(rows.docs);
    const queries = pick(rows.queries);
    const qrels: Qrels = {};
    for (const j of pick(rows.judgements)) addJudgement(qrels, j.qid, j.docId, j.relevance, `${where.label}: ${where.qrels}`);
    checkUniqueIds(where.label, where.corpus, corpus);
    checkUniqueIds(where.label, where.queries, queries);
    const split = length === undefined ? splitName : `${splitName}_${length}`;
    const warning = missingQrelsDocs(`${where.label} ${split}`, qrels, corpus);
    if (warning) warnings.push(warning);
    return { split, ...(length === undefined ? {} : { contextLength: length }), corpus, queries, qrels };
  });
  return { splits, warnings };
}
