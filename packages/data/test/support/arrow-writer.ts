// Arrow IPC files like those the Python `datasets` library caches (stream format, several record batches).
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Bool, Field, Int64, List, RecordBatchFileWriter, RecordBatchStreamWriter, Struct, Table, Utf8, vectorFromArray, type DataType } from "apache-arrow";

export const passageType = new Struct([new Field("docid", new Utf8(), true), new Field("text", new Utf8(), true), new Field("title", new Utf8(), true)]);
export const passagesType = new List(new Field("item", passageType, true));

export const MSMARCO_ARROW_TYPES: Record<string, DataType> = {
  query_id: new Utf8(),
  query: new Utf8(),
  positive_passages: passagesType,
  negative_passages: passagesType,
  only_instruction: new Utf8(),
  only_query: new Utf8(),
  has_instruction: new Bool(),
  new_negatives: passagesType,
};

export { Int64, Utf8 };

/** Write rows as Arrow IPC, `batchRows` rows per record batch. */
export async function writeArrowRows(
  path: string,
  types: Record<string, DataType>,
  rows: readonly object[],
  options: { batchRows?: number; format?: "stream" | "file" } = {},
): Promise<void> {
  const batchRows = options.batchRows ?? 1000;
  const writer = options.format === "file" ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
  for (let start = 0; start < rows.length; start += batchRows) {
    const slice = rows.slice(start, start + batchRows);
    const columns = Object.fromEntries(Object.entries(types).map(([name, type]) => [name, vectorFromArray(slice.map((r) => (r as Record<string, unknown>)[name] ?? null), type)]));
    for (const batch of new Table(columns).batches) writer.write(batch);
  }
  writer.finish();
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, writer.toUint8Array(true));
  await rename(temp, path);
}
