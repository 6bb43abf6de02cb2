/**
 * dembed's encoding layer: instruction + text joined as llm2vec joins them, an embed mask over the text's
 * tokens, counted truncation, EOS that survives truncation, and padding on either side.
 *
 * Where the text starts. llm2vec tokenizes the joined string and marks its last n tokens, n = the token count
 * of the text tokenized alone. That count is wrong whenever BPE merges across the join (the instruction's
 * trailing space fuses with the text's first word; "Query:" + ":)" fuses the colons). Here the joined string
 * and the instruction side (template prefix + instruction + separator) are both tokenized, and the text starts
 * where the two token lists first differ: every token from there on holds at least one byte of the text, and
 * a token straddling the join counts as text. When nothing merges this is exactly llm2vec's n.
 */
import type { ResolvedProfile, TokenizerProfile } from "./profile.js";

export interface EncodeOptions {
  readonly profile: TokenizerProfile;
  /** Longest sequence, special tokens included. */
  readonly maxLength: number;
  /** One instruction for every text, or one per text; "" or undefined means none. */
  readonly instruction?: string | readonly (string | undefined)[];
  /** Append EOS; overrides profile.appendEos. */
  readonly addEos?: boolean;
}

/** One tokenized input before padding. */
export interface EncodedRow {
  readonly ids: readonly number[];
  /** The embed mask covers ids[textStart..]: the text, the template suffix and an appended EOS. */
  readonly textStart: number;
  readonly truncated: boolean;
}

export interface EncodedRows {
  readonly rows: readonly EncodedRow[];
  readonly profile: ResolvedProfile;
  /** How many rows were cut to maxLength. */
  readonly truncated: number;
}

/** Row-major [B, T] model inputs and masks. */
export interface EncodedBatch {
  readonly dims: readonly [number, number];
  readonly inputIds: BigInt64Array;
  /** 1 for real tokens (an EOS equal to the pad token included), 0 for padding. */
  readonly attentionMask: BigInt64Array;
  /** 1 for the tokens to pool: the text (+ suffix, + EOS); 0 for BOS, instruction and padding. */
  readonly embedMask: Uint8Array;
  /** Real tokens per row. */
  readonly lengths: Int32Array;
  /** How many rows were cut to maxLength, and which. */
  readonly truncated: number;
  readonly truncatedRows: readonly number[];
}

interface TokenSource {
  encode(text: string): number[];
  encodePrefix(prefix: string): number[];
  resolveProfile(profile: TokenizerProfile): ResolvedProfile;
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) i++;
  return i;
}

function instructionFor(instruction: EncodeOptions["instruction"], row: number, count: number): string {
  if (instruction === undefined) return "";
  if (typeof instruction === "string") return instruction;
  if (!Array.isArray(instruction) || instruction.length !== count) {
    throw new RangeError(`encode: ${Array.isArray(instruction) ? instruction.length : "no"} instructions given for ${count} texts`);
  }
  const value = instruction[row];
  if (value !== undefined && typeof value !== "string") throw new TypeError(`encode: instruction ${row} is not a string`);
  return value ?? "";
}

/** Tokens past the cut that are tokenized and thrown away, so merges at the prefix's end never reach the kept ones. */
const TRUNCATION_MARGIN = 64;
/** Characters per token of the first try; ordinary text averages about 4. */
const FIRST_TRY_CHARS_PER_TOKEN = 8;

/**
 * head + text + suffix tokenized, but never more of a long text than truncation keeps: a growing prefix of the
 * text is tokenized until it yields `budget` tokens plus a margin, so a 10 MB line costs what its first few
 * thousand characters cost. A text that fits is tokenized whole, as before.
 */
function encodeBounded(tokenizer: TokenSource, head: string, text: string, suffix: string, budget: number): number[] {
  const want = budget + TRUNCATION_MARGIN;
  for (let chars = want * FIRST_TRY_CHARS_PER_TOKEN; chars < text.length; chars *= 2) {
    // Never split a surrogate pair: the half character would tokenize as U+FFFD.
    const end = (text.charCodeAt(chars - 1) & 0xfc00) === 0xd800 ? chars - 1 : chars;
    const ids = tokenizer.encode(head + text.slice(0, end));
    if (ids.length >= want) return ids;
  }
  return tokenizer.encode(head + text + suffix);
}

export function encodeRows(tokenizer: TokenSource, texts: readonly string[], options: EncodeOptions): EncodedRows {
  const profile = tokenizer.resolveProfile(options.profile);
  const addEos = options.addEos ?? profile.appendEos;
  const specials = (profile.bosId === undefined ? 0 : 1) + (addEos ? 1 : 0);
  const { maxLength } = options;
  if (!Number.isSafeInteger(maxLength) || maxLength <= specials) {
    throw new RangeError(`encode: maxLength must be an integer above ${specials} (the special tokens), got ${maxLength}`);
  }
  const budget = maxLength - specials;
  const prefix = profile.template?.prefix ?? "";
  const suffix = profile.template?.suffix ?? "";
  const separator = profile.instructionSeparator ?? " ";

  let truncated = 0;
  const rows = texts.map((text, row): EncodedRow => {
    if (typeof text !== "string") throw new TypeError(`encode: text ${row} is ${text === null ? "null" : typeof text}, not a string`);
    if (text.length === 0) throw new RangeError(`encode: text ${row} is empty; an empty text has nothing to embed`);
    const instruction = instructionFor(options.instruction, row, texts.length).trim();
    const head = instruction === "" ? prefix : prefix + instruction + separator;
    const headIds = tokenizer.encodePrefix(head);
    let ids = encodeBounded(tokenizer, head, text, suffix, budget);
    const textStart = commonPrefixLength(headIds, ids);
    if (textStart >= ids.length) throw new RangeError(`encode: text ${row} produced no tokens of its own`);
    // llm2vec truncates the joined sequence from the right: the instruction stays, the text's tail goes.
    const cut = ids.length > budget;
    if (cut) {
      if (textStart >= budget) {
        throw new RangeError(
          `encode: text ${row}: the instruction side takes ${textStart} tokens and leaves no room for the text within maxLength ${maxLength}`,
        );
      }
      ids = ids.slice(0, budget);
      truncated++;
    }
    // EOS is added after truncation, so last-token pooling always finds it.
    const full = [...(profile.bosId === undefined ? [] : [profile.bosId]), ...ids, ...(addEos ? [profile.eosId] : [])];
    return { ids: full, textStart: textStart + (profile.bosId === undefined ? 0 : 1), truncated: cut };
  });
  return { rows, profile, truncated };
}

/** Pads rows to the longest one on the profile's side. */
export function padBatch(
  rows: readonly EncodedRow[],
  profile: Pick<ResolvedProfile, "padId" | "paddingSide">,
): EncodedBatch {
  if (rows.length === 0) throw new RangeError("padBatch: no rows to pad (empty input)");
  const batch = rows.length;
  let seq = 0;
  for (const row of rows) seq = Math.max(seq, row.ids.length);
  const inputIds = new BigInt64Array(batch * seq).fill(BigInt(profile.padId));
  const attentionMask = new BigInt64Array(batch * seq);
  const embedMask = new Uint8Array(batch * seq);
  const lengths = new Int32Array(batch);
  const truncatedRows: number[] = [];
  rows.forEach((row, b) => {
    const n = row.ids.length;
    const start = b * seq + (profile.paddingSide === "left" ? seq - n : 0);
    for (let i = 0; i < n; i++) {
      inputIds[start + i] = BigInt(row.ids[i]!);
      attentionMask[start + i] = 1n;
      if (i >= row.textStart) embedMask[start + i] = 1;
    }
    lengths[b] = n;
    if (row.truncated) truncatedRows.push(b);
  });
  return { dims: [batch, seq], inputIds, attentionMask, embedMask, lengths, truncated: truncatedRows.length, truncatedRows };
}
