/**
 * A Hugging Face tokenizer folder loaded offline. The JSON files are read here and handed to the tokenizer class
 * of @huggingface/transformers directly (the class AutoTokenizer would pick from tokenizer_config.json), so no
 * hub lookup, cache path or global `env` setting is ever involved.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { encodeRows, padBatch, type EncodedBatch, type EncodeOptions, type EncodedRows } from "./encode.js";
import type { ResolvedProfile, TokenRef, TokenizerProfile } from "./profile.js";

export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return undefined;
    throw new Error(`${path}: cannot read tokenizer file (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** tokenizer_config.json writes special tokens either as strings or as {content: "..."} records. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

export class Tokenizer {
  /** One more than the largest id, added tokens included: the smallest embedding table that fits. */
  readonly vocabSize: number;
  private readonly instructionCache = new Map<string, number[]>();

  private constructor(
    private readonly inner: PreTrainedTokenizer,
    /** The folder the files came from. */
    readonly dir: string,
    /** tokenizer_config.json as read ({} when the folder has none). */
    readonly config: Readonly<Record<string, unknown>>,
  ) {
    let largest = -1;
    for (const id of inner.get_vocab().values()) if (id > largest) largest = id;
    this.vocabSize = largest + 1;
  }

  /** Loads tokenizer.json (required) and tokenizer_config.json (optional) from a local folder. */
  static async load(dir: string): Promise<Tokenizer> {
    const tokenizerPath = join(dir, TOKENIZER_FILE);
    const tokenizerJson = await readJson(tokenizerPath, true);
    const config = (await readJson(join(dir, TOKENIZER_CONFIG_FILE), false)) ?? {};
    // Imported lazily: the library is large, and only tokenizing needs it.
    const transformers = (await import("@huggingface/transformers")) as unknown as Record<string, unknown> & {
      PreTrainedTokenizer: new (json: object, config: object) => PreTrainedTokenizer;
    };
    const className = typeof config.tokenizer_class === "string" ? config.tokenizer_class.replace(/Fast$/, "") : "";
    const candidate = transformers[className];
    const TokenizerClass =
      typeof candidate === "function" && candidate.prototype instanceof transformers.PreTrainedTokenizer
        ? (candidate as typeof transformers.PreTrainedTokenizer)
        : transformers.PreTrainedTokenizer;
    try {
      return new Tokenizer(new TokenizerClass(tokenizerJson!, config), dir, config);
    } catch (error) {
      throw new Error(`${tokenizerPath}: cannot build a tokenizer from it (${(error as Error).message})`);
    }
  }

  /** Token ids of `text` with no special tokens added (added tokens written in the text are still recognized). */
  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false });
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.inner.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of one token, e.g. "<|endoftext|>"; throws naming the tokenizer file when it has no such token. */
  tokenId(token: string): number {
    const id = this.inner.convert_tokens_to_ids(token) as number | null | undefined;
    if (typeof id !== "number") throw new Error(`${join(this.dir, TOKENIZER_FILE)}: has no token ${JSON.stringify(token)}`);
    return id;
  }

  /**
   * The profile tokenizer_config.json implies: its pad token (else eos), eos, bos when add_bos_token is true,
   * its padding side (else "right", the Hugging Face default), no EOS appended, no template.
   */
  defaultProfile(): TokenizerProfile {
    const eosToken = tokenString(this.config.eos_token);
    if (eosToken === undefined) throw new Error(`${join(this.dir, TOKENIZER_CONFIG_FILE)}: no eos_token to build a default profile from`);
    const bosToken = this.config.add_bos_token === true ? tokenString(this.config.bos_token) : undefined;
    return {
      padToken: tokenString(this.config.pad_token) ?? eosToken,
      eosToken,
      ...(bosToken === undefined ? {} : { bosToken }),
      paddingSide: this.config.padding_side === "left" ? "left" : "right",
      appendEos: false,
    };
  }

  /** A profile token as an id: strings are looked up, ids are checked against the vocabulary. */
  resolveToken(token: TokenRef, field: string): number {
    if (typeof token === "string") return this.tokenId(token);
    if (!Number.isSafeInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`tokenizer profile: ${field} id ${token} is outside the vocabulary of ${join(this.dir, TOKENIZER_FILE)} (0..${this.vocabSize - 1})`);
    }
    return token;
  }

  resolveProfile(profile: TokenizerProfile): ResolvedProfile {
    if (profile.paddingSide !== "left" && profile.paddingSide !== "right") {
      throw new TypeError(`tokenizer profile: paddingSide must be "left" or "right", got ${JSON.stringify(profile.paddingSide)}`);
    }
    const bosId = profile.bosToken === undefined ? undefined : this.resolveToken(profile.bosToken, "bosToken");
    const padId = this.resolveToken(profile.padToken, "padToken");
    const eosId = this.resolveToken(profile.eosToken, "eosToken");
    return { ...profile, padId, eosId, ...(bosId === undefined ? {} : { bosId }) };
  }

  /** Tokens of an instruction-side prefix, cached: a benchmark reuses one instruction for thousands of rows. */
  encodePrefix(prefix: string): number[] {
    let ids = this.instructionCache.get(prefix);
    if (ids === undefined) {
      ids = this.encode(prefix);
      if (this.instructionCache.size > 1024) this.instructionCache.clear();
      this.instructionCache.set(prefix, ids);
    }
    return ids;
  }

  /** Tokenizes and truncates each text without padding (sort by length, then pad per batch with padBatch). */
  encodeRows(texts: readonly string[], options: EncodeOptions): EncodedRows {
    return encodeRows(this, texts, options);
  }

  /** encodeRows + padBatch: the model inputs, masks and truncation count for one batch. */
  encodeBatch(texts: readonly string[], options: EncodeOptions): EncodedBatch {
    const { rows, profile } = encodeRows(this, texts, options);
    return padBatch(rows, profile);
  }
}

export function loadTokenizer(dir: string): Promise<Tokenizer> {
  return Tokenizer.load(dir);
}
