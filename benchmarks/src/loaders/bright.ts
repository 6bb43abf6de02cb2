import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, stringField, stringListField, TaskDataMissing } from "../data/fields.js";
import { readParquet } from "../data/readers.js";
import type { ResolvedDataset } from "../data/resolve.js";
import type { TaskDefinition } from "../tasks.js";
import type { Doc, Qrels, Query, RetrievalTaskData } from "../types.js";
import { checkUniqueIds, missingQrelsDocs } from "./common.js";

// BRIGHT writes "N/A" in excluded_ids when a query has nothing to exclude.
const NO_EXCLUSION = "N/A";

/** True when `root` has BRIGHT's `examples/` and `documents/` folders. */
export function looksLikeBright(root: string): boolean {
  return existsSync(join(root, "examples")) && existsSync(join(root, "documents"));
}

/** The parquet shards of one task in one config folder (`<config>/<task>-00000-of-00001.parquet`, ...). */
function shards(dataset: string, root: string, config: string, task: string): string[] {
  const dir = join(root, config);
  if (!existsSync(dir)) throw new TaskDataMissing(`${dataset}: folder ${dir} not found (expected the "${config}" config)`);
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`${task}-`) && f.endsWith(".parquet"))
    .sort();
  if (files.length === 0) throw new TaskDataMissing(`${dataset}: no file ${join(dir, `${task}-*.parquet`)} (split "${task}" of "${config}")`);
  return files.map((f) => join(dir, f));
}

/**
 * Reads one BRIGHT task (xlangai/BRIGHT layout: `examples/<task>-*.parquet` with id, query, gold_ids, excluded_ids;
 * `documents/<task>-*.parquet` with id, content). `long: true` reads `long_documents/` and gold_ids_long instead.
 * Excluded ids are kept apart so the runner removes them from the ranking rather than scoring them zero.
 */
export async function loadBrightTask(resolved: ResolvedDataset, task: TaskDefinition, options: { long?: boolean } = {}): Promise<RetrievalTaskData> {
  const dataset = `${resolved.source.dataset} (${task.id})`;
  const goldField = options.long ? "gold_ids_long" : "gold_ids";
  const corpus: Doc[] = [];
  const docFiles = shards(dataset, resolved.root, options.long ? "long_documents" : "documents", task.id);
  for (const file of docFiles) {
    for await (const { row, index } of readParquet(dataset, file, ["id", "content"])) {
      const ctx = { dataset, file, row: index };
      corpus.push({ id: stringField(row, "id", ctx), text: stringField(row, "content", ctx) });
    }
  }
  checkUniqueIds(dataset, docFiles.join(", "), corpus);

  const queries: Query[] = [];
  const qrels: Qrels = {};
  const excluded: Record<string, string[]> = {};
  const exampleFiles = shards(dataset, resolved.root, "examples", task.id);
  for (const file of exampleFiles) {
    for await (const { row, index } of readParquet(dataset, file, ["id", "query", goldField, "excluded_ids"])) {
      const ctx = { dataset, file, row: index };
      const id = stringField(row, "id", ctx);
      queries.push({ id, text: stringField(row, "query", ctx) });
      const gold = stringListField(row, goldField, ctx);
      qrels[id] = Object.fromEntries(gold.map((d) => [d, 1]));
      const ex = stringListField(row, "excluded_ids", ctx).filter((d) => d !== NO_EXCLUSION);
      const clash = ex.find((d) => gold.includes(d));
      if (clash) throw new DatasetError(`${dataset}: ${file} row ${index}: ${clash} is both gold and excluded`);
      if (ex.length > 0) excluded[id] = ex;
    }
  }
  checkUniqueIds(dataset, exampleFiles.join(", "), queries);
  const warnings: string[] = [];
  const warning = missingQrelsDocs(dataset, qrels, corpus);
  if (warning) warnings.push(warning);
  const split = task.splits[0] as string;
  return { benchmark: "bright", taskId: task.id, splits: [{ split, corpus, queries, qrels, excluded }], source: resolved.source, warnings };
}
