/**
 * How a model family wants its text laid out. Each architecture (or model) declares one. A token is given by
 * its string form ("<|endoftext|>"), resolved against the loaded tokenizer, or by its id (e.g. config.json's
 * pad_token_id), checked to be inside the vocabulary.
 */
export type TokenRef = string | number;

export interface TokenizerProfile {
  /** Fills padded positions. The attention mask, not the id, says what is padding, so pad may equal eos. */
  readonly padToken: TokenRef;
  /** Appended when `appendEos` (or encode's `addEos`) asks for it. */
  readonly eosToken: TokenRef;
  /** Prepended to every sequence when set (Llama 3: "<|begin_of_text|>"; Qwen2 and Dream use none). */
  readonly bosToken?: TokenRef;
  /** llm2vec pads on the left; positions come from the mask, so both sides embed alike. */
  readonly paddingSide: "left" | "right";
  /** Append eosToken to every sequence: last-token / eos pooling reads the hidden state there. */
  readonly appendEos: boolean;
  /**
   * A prompt around instruction + text, as llm2vec's prepare_for_tokenization wraps it (e.g. Llama-3-Instruct:
   * prefix "<|start_header_id|>user<|end_header_id|>\n\n", suffix "<|eot_id|>"). The prefix counts as
   * instruction, the suffix as text.
   */
  readonly template?: { readonly prefix: string; readonly suffix: string };
  /** Placed between the (trimmed) instruction and the text. Default " ", as llm2vec joins them. */
  readonly instructionSeparator?: string;
}

/** A profile with its tokens resolved to ids. */
export interface ResolvedProfile extends TokenizerProfile {
  readonly padId: number;
  readonly eosId: number;
  readonly bosId?: number;
}
