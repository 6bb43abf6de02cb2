import { open, type FileHandle } from "node:fs/promises";
import { AsyncRecordBatchFileReader, Message, MessageHeader, RecordBatchReader, Vector, type RecordBatch } from "apache-arrow";
import { DataError } from "../errors.js";
import { tableRows, type ReadRowsOptions, type TableBlock, type TableFile, type TableRow } from "./table.js";

// Arrow IPC framing: [0xFFFFFFFF][int32 metadata length][flatbuffer Message][body]; length 0 ends the
// stream. Pre-1.0 writers omit the 0xFFFFFFFF marker. A file (Feather v2) is "ARROW1\0\0", the same
// messages (its schema may live only in the footer), then a footer. Indexing the message spans lets any
// record batch of a stream be decoded on its own; files go through apache-arrow's footer-based reader.
const CONTINUATION = 0xffffffff;
const MAGIC = "ARROW1";
const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

interface MessageSpan {
  offset: number;
  length: number;
  type: MessageHeader;
  rows: number;
}

async function readExactly(handle: FileHandle, offset: number, length: number, path: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  const { bytesRead } = await handle.read(buffer, 0, length, offset);
  if (bytesRead < length) throw new DataError({ file: path }, undefined, `truncated Arrow IPC data at byte ${offset}`);
  return buffer;
}

async function scanMessages(handle: FileHandle, path: string): Promise<{ spans: MessageSpan[]; isFile: boolean }> {
  const size = (await handle.stat()).size;
  let offset = 0;
  let end = size;
  let isFile = false;
  const head = size >= 8 ? await readExactly(handle, 0, 8, path) : Buffer.alloc(0);
  if (head.toString("latin1", 0, 6) === MAGIC) {
    const tail = await readExactly(handle, size - 10, 10, path);
    end = size - 10 - tail.readInt32LE(0);
    offset = 8;
    isFile = true;
  }
  const spans: MessageSpan[] = [];
  while (offset + 4 <= end) {
    const prefix = await readExactly(handle, offset, Math.min(8, end - offset), path);
    const marker = prefix.readUInt32LE(0);
    const prefixBytes = marker === CONTINUATION ? 8 : 4;
    const metaLength = marker === CONTINUATION ? (prefix.length >= 8 ? prefix.readInt32LE(4) : 0) : marker;
    if (metaLength === 0) break;
    if (metaLength < 0 || offset + prefixBytes + metaLength > end) {
      throw new DataError({ file: path }, undefined, `not an Arrow IPC stream or file (bad message header at byte ${offset})`);
    }
    const meta = await readExactly(handle, offset + prefixBytes, metaLength, path);
    let message: Message;
    try {
      message = Message.decode(meta);
    } catch (error) {
      throw new DataError({ file: path }, undefined, `not an Arrow IPC stream or file (${(error as Error).message} at byte ${offset})`);
    }
    const rows = message.isRecordBatch() ? Number(message.header().length) : 0;
    const length = prefixBytes + metaLength + Number(message.bodyLength);
    spans.push({ offset, length, type: message.headerType, rows });
    offset += length;
  }
  // a file keeps its schema in the footer (apache-arrow JS writes no schema message there); a stream must start with one
  if (!isFile && spans[0]?.type !== MessageHeader.Schema) throw new DataError({ file: path }, undefined, "Arrow IPC stream does not start with a schema message");
  return { spans, isFile };
}

/** Arrow values → plain JSON-like values: lists → arrays, structs → objects, int64 → number (or string past 2^53). */
export function arrowToPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value !== "object") return value;
  if (value instanceof Vector) return Array.from(value as Vector, arrowToPlain);
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  const toJSON = (value as { toJSON?: () => Record<string, unknown> }).toJSON;
  if (typeof toJSON === "function") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(toJSON.call(value))) out[key] = arrowToPlain(inner);
    return out;
  }
  return value;
}

/** An Arrow IPC stream or file (e.g. a `datasets` cache file), read record batch by record batch. */
export class ArrowTable implements TableFile {
  readonly format = "arrow" as const;
  // apache-arrow's file reader seeks a shared position before each read, so its reads must not overlap
  private fileReads: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    // streams are decoded from their own message spans; files through apache-arrow's footer-based random access
    private readonly source: { messages: readonly MessageSpan[]; batchMessages: readonly number[] } | { file: AsyncRecordBatchFileReader },
    readonly columns: readonly string[],
    readonly blocks: readonly TableBlock[],
    readonly numRows: number,
  ) {}

  static async open(path: string): Promise<ArrowTable> {
    const handle = await open(path, "r");
    try {
      const { spans: messages, isFile } = await scanMessages(handle, path);
      const blocks: TableBlock[] = [];
      const batchMessages: number[] = [];
      let rowStart = 0;
      for (const [i, message] of messages.entries()) {
        if (message.type !== MessageHeader.RecordBatch) continue;
        batchMessages.push(i);
        blocks.push({ rowStart, rowCount: message.rows });
        rowStart += message.rows;
      }
      if (isFile) {
        const file = await RecordBatchReader.from(handle);
        await file.open();
        if (!(file instanceof AsyncRecordBatchFileReader) || file.numRecordBatches !== blocks.length) {
          throw new DataError({ file: path }, undefined, `Arrow file footer lists ${file.isFile() ? file.numRecordBatches : "no"} record batches, the body holds ${blocks.length}`);
        }
        return new ArrowTable(path, handle, { file }, file.schema.fields.map((f) => f.name), blocks, rowStart);
      }
      const schemaBytes = await readExactly(handle, messages[0]!.offset, messages[0]!.length, path);
      const reader = RecordBatchReader.from(Buffer.concat([schemaBytes, EOS]));
      reader.open();
      const columns = reader.schema.fields.map((field) => field.name);
      return new ArrowTable(path, handle, { messages, batchMessages }, columns, blocks, rowStart);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private async readBatch(index: number): Promise<RecordBatch> {
    if (index < 0 || index >= this.blocks.length) throw new RangeError(`${this.path}: no record batch ${index} (has ${this.blocks.length})`);
    if ("file" in this.source) {
      const file = this.source.file;
      const read = this.fileReads.then(() => file.readRecordBatch(index));
      this.fileReads = read.catch(() => undefined);
      const batch = await read;
      if (batch === null) throw new DataError({ file: this.path, row: this.blocks[index]!.rowStart }, undefined, `cannot decode record batch ${index}`);
      return batch;
    }
    const { messages, batchMessages } = this.source;
    const messageIndex = batchMessages[index]!;
    // dictionaries that precede the batch are needed to decode it
    const parts = [messages[0]!, ...messages.slice(1, messageIndex).filter((m) => m.type === MessageHeader.DictionaryBatch), messages[messageIndex]!];
    const buffers = await Promise.all(parts.map((m) => readExactly(this.handle, m.offset, m.length, this.path)));
    const reader = RecordBatchReader.from(Buffer.concat([...buffers, EOS]));
    const batch = reader.next().value as RecordBatch | undefined;
    if (batch === undefined) throw new DataError({ file: this.path, row: this.blocks[index]!.rowStart }, undefined, `cannot decode record batch ${index}`);
    return batch;
  }

  async readBlock(index: number, columns?: readonly string[]): Promise<Record<string, unknown>[]> {
    const batch = await this.readBatch(index);
    const names = columns ?? this.columns;
    const rows = Array.from({ length: batch.numRows }, () => ({}) as Record<string, unknown>);
    for (const name of names) {
      const vector = batch.getChild(name);
      if (vector === null) continue;
      for (let i = 0; i < rows.length; i++) rows[i]![name] = arrowToPlain(vector.get(i));
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Stream the rows of an Arrow IPC stream or file, decoding one record batch at a time. */
export async function* readArrowRows(path: string, options: ReadRowsOptions = {}): AsyncGenerator<TableRow> {
  const table = await ArrowTable.open(path);
  try {
    yield* tableRows(table, options);
  } finally {
    await table.close();
  }
}
