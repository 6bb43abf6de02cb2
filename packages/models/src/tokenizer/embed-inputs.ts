/**
 * The one place where "instruction + text" becomes tokens and an embed mask for embedding. The Embedder and the
 * trainer's chunker both call it, so an adapter is evaluated on exactly the token layout it was trained on: the
 * same prompt template, the same EOS rule for last-token pooling, and the same choice of pooled tokens.
 */
import type { PoolingMode } from "@dembed/pooling";
import type { EncodedRows, EncodeOptions } from "./encode.js";
import type { TokenizerProfile } from "./profile.js";

export interface EmbedInputOptions {
  /** The architecture's profile (pad, eos, bos, padding side, its own template if any). */
  readonly profile: TokenizerProfile;
  /** Longest sequence, special tokens included. */
  readonly maxLength: number;
  /** last_token / eos_token append EOS after truncation. */
  readonly pooling: PoolingMode;
  /**
   * true (default): the embed mask covers the text only (llm2vec's embed mask). false: it covers every real token,
   * instruction, BOS and template included, which is what pooling without an embed mask gives (the reference trains
   * this way).
   */
  readonly skipInstruction?: boolean;
  /** Replaces the profile's template: `{input}` marks where instruction + text go. Omitted: the profile's own. */
  readonly promptTemplate?: string;
}

/** The tokenizer profile a prompt template implies: its prefix and suffix around every input. */
export function profileWithTemplate(profile: TokenizerProfile, promptTemplate: string): TokenizerProfile {
  const parts = promptTemplate.split("{input}");
  if (parts.length !== 2) throw new Error(`prompt template ${JSON.stringify(promptTemplate)} must contain {input} exactly once`);
  const [prefix, suffix] = parts as [string, string];
  const { template: _dropped, ...rest } = profile;
  return prefix === "" && suffix === "" ? rest : { ...rest, template: { prefix, suffix } };
}

/** Pooling modes that read the hidden state at an appended EOS token. */
export const appendsEos = (pooling: PoolingMode): boolean => pooling === "last_token" || pooling === "eos_token";

/** Tokenizes texts (with their instructions) for embedding; rows stay unpadded so callers can sort before padding. */
export function encodeForEmbedding(
  tokenizer: { encodeRows(texts: readonly string[], options: EncodeOptions): EncodedRows },
  texts: readonly string[],
  instruction: EncodeOptions["instruction"],
  options: EmbedInputOptions,
): EncodedRows {
  const profile = options.promptTemplate === undefined ? options.profile : profileWithTemplate(options.profile, options.promptTemplate);
  const encoded = tokenizer.encodeRows(texts, {
    profile,
    maxLength: options.maxLength,
    ...(instruction === undefined ? {} : { instruction }),
    ...(appendsEos(options.pooling) ? { addEos: true } : {}),
  });
  if (options.skipInstruction ?? true) return encoded;
  return { ...encoded, rows: encoded.rows.map((row) => ({ ...row, textStart: 0 })) };
}
