import { jsonLines, parseNestedJson, qrelsLines, runLines, TrecReader } from "./formats.js";
import type { Qrels, QrelsInput, Run, RunInput } from "./types.js";

// node:fs is imported on first use, so the rest of the package stays loadable in browsers.
const fsPromises = () => import("node:fs/promises");

/**
 * Streams a TREC file line by line (runs of 10M lines exceed what one string can hold), or reads a JSON
 * file whole when its first non-space character is "{".
 */
async function readNested(path: string, kind: "qrels" | "run"): Promise<Map<string, Map<string, number>>> {
  const { createReadStream } = await import("node:fs");
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let reader: TrecReader | undefined;
  const jsonChunks: string[] = [];
  let json: boolean | undefined;
  const decode = utf8Chunks(path);
  try {
    for await (const bytes of stream as AsyncIterable<Uint8Array>) {
      const chunk = decode(bytes);
      if (json === undefined) {
        const start = chunk.search(/\S/);
        if (start < 0) {
          jsonChunks.push(chunk);
          continue;
        }
        json = chunk[start] === "{";
        if (!json) {
          reader = new TrecReader(kind, path);
          for (const earlier of jsonChunks) reader.push(earlier);
        }
      }
      if (json) jsonChunks.push(chunk);
      else reader!.push(chunk);
    }
  } catch (err) {
    if (err instanceof Error && "code" in err) throw new Error(`cannot read ${kind} file "${path}": ${err.message}`);
    throw err;
  }
  decode(undefined);
  if (json) return parseNestedJson(jsonChunks.join(""), path, kind);
  return reader ? reader.finish() : new Map();
}

/**
 * The project's text policy, kept here because metrics imports nothing: a leading UTF-8 BOM is dropped (the
 * decoder does it), and bytes that are not UTF-8 fail with file:line instead of turning an id into "\ufffd…".
 * Call with each chunk, then once with undefined at the end.
 */
function utf8Chunks(path: string): (bytes: Uint8Array | undefined) => string {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lines = 1;
  return (bytes) => {
    try {
      const text = bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
      return text;
    } catch {
      let line = lines;
      const probe = new TextDecoder("utf-8", { fatal: true });
      // 0x0A never sits inside a multi-byte sequence: the first line that fails alone is the bad one.
      let start = 0;
      for (let i = 0; bytes !== undefined && i <= bytes.length; i++) {
        if (i < bytes.length && bytes[i] !== 0x0a) continue;
        try {
          probe.decode(bytes.subarray(start, i));
        } catch {
          break;
        }
        start = i + 1;
        line++;
      }
      throw new Error(`${path}:${line}: not valid UTF-8 (re-encode the file as UTF-8)`);
    }
  };
}

/** Reads TREC qrels (`qid 0 docid label`) or JSON `{ qid: { docid: label } }`. Errors name `file:line`. */
export const readQrels = (path: string): Promise<Qrels> => readNested(path, "qrels");

/** Reads a TREC run (`qid Q0 docid rank score tag`) or JSON `{ qid: { docid: score } }`. Errors name `file:line`. */
export const readRun = (path: string): Promise<Run> => readNested(path, "run");

/** Writes chunks to a temp file beside `path`, then renames it over `path`: readers never see half a file. */
async function writeAtomic(path: string, chunks: Iterable<string>): Promise<void> {
  const { open, rename, rm } = await fsPromises();
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const handle = await open(temp, "w");
  try {
    let buffer = "";
    for (const chunk of chunks) {
      buffer += chunk;
      if (buffer.length >= 1 << 20) {
        await handle.write(buffer);
        buffer = "";
      }
    }
    if (buffer) await handle.write(buffer);
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

export interface WriteRunOptions {
  /** "trec" (default) or "json"; a path ending in .json defaults to "json". */
  readonly format?: "trec" | "json";
  /** The run tag of TREC lines. Default "dembed". */
  readonly tag?: string;
}

/** Writes a run atomically: TREC lines in rank order, or the JSON form. */
export function writeRun(path: string, run: RunInput, options: WriteRunOptions = {}): Promise<void> {
  const format = options.format ?? (path.toLowerCase().endsWith(".json") ? "json" : "trec");
  return writeAtomic(path, format === "json" ? jsonLines(run) : runLines(run, options.tag));
}

/** Writes qrels atomically: TREC lines, or the JSON form for a path ending in .json. */
export function writeQrels(path: string, qrels: QrelsInput): Promise<void> {
  return writeAtomic(path, path.toLowerCase().endsWith(".json") ? jsonLines(qrels) : qrelsLines(qrels));
}
