// Writing parquet for fixtures, tests and benchmarks (dev only): hyparquet-writer for the file layout,
// @bokuweb/zstd-wasm for the ZSTD codec that hyparquet-writer does not ship. Column layout follows
// what pyarrow writes for the Hub's msmarco-w-instructions shards: list<struct<docid, text, title>>.
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { compress, init } from "@bokuweb/zstd-wasm";
import { ParquetWriter, fileWriter } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";

let zstdReady: Promise<void> | undefined;

/** A ZSTD compressor for hyparquet-writer (the wasm module loads once). */
export async function zstdCompressor(level = 9): Promise<(input: Uint8Array) => Uint8Array> {
  zstdReady ??= init();
  await zstdReady;
  return (input) => compress(input, level);
}

const utf8 = (name: string): SchemaElement => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });

function passageList(name: string): SchemaElement[] {
  return [
    { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    { name: "element", repetition_type: "OPTIONAL", num_children: 3 },
    utf8("docid"),
    utf8("text"),
    utf8("title"),
  ];
}

/** msmarco-w-instructions columns, in the Hub file's order. */
export const MSMARCO_COLUMNS = ["query_id", "query", "positive_passages", "negative_passages", "only_instruction", "only_query", "has_instruction", "new_negatives"] as const;

export const MSMARCO_SCHEMA: SchemaElement[] = [
  { name: "schema", num_children: MSMARCO_COLUMNS.length },
  utf8("query_id"),
  utf8("query"),
  ...passageList("positive_passages"),
  ...passageList("negative_passages"),
  utf8("only_instruction"),
  utf8("only_query"),
  { name: "has_instruction", type: "BOOLEAN", repetition_type: "OPTIONAL" },
  ...passageList("new_negatives"),
];

export interface Passage {
  docid: string;
  title: string;
  text: string;
}

export interface MsmarcoRow {
  query_id: string;
  query: string;
  positive_passages: Passage[];
  negative_passages: Passage[];
  only_instruction: string;
  only_query: string;
  has_instruction: boolean;
  new_negatives: Passage[] | null;
}

function topLevelNames(schema: readonly SchemaElement[]): string[] {
  const names: string[] = [];
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < (schema[at]!.num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    names.push(schema[i]!.name);
    i = skip(i);
  }
  return names;
}

export interface ParquetSink {
  /** Append rows as one row group per call. */
  write(columns: Record<string, unknown[]>): void;
  /** Write the footer and move the file into place. */
  finish(): Promise<void>;
}

/** A parquet file written row group by row group to `path` (through a temp file, renamed at the end). */
export async function openParquetSink(path: string, schema: SchemaElement[], options: { codec?: "ZSTD" | "SNAPPY" | "UNCOMPRESSED"; level?: number } = {}): Promise<ParquetSink> {
  const codec = options.codec ?? "ZSTD";
  const temp = `${path}.tmp-${process.pid}`;
  await mkdir(dirname(path), { recursive: true });
  const writer = new ParquetWriter({
    writer: fileWriter(temp),
    schema,
    codec,
    compressors: codec === "ZSTD" ? { ZSTD: await zstdCompressor(options.level) } : {},
    statistics: false,
  });
  const top = topLevelNames(schema);
  return {
    write(columns) {
      // column chunks must follow the schema's order: readers match them by position
      const missing = top.filter((name) => columns[name] === undefined);
      if (missing.length > 0) throw new Error(`parquet rows lack columns ${missing.join(", ")}`);
      const rows = columns[top[0]!]!.length;
      writer.write({ columnData: top.map((name) => ({ name, data: columns[name]! })), rowGroupSize: Math.max(1, rows) });
    },
    async finish() {
      try {
        writer.finish();
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
  };
}

/** Write msmarco-w-instructions rows, `rowGroupSize` rows per row group. */
export async function writeMsmarcoParquet(path: string, rows: readonly MsmarcoRow[], options: { rowGroupSize?: number; codec?: "ZSTD" | "SNAPPY" } = {}): Promise<void> {
  const sink = await openParquetSink(path, MSMARCO_SCHEMA, options);
  const size = options.rowGroupSize ?? 1000;
  for (let start = 0; start < rows.length; start += size) {
    const group = rows.slice(start, start + size);
    sink.write(Object.fromEntries(MSMARCO_COLUMNS.map((c) => [c, group.map((r) => r[c])])));
  }
  await sink.finish();
}
