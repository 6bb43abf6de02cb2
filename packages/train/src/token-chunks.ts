// Texts of one role → a padded, tokenized chunk, laid out exactly as the Embedder lays out its inputs (the same
// tokenizer profile, prompt template and embed mask), so an adapter is evaluated on what it was trained on.
import { padBatch, type Tokenizer, type TokenizerProfile } from "@dembed/models";
import type { PoolingMode } from "@dembed/pooling";
import type { TextRole } from "./batch-layout.js";
import type { TrainText } from "./data-sampler.js";
import type { TokenChunk } from "./lora-encoder.js";

export interface ChunkerOptions {
  /** The architecture's profile (pad, eos, padding side …). */
  readonly profile: TokenizerProfile;
  /** `{input}` marks where instruction + text go; what comes before counts as instruction, after as text. */
  readonly promptTemplate: string;
  readonly pooling: PoolingMode;
  readonly maxLength: { readonly query: number; readonly document: number };
}

/** The tokenizer profile a prompt template implies: its prefix and suffix around every input. */
export function profileWithTemplate(profile: TokenizerProfile, promptTemplate: string): TokenizerProfile {
  const parts = promptTemplate.split("{input}");
  if (parts.length !== 2) throw new Error(`prompt template ${JSON.stringify(promptTemplate)} must contain {input} exactly once`);
  const [prefix, suffix] = parts as [string, string];
  const { template: _dropped, ...rest } = profile;
  return prefix === "" && suffix === "" ? rest : { ...rest, template: { prefix, suffix } };
}

/** Builds the trainer's makeChunk: tokenizes with the role's max length, appends EOS for last-token pooling. */
export function tokenChunker(tokenizer: Tokenizer, options: ChunkerOptions) {
  const profile = profileWithTemplate(options.profile, options.promptTemplate);
  const addEos = options.pooling === "last_token" || options.pooling === "eos_token";
  return (texts: readonly { readonly text: TrainText; readonly role: TextRole }[]): TokenChunk => {
    if (texts.length === 0) throw new Error("tokenChunker: empty chunk");
    const role = texts[0]!.role;
    const encoded = tokenizer.encodeRows(
      texts.map((t) => t.text.text),
      {
        profile,
        maxLength: role === "query" ? options.maxLength.query : options.maxLength.document,
        instruction: texts.map((t) => t.text.instruction),
        ...(addEos ? { addEos: true } : {}),
      },
    );
    const batch = padBatch(encoded.rows, encoded.profile);
    let tokens = 0;
    for (const n of batch.lengths) tokens += n;
    return { batch, tokens };
  };
}
