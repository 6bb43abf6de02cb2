import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { DataError, emptyReport, formatReport, noteInvalid, noteSkipped, type RecordPosition, type ValidationReport } from "../errors.js";
import { ArrowTable } from "../readers/arrow.js";
import { JsonlFile, readJsonl } from "../readers/jsonl.js";
import { ParquetTable } from "../readers/parquet.js";
import { blockOfRow, type TableFile } from "../readers/table.js";
import type { DataFormat } from "../resolve.js";
import type { ReadContext, TrainingSample, TrainingSource } from "../sample.js";

/** One input file of a source and what its records share. */
export interface SourceFile {
  path: string;
  format: DataFormat;
  /** The `source` of this file's samples (E5: the file name). */
  label: string;
  /** E5: the instruction, or the two that alternate by line. */
  instructions?: readonly string[];
}

export interface RecordContext extends ReadContext {
  file: SourceFile;
  position: RecordPosition;
  /** 0-based line index (jsonl) or row (tables): what E5's alternation counts. */
  ordinal: number;
  /** The record's index in its source. */
  index: number;
}

/** How one kind of source validates and converts its records. */
export interface RecordKind<R> {
  readonly kind: string;
  /** Columns to decode from parquet and Arrow files (the ones present are read). */
  readonly columns?: readonly string[];
  /** Validate a decoded record; throws a DataError naming the field. */
  parse(value: unknown, at: RecordPosition): R;
  /** A reason to leave out a valid record (counted in the report, never an error). */
  skipReason?(record: R): string | undefined;
  task?(record: R): string;
  toSample(record: R, context: RecordContext): TrainingSample;
}

export interface IndexOptions {
  /** Count and skip malformed records instead of throwing (default false: strict). */
  lenient?: boolean;
  /** Keep at most this many records in all (in file order). */
  maxSamples?: number;
  /** Keep at most this many records per file (the first ones). */
  maxPerFile?: number;
  /** Seed used when the source is iterated or read without a context (default 0). */
  seed?: number;
  /** Receives a one-paragraph summary once the source is open, when records were dropped, skipped or capped. */
  log?: (summary: string) => void;
}

class Column {
  private data: Uint32Array | Float64Array;
  length = 0;
  constructor(private readonly wide: boolean) {
    this.data = wide ? new Float64Array(1024) : new Uint32Array(1024);
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.wide ? new Float64Array(this.length * 2) : new Uint32Array(this.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  get(i: number): number {
    return this.data[i]!;
  }
}

const ITERATION_CHUNK = 256;
const NO_TASK = 0xffffffff;

/** A source whose records are found by one validating pass, then read back at random. */
export class IndexedSource<R> implements TrainingSource {
  readonly report: ValidationReport = emptyReport();
  readonly sourceNames: string[] = [];
  readonly taskNames: string[] = [];
  fingerprint = "";
  blockCacheSize = 4;
  private readonly fileOf = new Column(false);
  private readonly pos = new Column(true); // byte offset (jsonl) or row (tables)
  private readonly span = new Column(false); // byte length (jsonl)
  private readonly ordinal = new Column(false);
  private readonly task = new Column(false);
  private readonly labelIds: number[] = [];
  private readonly tables: (TableFile | undefined)[] = [];
  private readonly jsonl: (Promise<JsonlFile> | undefined)[] = [];
  private readonly blockBase: number[] = [];
  private readonly blockCache = new Map<string, Promise<Record<string, unknown>[]>>();

  private constructor(
    private readonly recordKind: RecordKind<R>,
    private readonly sourceFiles: readonly SourceFile[],
    private readonly options: IndexOptions,
  ) {}

  get kind(): string {
    return this.recordKind.kind;
  }
  get files(): readonly string[] {
    return this.sourceFiles.map((f) => f.path);
  }
  get size(): number {
    return this.fileOf.length;
  }

  /** Index `files`; `skippedFiles` (left out by the caller, with reasons) go into the report. */
  static async open<R>(kind: RecordKind<R>, files: readonly SourceFile[], options: IndexOptions = {}, skippedFiles: readonly string[] = []): Promise<IndexedSource<R>> {
    const source = new IndexedSource(kind, files, options);
    source.report.skippedFiles.push(...skippedFiles);
    try {
      await source.index();
    } catch (error) {
      await source.close();
      throw error;
    }
    const { report } = source;
    if (options.log && (report.invalid > 0 || report.capped || Object.keys(report.skipped).length > 0 || report.skippedFiles.length > 0)) {
      options.log(formatReport(kind.kind, report));
    }
    return source;
  }

  private readonly sourceIds = new Map<string, number>();
  private readonly taskIds = new Map<string, number>();

  private static intern(names: string[], ids: Map<string, number>, name: string): number {
    let id = ids.get(name);
    if (id === undefined) {
      id = names.push(name) - 1;
      ids.set(name, id);
    }
    return id;
  }

  private async index(): Promise<void> {
    const { lenient = false, maxSamples = Infinity, maxPerFile = Infinity } = this.options;
    const report = this.report;
    let blocks = 0;
    const sizes: number[] = [];
    for (const [fileIndex, file] of this.sourceFiles.entries()) {
      if (fileIndex > 0xffff) throw new Error("a source holds at most 65536 files");
      this.labelIds.push(IndexedSource.intern(this.sourceNames, this.sourceIds, file.label));
      sizes.push((await stat(file.path)).size);
      let keptInFile = 0;
      const full = () => report.kept >= maxSamples || keptInFile >= maxPerFile;
      const consider = (value: unknown, at: RecordPosition, pos: number, span: number, ordinal: number): void => {
        report.records++;
        let record: R;
        try {
          record = this.recordKind.parse(value, at);
        } catch (error) {
          if (!lenient || !(error instanceof DataError)) throw error;
          noteInvalid(report, error);
          return;
        }
        const reason = this.recordKind.skipReason?.(record);
        if (reason !== undefined) return noteSkipped(report, reason);
        this.fileOf.push(fileIndex);
        this.pos.push(pos);
        this.span.push(span);
        this.ordinal.push(ordinal);
        const task = this.recordKind.task?.(record);
        this.task.push(task === undefined ? NO_TASK : IndexedSource.intern(this.taskNames, this.taskIds, task));
        report.kept++;
        keptInFile++;
      };
      this.blockBase.push(blocks);
      if (file.format === "jsonl") {
        this.tables.push(undefined);
        const onInvalid = lenient ? (error: DataError) => (report.records++, noteInvalid(report, error)) : undefined;
        for await (const line of readJsonl(file.path, { onInvalid })) {
          if (full()) {
            report.capped = true;
            break;
          }
          consider(line.value, { file: file.path, line: line.line }, line.offset, line.bytes, line.line - 1);
        }
      } else {
        const table = file.format === "parquet" ? await ParquetTable.open(file.path) : await ArrowTable.open(file.path);
        this.tables.push(table);
        blocks += table.blocks.length;
        const columns = this.recordKind.columns?.filter((c) => table.columns.includes(c));
        scan: for (const [b, block] of table.blocks.entries()) {
          const rows = await table.readBlock(b, columns);
          for (const [i, row] of rows.entries()) {
            if (full()) {
              report.capped = true;
              break scan;
            }
            const r = block.rowStart + i;
            consider(row, { file: file.path, row: r }, r, 0, r);
          }
        }
      }
      if (report.kept >= maxSamples) {
        if (fileIndex < this.sourceFiles.length - 1) report.capped = true;
        break;
      }
    }
    const identity = {
      kind: this.kind,
      files: this.sourceFiles.map((f, i) => [basename(f.path), sizes[i], f.label, f.instructions ?? null]),
      size: this.size,
      tasks: this.taskNames,
      options: { lenient, maxSamples: String(maxSamples), maxPerFile: String(maxPerFile) },
    };
    this.fingerprint = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new RangeError(`record index ${index} out of range [0, ${this.size})`);
  }

  sourceOf(index: number): number {
    this.checkIndex(index);
    return this.labelIds[this.fileOf.get(index)]!;
  }

  taskOf(index: number): number {
    this.checkIndex(index);
    const task = this.task.get(index);
    return task === NO_TASK ? -1 : task;
  }

  blockOf(index: number): number {
    this.checkIndex(index);
    const fileIndex = this.fileOf.get(index);
    const table = this.tables[fileIndex];
    return table === undefined ? -1 : this.blockBase[fileIndex]! + blockOfRow(table.blocks, this.pos.get(index));
  }

  private loadBlock(fileIndex: number, block: number): Promise<Record<string, unknown>[]> {
    const key = `${fileIndex}:${block}`;
    let rows = this.blockCache.get(key);
    if (rows !== undefined) {
      this.blockCache.delete(key); // re-insert: Map order is the LRU order
    } else {
      const table = this.tables[fileIndex]!;
      rows = table.readBlock(block, this.recordKind.columns?.filter((c) => table.columns.includes(c)));
      rows.catch(() => this.blockCache.delete(key));
    }
    this.blockCache.set(key, rows);
    while (this.blockCache.size > Math.max(1, this.blockCacheSize)) this.blockCache.delete(this.blockCache.keys().next().value!);
    return rows;
  }

  private jsonlFile(fileIndex: number): Promise<JsonlFile> {
    let file = this.jsonl[fileIndex];
    if (file === undefined) {
      file = JsonlFile.open(this.sourceFiles[fileIndex]!.path);
      this.jsonl[fileIndex] = file;
    }
    return file;
  }

  async read(indices: ArrayLike<number>, context: Partial<ReadContext> = {}): Promise<TrainingSample[]> {
    const seed = context.seed ?? this.options.seed ?? 0;
    const epoch = context.epoch ?? 0;
    const values = new Array<unknown>(indices.length);
    const jsonlWanted = new Map<number, number[]>(); // file → positions in `indices`
    const tableReads: Promise<void>[] = [];
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      this.checkIndex(index);
      const fileIndex = this.fileOf.get(index);
      const table = this.tables[fileIndex];
      if (table === undefined) {
        const list = jsonlWanted.get(fileIndex) ?? [];
        list.push(k);
        jsonlWanted.set(fileIndex, list);
      } else {
        const row = this.pos.get(index);
        const block = blockOfRow(table.blocks, row);
        tableReads.push(this.loadBlock(fileIndex, block).then((rows) => void (values[k] = rows[row - table.blocks[block]!.rowStart])));
      }
    }
    const jsonlReads = [...jsonlWanted].map(async ([fileIndex, ks]) => {
      const file = await this.jsonlFile(fileIndex);
      const spans = ks.map((k) => {
        const index = indices[k]!;
        return { offset: this.pos.get(index), bytes: this.span.get(index), line: this.ordinal.get(index) + 1 };
      });
      const read = await file.readMany(spans);
      ks.forEach((k, i) => (values[k] = read[i]));
    });
    await Promise.all([...tableReads, ...jsonlReads]);
    const samples: TrainingSample[] = [];
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      const file = this.sourceFiles[this.fileOf.get(index)]!;
      const ordinal = this.ordinal.get(index);
      const position: RecordPosition = file.format === "jsonl" ? { file: file.path, line: ordinal + 1 } : { file: file.path, row: ordinal };
      // a record that validated while indexing and fails now means the file changed underneath us
      const record = this.recordKind.parse(values[k], position);
      samples.push(this.recordKind.toSample(record, { file, position, ordinal, index, seed, epoch }));
    }
    return samples;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TrainingSample> {
    for (let start = 0; start < this.size; start += ITERATION_CHUNK) {
      const end = Math.min(this.size, start + ITERATION_CHUNK);
      yield* await this.read(Array.from({ length: end - start }, (_, i) => start + i));
    }
  }

  async close(): Promise<void> {
    const opened = this.jsonl.splice(0);
    await Promise.all(opened.map(async (file) => (file === undefined ? undefined : (await file).close())));
    await Promise.all(this.tables.splice(0).map((table) => table?.close()));
    this.blockCache.clear();
  }
}
