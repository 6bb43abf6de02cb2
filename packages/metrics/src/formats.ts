import { compareIds } from "./compare.js";
import { forEachDoc, rankOrder, readQueryRun } from "./ranking.js";
import type { DocValues, Qrels, QrelsInput, Run, RunInput } from "./types.js";

/** A malformed input, located as `source:line`. */
export class FormatError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${source}:${line}: ${detail}`);
    this.name = "FormatError";
  }
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** Like trec_eval's atof on the score column, but refusing anything that is not a number (NaN included). */
function parseScore(token: string): number | undefined {
  const value = Number(token);
  if (!Number.isNaN(value)) return value;
  const inf = /^([+-]?)inf(inity)?$/i.exec(token);
  return inf ? (inf[1] === "-" ? -Infinity : Infinity) : undefined;
}

/**
 * Reads TREC text line by line (whole text or streamed chunks): qrels `qid iter docid label`, runs
 * `qid Q0 docid rank score tag` (rank and tag ignored, as trec_eval does). Blank and `#` lines are skipped;
 * a document listed twice for one query is an error. Lines are scanned by index, not split into strings:
 * a 10M-line run otherwise spends most of its time allocating and collecting them.
 */
export class TrecReader {
  readonly data = new Map<string, Map<string, number>>();
  private lineNumber = 0;
  private pending = "";
  /** [start, end) of up to 7 fields of the current line. */
  private readonly bounds = new Int32Array(14);
  private lastQid = "";
  private lastDocs: Map<string, number> | undefined;

  constructor(
    readonly kind: "qrels" | "run",
    readonly source: string,
  ) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      this.line(text, start, newline);
      start = newline + 1;
    }
    this.pending = text.slice(start);
  }

  finish(): Map<string, Map<string, number>> {
    if (this.pending) this.line(this.pending, 0, this.pending.length);
    this.pending = "";
    return this.data;
  }

  private fail(detail: string): FormatError {
    return new FormatError(this.source, this.lineNumber, detail);
  }

  private field(text: string, k: number): string {
    return text.slice(this.bounds[2 * k]!, this.bounds[2 * k + 1]!);
  }

  private line(text: string, start: number, end: number): void {
    this.lineNumber++;
    const bounds = this.bounds;
    let count = 0;
    for (let i = start; count < 7; count++) {
      while (i < end && isSpace(text.charCodeAt(i))) i++;
      if (i >= end) break;
      bounds[2 * count] = i;
      while (i < end && !isSpace(text.charCodeAt(i))) i++;
      bounds[2 * count + 1] = i;
    }
    if (count === 0 || text.charCodeAt(bounds[0]!) === 35 /* # */) return;
    let value: number | undefined;
    if (this.kind === "qrels") {
      if (count !== 4) {
        const hint = count === 3 ? " (a BEIR-style 'qid docid score' line?)" : count >= 6 ? " (a run file?)" : "";
        throw this.fail(`expected 4 fields "qid iter docid relevance", got ${count > 6 ? "more than 6" : count}${hint}`);
      }
      const label = this.field(text, 3);
      if (!/^[+-]?\d+$/.test(label)) throw this.fail(`relevance "${label}" is not an integer`);
      value = Number(label);
    } else {
      // trec_eval rejects a run line with extra fields; a 7th is usually a split tag or a stray column.
      if (count !== 6) throw this.fail(`expected 6 fields "qid Q0 docid rank score tag", got ${count > 6 ? "more than 6" : count}${count === 4 ? " (a qrels file?)" : ""}`);
      value = parseScore(this.field(text, 4));
      if (value === undefined) throw this.fail(`score "${this.field(text, 4)}" is not a number`);
    }
    const qidLength = bounds[1]! - bounds[0]!;
    let docs = this.lastDocs;
    // Runs list a query's documents together: reuse the last query's map without slicing its id again.
    if (!docs || qidLength !== this.lastQid.length || !text.startsWith(this.lastQid, bounds[0]!)) {
      const qid = this.field(text, 0);
      docs = this.data.get(qid);
      if (!docs) this.data.set(qid, (docs = new Map()));
      this.lastQid = qid;
      this.lastDocs = docs;
    }
    const docid = this.field(text, 2);
    if (docs.has(docid)) throw this.fail(`duplicate document "${docid}" for query "${this.lastQid}"`);
    docs.set(docid, value);
  }
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses the JSON form `{ "qid": { "docid": number } }`. Hand-written rather than JSON.parse, which keeps
 * the last of two equal keys silently: a duplicate document must be an error, with its line.
 */
export function parseNestedJson(text: string, source: string, kind: "qrels" | "run"): Map<string, Map<string, number>> {
  let pos = 0;
  const fail = (detail: string, at = pos): never => {
    throw new FormatError(source, lineAt(text, at), detail);
  };
  const found = () => (pos >= text.length ? "end of input" : JSON.stringify(text.slice(pos, pos + 16)));
  const skipSpace = () => {
    while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  };
  const take = (ch: string) => {
    skipSpace();
    if (text[pos] !== ch) fail(`expected "${ch}" but found ${found()}`);
    pos++;
  };
  const peekIs = (ch: string) => {
    skipSpace();
    return text[pos] === ch;
  };
  const readString = (): string => {
    skipSpace();
    if (text[pos] !== '"') fail(`expected a quoted id but found ${found()}`);
    let end = pos + 1;
    let escaped = false;
    while (end < text.length && text.charCodeAt(end) !== 34) {
      if (text.charCodeAt(end) === 92) {
        escaped = true;
        end++;
      }
      end++;
    }
    if (end >= text.length) fail("unterminated string");
    const raw = text.slice(pos, end + 1);
    const start = pos;
    pos = end + 1;
    if (!escaped) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return fail(`invalid string ${raw.slice(0, 40)}`, start);
    }
  };
  const out = new Map<string, Map<string, number>>();
  take("{");
  while (!peekIs("}")) {
    const qidAt = pos;
    const qid = readString();
    if (out.has(qid)) fail(`duplicate query "${qid}"`, qidAt);
    const docs = new Map<string, number>();
    out.set(qid, docs);
    take(":");
    take("{");
    while (!peekIs("}")) {
      const docAt = pos;
      const docid = readString();
      if (docs.has(docid)) fail(`duplicate document "${docid}" for query "${qid}"`, docAt);
      take(":");
      skipSpace();
      JSON_NUMBER.lastIndex = pos;
      const match = JSON_NUMBER.exec(text);
      if (!match) fail(`${kind === "run" ? "score" : "relevance"} of "${docid}" in query "${qid}" must be a number, found ${found()}`);
      const value = Number(match![0]);
      if (kind === "qrels" && !Number.isInteger(value)) fail(`relevance ${match![0]} of "${docid}" in query "${qid}" is not an integer`);
      pos = JSON_NUMBER.lastIndex;
      docs.set(docid, value);
      if (!peekIs(",")) break;
      pos++;
    }
    take("}");
    if (!peekIs(",")) break;
    pos++;
  }
  take("}");
  skipSpace();
  if (pos < text.length) fail(`unexpected ${found()} after the closing "}"`);
  return out;
}

const looksLikeJson = (text: string) => /^\s*\{/.test(text);

/** Parses qrels text: TREC lines (`qid 0 docid label`) or JSON `{ qid: { docid: label } }`. */
export function parseQrels(text: string, source = "qrels"): Qrels {
  if (looksLikeJson(text)) return parseNestedJson(text, source, "qrels");
  const reader = new TrecReader("qrels", source);
  reader.push(text);
  return reader.finish();
}

/** Parses run text: TREC lines (`qid Q0 docid rank score tag`) or JSON `{ qid: { docid: score } }`. */
export function parseRun(text: string, source = "run"): Run {
  if (looksLikeJson(text)) return parseNestedJson(text, source, "run");
  const reader = new TrecReader("run", source);
  reader.push(text);
  return reader.finish();
}

function queries(input: QrelsInput | RunInput): [string, DocValues][] {
  const entries = input instanceof Map ? [...input] : Object.entries(input as Readonly<Record<string, DocValues>>);
  return entries.sort((a, b) => compareIds(a[0], b[0]));
}

function checkId(what: string, id: string): string {
  if (id.length === 0 || /\s/.test(id)) throw new RangeError(`${what} ${JSON.stringify(id)} is empty or contains whitespace`);
  return id;
}

/** TREC qrels lines, queries in byte order, documents in input order. */
export function* qrelsLines(qrels: QrelsInput): Generator<string> {
  for (const [qid, docs] of queries(qrels)) {
    checkId("query id", qid);
    const lines: string[] = [];
    forEachDoc(docs, (docid, label) => {
      if (!Number.isInteger(label)) throw new TypeError(`qrels: label ${label} of "${docid}" in query "${qid}" is not an integer`);
      lines.push(`${qid} 0 ${checkId("document id", docid)} ${label}\n`);
    });
    yield lines.join("");
  }
}

/** TREC run lines in rank order; scores in shortest round-trip form, so reading back gives the same ranking. */
export function* runLines(run: RunInput, tag = "dembed"): Generator<string> {
  checkId("run tag", tag);
  for (const [qid, docs] of queries(run)) {
    checkId("query id", qid);
    const ranked = readQueryRun(qid, docs);
    const lines = rankOrder(ranked).map(
      (i, position) => `${qid} Q0 ${checkId("document id", ranked.ids[i]!)} ${position + 1} ${ranked.scores[i]} ${tag}\n`,
    );
    yield lines.join("");
  }
}

/** The JSON form, one query per line. Infinite scores have no JSON spelling and throw. */
export function* jsonLines(input: QrelsInput | RunInput): Generator<string> {
  const all = queries(input);
  yield all.length === 0 ? "{}\n" : "{\n";
  for (const [n, [qid, docs]] of all.entries()) {
    const parts: string[] = [];
    forEachDoc(docs, (docid, value) => {
      if (!Number.isFinite(value)) throw new RangeError(`JSON: value ${value} of "${docid}" in query "${qid}" is not finite`);
      parts.push(`${JSON.stringify(docid)}: ${value}`);
    });
    yield `  ${JSON.stringify(qid)}: {${parts.join(", ")}}${n + 1 < all.length ? "," : ""}\n`;
  }
  if (all.length > 0) yield "}\n";
}

export const formatQrels = (qrels: QrelsInput): string => [...qrelsLines(qrels)].join("");
export const formatRun = (run: RunInput, tag = "dembed"): string => [...runLines(run, tag)].join("");
export const formatJson = (input: QrelsInput | RunInput): string => [...jsonLines(input)].join("");
