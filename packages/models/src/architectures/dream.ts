// Dream (model_type "Dream"): a masked diffusion LM initialised from Qwen2.5. Same config fields, weights, names and
// biases as Qwen2 (DreamConfig copies Qwen2Config's defaults); it was trained with full bidirectional attention, so
// that is its default mode. mask_token_id (151666) is only used for generation and plays no part in embeddings.
import type { Architecture, DecoderSpec } from "./types.js";
import { qwen2 } from "./qwen2.js";

export const dream: Architecture = {
  modelType: "Dream",
  describe(raw, file): DecoderSpec {
    // Dream's pad (151643, <|endoftext|>) is also Qwen's, so the Qwen tokenizer profile carries over.
    return { ...qwen2.describe(raw, file), modelType: "Dream", defaultAttention: "bidirectional" };
  },
  tinyConfig: {
    architectures: ["DreamModel"],
    vocab_size: 152064,
    rope_theta: 1_000_000,
    mask_token_id: 151666,
    pad_token_id: 151643,
    bos_token_id: 151643,
    eos_token_id: 151643,
  },
};
