// Dream (model_type "Dream"): a masked diffusion LM initialised from Qwen2.5. Same weights, names and biases as
// Qwen2; it was trained with full bidirectional attention, so that is its default mode. mask_token_id (151666) is
// only used for generation and plays no part in embeddings.
import { parseDecoderConfig, type ConfigDefaults } from "../config.js";
import { defaultInvFreq } from "../rope.js";
import { llamaModules, type Architecture, type DecoderSpec } from "./types.js";
import { qwenTokenizer } from "./tokenizers.js";

// DreamConfig defaults from Dream-org/Dream-v0-Base-7B's configuration_dream.py.
export const dreamDefaults: ConfigDefaults = {
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 32768,
  tie_word_embeddings: false,
};

export const dream: Architecture = {
  modelType: "Dream",
  describe(raw, file): DecoderSpec {
    const config = parseDecoderConfig(raw, file, dreamDefaults);
    return {
      modelType: "Dream",
      config,
      modules: { embed: "model.embed_tokens", finalNorm: "model.norm", layer: llamaModules },
      bias: { q: true, k: true, v: true, o: false, mlp: false },
      invFreq: defaultInvFreq(config.ropeTheta, config.headDim),
      defaultAttention: "bidirectional",
      // Dream's pad (151643, <|endoftext|>) is also Qwen's; the profile carries it.
      tokenizer: qwenTokenizer,
    };
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
