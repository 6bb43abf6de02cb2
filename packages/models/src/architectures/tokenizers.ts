// Tokenizer profiles per model family: the special tokens the embedding pipeline needs and which real tokenizer
// files a generated (tiny) model of the family copies.
import type { TokenizerKind, TokenizerProfile } from "../tokenizer/index.js";

export interface FamilyTokenizer {
  readonly kind: TokenizerKind;
  readonly profile: TokenizerProfile;
}

// <|endoftext|> is Qwen's pad and the EOS of base (non-chat) Qwen2.5 and Dream checkpoints. llm2vec pads on the
// left; positions come from the mask here, so either side gives the same embeddings.
export const qwenTokenizer: FamilyTokenizer = {
  kind: "qwen",
  profile: { padToken: "<|endoftext|>", eosToken: "<|endoftext|>", paddingSide: "left", appendEos: false },
};

// Llama 3 has no pad token; its EOS doubles as pad (the attention mask, not the id, marks padding).
export const llama3Tokenizer: FamilyTokenizer = {
  kind: "llama",
  profile: {
    bosToken: "<|begin_of_text|>",
    padToken: "<|end_of_text|>",
    eosToken: "<|end_of_text|>",
    paddingSide: "left",
    appendEos: false,
  },
};
