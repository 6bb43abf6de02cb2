import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import type { AsyncBuffer, FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { DataError } from "../errors.js";
import { tableRows, type ReadRowsOptions, type TableBlock, type TableFile, type TableRow } from "./table.js";

/** A parquet file read row group by row group (hyparquet; zstd, gzip, brotli, lz4 through hyparquet-compressors). */
export class ParquetTable implements TableFile {
  readonly format = "parquet" as const;

  private constructor(
    readonly path: string,
    private readonly file: AsyncBuffer,
    private readonly metadata: FileMetaData,
    readonly columns: readonly string[],
    readonly blocks: readonly TableBlock[],
    readonly numRows: number,
  ) {}

  static async open(path: string): Promise<ParquetTable> {
    const file = await asyncBufferFromFile(path);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new DataError({ file: path }, undefined, `not a readable parquet file (${(error as Error).message})`);
    }
    const columns = parquetSchema(metadata).children.map((child) => child.element.name);
    const blocks: TableBlock[] = [];
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowCount = Number(group.num_rows);
      blocks.push({ rowStart, rowCount });
      rowStart += rowCount;
    }
    return new ParquetTable(path, file, metadata, columns, blocks, rowStart);
  }

  async readBlock(index: number, columns?: readonly string[]): Promise<Record<string, unknown>[]> {
    const block = this.blocks[index];
    if (block === undefined) throw new RangeError(`${this.path}: no row group ${index} (has ${this.blocks.length})`);
    try {
      const rows = await parquetReadObjects({
        file: this.file,
        metadata: this.metadata,
        columns: columns === undefined ? undefined : [...columns],
        rowStart: block.rowStart,
        rowEnd: block.rowStart + block.rowCount,
        compressors,
      });
      return rows as Record<string, unknown>[];
    } catch (error) {
      throw new DataError({ file: this.path, row: block.rowStart }, undefined, `cannot decode row group ${index} (${(error as Error).message})`);
    }
  }

  async close(): Promise<void> {
    // asyncBufferFromFile opens a stream per read and holds no descriptor
  }
}

/** Stream the rows of a parquet file, decoding one row group at a time. */
export async function* readParquetRows(path: string, options: ReadRowsOptions = {}): AsyncGenerator<TableRow> {
  const table = await ParquetTable.open(path);
  try {
    yield* tableRows(table, options);
  } finally {
    await table.close();
  }
}
