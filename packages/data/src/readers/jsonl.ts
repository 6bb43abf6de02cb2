import { open, type FileHandle } from "node:fs/promises";
import { decodeUtf8, InvalidTextError } from "@dembed/files";
import { DataError } from "../errors.js";

/** One decoded jsonl line: its value, 1-based line number, and the byte span of its text. */
export interface JsonlRecord {
  value: unknown;
  line: number;
  offset: number;
  bytes: number;
}

export interface ReadJsonlOptions {
  /** Byte offset of a line start to begin at (default 0), and that line's number (default 1). */
  start?: number;
  startLine?: number;
  /** Called for a line that is not valid JSON; without it such a line throws a DataError. */
  onInvalid?: (error: DataError) => void;
  /** Read size in bytes (default 1 MiB). */
  chunkBytes?: number;
}

const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf] as const;

function isBlank(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = data[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** The project's text policy: invalid UTF-8 is a DataError at file:line, never a silent U+FFFD. */
function utf8(bytes: Uint8Array, file: string, line: number): string {
  try {
    return decodeUtf8(bytes, file, line);
  } catch (error) {
    if (error instanceof InvalidTextError) throw new DataError({ file, line }, undefined, "not valid UTF-8 (re-encode the file as UTF-8)");
    throw error;
  }
}

function parseLine(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataError({ file, line }, undefined, `invalid JSON (${(error as Error).message})`);
  }
}

/**
 * Stream a JSON-lines file one record at a time, reading fixed-size chunks so memory stays flat
 * however large the file is. Blank lines are skipped but still counted in line numbers.
 */
export async function* readJsonl(path: string, options: ReadJsonlOptions = {}): AsyncGenerator<JsonlRecord> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const handle = await open(path, "r");
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let filePos = options.start ?? 0;
    let line = options.startLine ?? 1;
    let carry: Buffer | undefined;
    let carryOffset = filePos;
    for (let eof = false; !eof; ) {
      const { bytesRead } = await handle.read(chunk, 0, chunkBytes, filePos);
      eof = bytesRead === 0;
      let data: Buffer = chunk.subarray(0, bytesRead);
      let dataOffset = filePos;
      if (carry !== undefined) {
        data = bytesRead === 0 ? carry : Buffer.concat([carry, data]);
        dataOffset = carryOffset;
        carry = undefined;
      }
      filePos += bytesRead;
      let start = 0;
      while (start < data.length) {
        let end = data.indexOf(NEWLINE, start);
        if (end < 0) {
          if (!eof) break;
          end = data.length; // last line without a trailing newline
        }
        let textStart = start;
        if (dataOffset + start === 0 && BOM.every((b, i) => data[i] === b)) textStart += 3;
        if (!isBlank(data, textStart, end)) {
          const text = utf8(data.subarray(textStart, end), path, line);
          let value: unknown;
          try {
            value = parseLine(text, path, line);
          } catch (error) {
            if (options.onInvalid === undefined || !(error instanceof DataError)) throw error;
            options.onInvalid(error);
            value = undefined;
          }
          if (value !== undefined) yield { value, line, offset: dataOffset + textStart, bytes: end - textStart };
        }
        start = end + 1;
        line++;
      }
      if (start < data.length) {
        // the chunk buffer is reused by the next read, so the partial line is copied out
        carry = Buffer.from(data.subarray(start));
        carryOffset = dataOffset + start;
      }
    }
  } finally {
    await handle.close();
  }
}

/** A span of one jsonl record, as {@link readJsonl} reports it. */
export interface JsonlSpan {
  offset: number;
  bytes: number;
  line: number;
}

// Spans closer than this are read in one call: one larger read beats many small ones.
const MERGE_GAP = 64 * 1024;
const MAX_MERGED = 8 * 1024 * 1024;

/** Random access to records of a jsonl file by byte span (from an index built with readJsonl). */
export class JsonlFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<JsonlFile> {
    return new JsonlFile(path, await open(path, "r"));
  }

  /** Read and parse records; results come back in the order of `spans`. */
  async readMany(spans: readonly JsonlSpan[]): Promise<unknown[]> {
    const order = spans.map((_, i) => i).sort((a, b) => spans[a]!.offset - spans[b]!.offset);
    const values = new Array<unknown>(spans.length);
    let i = 0;
    while (i < order.length) {
      const first = spans[order[i]!]!;
      let end = first.offset + first.bytes;
      let j = i + 1;
      while (j < order.length) {
        const next = spans[order[j]!]!;
        if (next.offset - end > MERGE_GAP || next.offset + next.bytes - first.offset > MAX_MERGED) break;
        end = Math.max(end, next.offset + next.bytes);
        j++;
      }
      const buffer = Buffer.allocUnsafe(end - first.offset);
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, first.offset);
      for (let k = i; k < j; k++) {
        const span = spans[order[k]!]!;
        const from = span.offset - first.offset;
        if (from + span.bytes > bytesRead) {
          throw new DataError({ file: this.path, line: span.line }, undefined, "record lies past the end of the file (was the file changed after it was indexed?)");
        }
        values[order[k]!] = parseLine(utf8(buffer.subarray(from, from + span.bytes), this.path, span.line), this.path, span.line);
      }
      i = j;
    }
    return values;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
