// Texts of one role → a padded, tokenized chunk. Tokenizing goes through @dembed/models' encodeForEmbedding, the
// very function the Embedder calls (same profile, prompt template, EOS rule and embed mask), so an adapter is
// evaluated on what it was trained on.
import { encodeForEmbedding, padBatch, type Tokenizer, type TokenizerProfile } from "@dembed/models";
import type { PoolingMode } from "@dembed/pooling";
import type { TextRole } from "./batch-layout.js";
import type { TrainText } from "./data-sampler.js";
import type { TokenChunk } from "./lora-encoder.js";

export { profileWithTemplate } from "@dembed/models";

export interface ChunkerOptions {
  /** The architecture's profile (pad, eos, padding side …). */
  readonly profile: TokenizerProfile;
  /** `{input}` marks where instruction + text go; what comes before counts as instruction, after as text. */
  readonly promptTemplate: string;
  readonly pooling: PoolingMode;
  readonly maxLength: { readonly query: number; readonly document: number };
  /** false: the embed mask covers the instruction too (every real token). Default true. */
  readonly skipInstruction?: boolean;
}

/** Builds the trainer's makeChunk: tokenizes with the role's max length, appends EOS for last-token pooling. */
export function tokenChunker(tokenizer: Tokenizer, options: ChunkerOptions) {
  return (texts: readonly { readonly text: TrainText; readonly role: TextRole }[]): TokenChunk => {
    if (texts.length === 0) throw new Error("tokenChunker: empty chunk");
    const role = texts[0]!.role;
    const encoded = encodeForEmbedding(
      tokenizer,
      texts.map((t) => t.text.text),
      texts.map((t) => t.text.instruction),
      {
        profile: options.profile,
        promptTemplate: options.promptTemplate,
        pooling: options.pooling,
        maxLength: role === "query" ? options.maxLength.query : options.maxLength.document,
        ...(options.skipInstruction === undefined ? {} : { skipInstruction: options.skipInstruction }),
      },
    );
    const batch = padBatch(encoded.rows, encoded.profile);
    let tokens = 0;
    for (const n of batch.lengths) tokens += n;
    return { batch, tokens };
  };
}
