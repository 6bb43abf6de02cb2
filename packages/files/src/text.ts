// The one policy for every text input (qrels, runs, JSONL, configs): a leading UTF-8 byte-order mark is dropped,
// and bytes that are not UTF-8 are an error naming the file and line — never a silent U+FFFD inside an id.
import { readFile } from "node:fs/promises";

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export class InvalidTextError extends Error {
  override readonly name = "InvalidTextError";
}

const NEWLINE = 0x0a;

/** Decodes UTF-8, dropping a leading BOM; invalid bytes throw with `where:<line>` (line numbers start at 1). */
export function decodeUtf8(bytes: Uint8Array, where: string, firstLine = 1): string {
  try {
    return fatal.decode(bytes); // ignoreBOM false: the decoder itself strips one leading BOM
  } catch {
    // 0x0A never occurs inside a multi-byte sequence, so decoding line by line finds the first bad line.
    let start = 0;
    let line = firstLine;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== NEWLINE) continue;
      try {
        fatal.decode(bytes.subarray(start, i));
      } catch {
        throw new InvalidTextError(`${where}:${line}: not valid UTF-8 (re-encode the file as UTF-8)`);
      }
      start = i + 1;
      line++;
    }
    throw new InvalidTextError(`${where}: not valid UTF-8`);
  }
}

/** Reads a whole text file under the policy; a missing file is named with why it was wanted. */
export async function readTextFile(path: string, what = "file"): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = e.code === "ENOENT" ? "not found" : e.code === "EISDIR" ? "is a folder, not a file" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new Error(`${what} ${path}: ${reason}`);
  }
  return decodeUtf8(bytes, path);
}

/**
 * Splits a byte stream into decoded lines under the policy (BOM dropped from the first line; invalid UTF-8 is an
 * error naming the line). Lines may end in \n or \r\n. Memory is bounded by the longest line.
 */
export async function* readUtf8Lines(chunks: AsyncIterable<Uint8Array>, where: string): AsyncGenerator<string> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let line = 1;
  const take = (tail: Uint8Array): string => {
    const parts = pendingBytes === 0 ? tail : concat([...pending, tail], pendingBytes + tail.length);
    pending = [];
    pendingBytes = 0;
    let text = decodeUtf8(parts, where, line);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    line++;
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, start)) {
      yield take(chunk.subarray(start, i));
      start = i + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
    }
  }
  if (pendingBytes > 0) yield take(new Uint8Array(0));
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
