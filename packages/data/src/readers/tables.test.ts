import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Int64, Utf8, passagesType, writeArrowRows } from "../../test/support/arrow-writer.js";
import { collect, MSMARCO_PARQUET, tempDir } from "../../test/support/fixtures.js";
import { ArrowTable, readArrowRows } from "./arrow.js";
import { ParquetTable, readParquetRows } from "./parquet.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const rows = Array.from({ length: 7 }, (_, i) => ({
  id: BigInt(i) * 10n,
  name: i === 3 ? null : `row ${i}`,
  passages: i % 2 === 0 ? [{ docid: `d${i}`, text: `text ${i}`, title: "" }] : [],
}));
const types = { id: new Int64(), name: new Utf8(), passages: passagesType };
const plain = rows.map((r) => ({ id: Number(r.id), name: r.name, passages: r.passages }));

describe("parquet fixture (zstd)", () => {
  it("is zstd-compressed in row groups of 10 and reads row group by row group", async () => {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(MSMARCO_PARQUET));
    const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
    expect([...codecs]).toEqual(["ZSTD"]);
    const table = await ParquetTable.open(MSMARCO_PARQUET);
    expect(table.numRows).toBe(32);
    expect(table.blocks).toEqual([0, 10, 20, 30].map((rowStart) => ({ rowStart, rowCount: rowStart === 30 ? 2 : 10 })));
    const third = await table.readBlock(2, ["query_id", "new_negatives"]);
    expect(Object.keys(third[0]!).sort()).toEqual(["new_negatives", "query_id"]);
  });

  it("streams a row range and only the asked columns", async () => {
    const all = await collect(readParquetRows(MSMARCO_PARQUET, { columns: ["query_id"] }));
    expect(all.map((r) => r.row)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    const some = await collect(readParquetRows(MSMARCO_PARQUET, { columns: ["query_id", "positive_passages"], rowStart: 8, rowEnd: 12 }));
    expect(some.map((r) => r.value.query_id)).toEqual(all.slice(8, 12).map((r) => r.value.query_id));
    expect((some[0]!.value.positive_passages as { text: string }[])[0]!.text.length).toBeGreaterThan(20);
    await expect(collect(readParquetRows(MSMARCO_PARQUET, { columns: ["nope"] }))).rejects.toThrow(/no column "nope"/);
  });

  it("names a file that is not parquet", async () => {
    const path = join(dir, "not.parquet");
    await writeFile(path, "this is not parquet at all");
    await expect(ParquetTable.open(path)).rejects.toThrow(new RegExp(`${path}: not a readable parquet file`));
  });
});

describe("Arrow IPC", () => {
  for (const format of ["stream", "file"] as const) {
    it(`reads ${format} format batch by batch, with nested lists of structs and int64`, async () => {
      const path = join(dir, `rows.${format}.arrow`);
      await writeArrowRows(path, types, rows, { batchRows: 3, format });
      expect((await collect(readArrowRows(path))).map((r) => r.value)).toEqual(plain);
      const table = await ArrowTable.open(path);
      expect(table.columns).toEqual(["id", "name", "passages"]);
      expect(table.blocks).toEqual([
        { rowStart: 0, rowCount: 3 },
        { rowStart: 3, rowCount: 3 },
        { rowStart: 6, rowCount: 1 },
      ]);
      // random access: the last batch alone, one column; overlapping reads of every batch
      expect(await table.readBlock(2, ["name"])).toEqual([{ name: "row 6" }]);
      expect((await Promise.all([2, 0, 1, 2, 0].map((b) => table.readBlock(b)))).map((r) => r[0]!.id)).toEqual([60, 0, 30, 60, 0]);
      await table.close();
    });
  }

  it("says when a file is not Arrow IPC", async () => {
    const path = join(dir, "not.arrow");
    await writeFile(path, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x40, 0, 0, 0, 1, 2, 3]));
    await expect(ArrowTable.open(path)).rejects.toThrow(/not an Arrow IPC stream or file/);
  });
});
