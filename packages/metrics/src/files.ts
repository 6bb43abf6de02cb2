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
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
  let reader: TrecReader | undefined;
  const jsonChunks: string[] = [];
  let json: boolean | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
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
  if (json) return parseNestedJson(jsonChunks.join(""), path, kind);
  return reader ? reader.finish() : new Map();
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
