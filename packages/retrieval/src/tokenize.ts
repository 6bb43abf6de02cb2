import { porterStem } from "./porter.js";

/**
 * Lucene's English stop words (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), the list Pyserini's default analyzer, and so
 * BRIGHT's BM25 baseline, removes.
 */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set([
  "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
  "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
]);

export interface TokenizerOptions {
  /** Drop stop words: true (default) for {@link ENGLISH_STOPWORDS}, false for none, or a set of your own. */
  stopwords?: boolean | ReadonlySet<string>;
  /** Porter-stem every token (default true). */
  stem?: boolean;
}

// Possessive 's is dropped before splitting, as Lucene's EnglishPossessiveFilter does ("Holmes's" → "holmes").
const POSSESSIVE = /['\u2019\uFF07]s\b/gu;
const SEPARATORS = /[^\p{L}\p{N}]+/u;

/**
 * The BM25 tokenizer: lowercase, drop possessive 's, split on anything that is not a letter or digit (Unicode-aware),
 * drop stop words, Porter-stem. This approximates Pyserini's default English analyzer; unlike Lucene's
 * StandardTokenizer it also splits "3.5", "e-mail" and "don't" at the punctuation.
 */
export function tokenize(text: string, options: TokenizerOptions = {}): string[] {
  const stop = options.stopwords === false ? undefined : options.stopwords === true || options.stopwords === undefined ? ENGLISH_STOPWORDS : options.stopwords;
  const stem = options.stem ?? true;
  const out: string[] = [];
  for (const raw of text.toLowerCase().replace(POSSESSIVE, "").split(SEPARATORS)) {
    if (raw.length === 0 || stop?.has(raw)) continue;
    out.push(stem ? porterStem(raw) : raw);
  }
  return out;
}
