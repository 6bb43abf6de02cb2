/** A contiguous run of rows that is cheap to decode on its own: a parquet row group or an Arrow record batch. */
export interface TableBlock {
  rowStart: number;
  rowCount: number;
}

/** A columnar file read block by block, so only one block needs to be in memory at a time. */
export interface TableFile {
  readonly path: string;
  readonly format: "parquet" | "arrow";
  readonly numRows: number;
  /** Top-level column names. */
  readonly columns: readonly string[];
  readonly blocks: readonly TableBlock[];
  /** Decode one block into plain objects (only `columns` when given). */
  readBlock(index: number, columns?: readonly string[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** One table row with its 0-based row number in the file. */
export interface TableRow {
  value: Record<string, unknown>;
  row: number;
}

export interface ReadRowsOptions {
  /** Columns to decode (default: all). Unknown names are an error. */
  columns?: readonly string[];
  /** Row range [rowStart, rowEnd) to read (default: all rows). */
  rowStart?: number;
  rowEnd?: number;
}

/** Stream the rows of a table block by block. */
export async function* tableRows(table: TableFile, options: ReadRowsOptions = {}): AsyncGenerator<TableRow> {
  const columns = options.columns;
  if (columns !== undefined) {
    const missing = columns.filter((c) => !table.columns.includes(c));
    if (missing.length > 0) {
      throw new Error(`${table.path}: no column ${missing.map((c) => `"${c}"`).join(", ")} (columns: ${table.columns.join(", ")})`);
    }
  }
  const rowStart = options.rowStart ?? 0;
  const rowEnd = Math.min(options.rowEnd ?? table.numRows, table.numRows);
  for (const [index, block] of table.blocks.entries()) {
    const blockEnd = block.rowStart + block.rowCount;
    if (blockEnd <= rowStart || block.rowStart >= rowEnd) continue;
    const rows = await table.readBlock(index, columns);
    for (let i = Math.max(rowStart, block.rowStart); i < Math.min(rowEnd, blockEnd); i++) {
      yield { value: rows[i - block.rowStart]!, row: i };
    }
  }
}

/** Index of the block holding `row` (binary search over block starts). */
export function blockOfRow(blocks: readonly TableBlock[], row: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (blocks[mid]!.rowStart <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
