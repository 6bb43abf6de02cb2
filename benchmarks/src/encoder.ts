import { tokenize } from "@dembed/retrieval";

export type Role = "query" | "document";

export interface EncodeOptions {
  role: Role;
  /** The retrieval instruction for this batch (queries only, in the recipes here). */
  instruction?: string;
  /** Called with the number of texts of this call done so far. */
  onProgress?: (done: number) => void;
}

export interface EncodeResult {
  embeddings: Float32Array[];
  /** How many of the texts were cut at the encoder's max length. */
  truncated: number;
  /** Per text, whether it was cut; lets the embedding cache remember truncation. Optional. */
  truncatedFlags?: readonly boolean[];
  /** Tokens the model ran, when the encoder counts them (throughput figures). */
  tokens?: number;
  /** Seconds spent tokenizing, in the model and pooling, when the encoder can tell (the stage times show them). */
  seconds?: EncodeSeconds;
}

export interface EncodeSeconds {
  tokenize: number;
  model: number;
  pooling: number;
  /** Tokenizing the next call's texts while the model ran this call's: overlapped, so not part of the call's wall time. */
  tokenizeAhead?: number;
}

/**
 * What the benchmarks need from a model: texts in, one vector per text out. Implemented by an adapter around
 * @dembed/models' Embedder (see the CLI's makeEncoder), and here by {@link HashingEncoder} for tests.
 */
export interface TextEncoder {
  /**
   * Everything that changes the vectors: model, adapter, pooling, attention, max length, dtype, … The embedding cache
   * is keyed by this, plus role, instruction and text hash, so two encoders with equal keys must give equal vectors.
   */
  readonly cacheKey: Record<string, string | number>;
  encode(texts: string[], options: EncodeOptions): Promise<EncodeResult>;
  /**
   * Optional hint: these texts are about to be encoded, in this order, under these options (texts found in the
   * embedding cache are skipped, so only some may come). An encoder may prepare the next ones while it runs the
   * current call; a wrong hint may cost time, never change a vector.
   */
  plan?(texts: readonly string[], options: Omit<EncodeOptions, "onProgress">): void;
  /** Settings for the reproducibility record and report: model, adapter, attention, pooling, maxLength, dtype, device, ortVersion, … */
  describe(): Record<string, unknown>;
  /** Releases sessions and worker threads, if the encoder holds any. */
  dispose?(): Promise<void>;
}

export interface HashingEncoderOptions {
  /** Vector size (default 256). */
  dim?: number;
  /** Tokens kept per text; longer texts are cut and counted as truncated (default: no limit). */
  maxLength?: number;
}

/** FNV-1a, 32-bit. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A deterministic hashed bag-of-words "encoder" (the feature-hashing trick over the BM25 tokenizer's stems): not a
 * language model, but real enough to exercise every path the benchmarks take, and it ranks lexically similar texts
 * together. Instructions are ignored, as an embedder that pools only the text's tokens would largely do.
 */
export class HashingEncoder implements TextEncoder {
  readonly cacheKey: Record<string, string | number>;
  readonly dim: number;
  readonly maxLength: number | undefined;
  /** Calls made, for tests that check what the cache spared. */
  calls = 0;
  textsEncoded = 0;

  constructor(options: HashingEncoderOptions = {}) {
    this.dim = options.dim ?? 256;
    this.maxLength = options.maxLength;
    this.cacheKey = { model: "hashing-bow", dim: this.dim, maxLength: this.maxLength ?? "none" };
  }

  async encode(texts: string[], options: EncodeOptions): Promise<EncodeResult> {
    this.calls++;
    this.textsEncoded += texts.length;
    const flags: boolean[] = [];
    const seconds: EncodeSeconds = { tokenize: 0, model: 0, pooling: 0 };
    const embeddings = texts.map((text, i) => {
      const started = performance.now();
      let tokens = tokenize(text);
      const tokenized = performance.now();
      seconds.tokenize += (tokenized - started) / 1000;
      const cut = this.maxLength !== undefined && tokens.length > this.maxLength;
      if (cut) tokens = tokens.slice(0, this.maxLength);
      flags.push(cut);
      const v = new Float32Array(this.dim);
      for (const t of tokens) v[hash(t, 0) % this.dim]! += hash(t, 1) & 1 ? 1 : -1;
      seconds.model += (performance.now() - tokenized) / 1000;
      options.onProgress?.(i + 1);
      return v;
    });
    return { embeddings, truncated: flags.filter(Boolean).length, truncatedFlags: flags, seconds };
  }

  describe(): Record<string, unknown> {
    return { model: "hashing-bow (hashed bag of words; not a language model)", dim: this.dim, maxLength: this.maxLength ?? null, device: "cpu", dtype: "fp32" };
  }
}
