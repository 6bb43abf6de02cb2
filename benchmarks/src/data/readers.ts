import { existsSync } from "node:fs";
import { readJsonl as readJsonlRecords, readParquetRows } from "@dembed/data";
import { DatasetError } from "./fields.js";

/** One parsed row and its 1-based position in the file (line for jsonl, row for parquet). */
export interface NumberedRow {
  row: Record<string, unknown>;
  index: number;
}

function requireFile(dataset: string, file: string): void {
  if (!existsSync(file)) throw new DatasetError(`${dataset}: file ${file} not found`);
}

/** Errors from the readers below name the dataset as well as the file. */
function wrap(dataset: string, file: string, err: unknown): DatasetError {
  if (err instanceof DatasetError) return err;
  const message = (err as Error).message ?? String(err);
  return new DatasetError(`${dataset}: ${message.includes(file) ? message : `${file}: ${message}`}`);
}

/** Streams a JSON-lines file (via @dembed/data); every line must be a JSON object. */
export async function* readJsonl(dataset: string, file: string): AsyncGenerator<NumberedRow> {
  requireFile(dataset, file);
  try {
    for await (const { value, line } of readJsonlRecords(file)) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new DatasetError(`${dataset}: ${file} line ${line} should be a JSON object`);
      }
      yield { row: value as Record<string, unknown>, index: line };
    }
  } catch (err) {
    throw wrap(dataset, file, err);
  }
}

/** Streams the named columns of a parquet file one row group at a time (via @dembed/data); a missing column is an error naming it. */
export async function* readParquet(dataset: string, file: string, columns?: string[]): AsyncGenerator<NumberedRow> {
  requireFile(dataset, file);
  try {
    for await (const { value, row } of readParquetRows(file, columns ? { columns } : {})) yield { row: value, index: row + 1 };
  } catch (err) {
    throw wrap(dataset, file, err);
  }
}
