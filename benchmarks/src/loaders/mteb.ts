// The layout MTEB 2.x pushes its retrieval datasets in: one folder per config (corpus/, queries/, qrels/ or data/,
// top_ranked/, …) holding `<split>-00000-of-0000N.parquet` shards. Read by the mteb/LEMB* and the *-instructions-mteb /
// mteb/*InstructionRetrieval loaders.
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { DatasetError, stringField, TaskDataMissing, type RowContext } from "../data/fields.js";
import { readParquet, type NumberedRow } from "../data/readers.js";

/** A config's parquet files grouped by split: "test_256-00000-of-00001.parquet" → "test_256". */
export function configSplits(root: string, config: string): Map<string, string[]> {
  const dir = join(root, config);
  const groups = new Map<string, string[]>();
  if (!existsSync(dir)) return groups;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".parquet")).sort()) {
    const split = basename(file, ".parquet").replace(/-\d{5}-of-\d{5}$/, "");
    groups.set(split, [...(groups.get(split) ?? []), join(dir, file)]);
  }
  return groups;
}

/** The first of `configs` that exists under root (qrels sit in `data/` for a "default" config, else in `qrels/`). */
export function findConfig(root: string, configs: readonly string[]): string | undefined {
  return configs.find((c) => configSplits(root, c).size > 0);
}

/**
 * The files of one split of one config. As MTEB's loader does, a config with a single split is read whatever its
 * split is called (the *-instructions-mteb repos name it after the config: corpus/corpus-*.parquet).
 */
export function splitFiles(dataset: string, root: string, configs: readonly string[], split: string): string[] {
  const config = findConfig(root, configs);
  if (config === undefined) throw new TaskDataMissing(`${dataset}: no parquet files in ${configs.map((c) => join(root, c)).join(" or ")}`);
  const groups = configSplits(root, config);
  const files = groups.get(split) ?? (groups.size === 1 ? [...groups.values()][0] : undefined);
  if (!files) throw new DatasetError(`${dataset}: ${join(root, config)} has no split "${split}" (splits: ${[...groups.keys()].join(", ")})`);
  return files;
}

/** Every row of the given files, with the file for error messages. */
export async function* readRows(dataset: string, files: readonly string[]): AsyncGenerator<NumberedRow & { file: string }> {
  for (const file of files) for await (const row of readParquet(dataset, file)) yield { ...row, file };
}

/** MTEB writes ids as `_id` (BEIR style) or `id` (its v2 format): either is accepted. */
export function idField(row: Record<string, unknown>, ctx: RowContext): string {
  return stringField(row, row._id === undefined ? "id" : "_id", ctx);
}

/** A document's text: title and text joined by a space, as MTEB and the jsonl loaders do; the title may be empty. */
export function docText(row: Record<string, unknown>, ctx: RowContext): string {
  const title = row.title === undefined || row.title === null ? "" : stringField(row, "title", ctx).trim();
  const text = stringField(row, "text", ctx);
  return title ? `${title} ${text}` : text;
}

export const QRELS_CONFIGS = ["qrels", "data"] as const;
