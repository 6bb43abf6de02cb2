// Qwen2 / Qwen2.5 (model_type "qwen2"): a Llama block with biases on the q/k/v projections (not on o_proj) and
// untied or tied embeddings depending on size. Pretrained causal.
import { parseDecoderConfig, type ConfigDefaults } from "../config.js";
import { defaultInvFreq } from "../rope.js";
import { llamaModules, type Architecture, type DecoderSpec } from "./types.js";
import { qwenTokenizer } from "./tokenizers.js";

// transformers' Qwen2Config defaults (the 7B shape); a real config.json normally sets every one of them.
export const qwen2Defaults: ConfigDefaults = {
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

export const qwen2: Architecture = {
  modelType: "qwen2",
  describe(raw, file): DecoderSpec {
    // Qwen2.5 configs carry rope_scaling: null; YaRN long-context variants are rejected by name.
    const config = parseDecoderConfig(raw, file, qwen2Defaults);
    return {
      modelType: "qwen2",
      config,
      modules: { embed: "model.embed_tokens", finalNorm: "model.norm", layer: llamaModules },
      // Hard-wired in HF's Qwen2Attention: bias=True for q/k/v, False for o; the MLP has none.
      bias: { q: true, k: true, v: true, o: false, mlp: false },
      invFreq: defaultInvFreq(config.ropeTheta, config.headDim),
      defaultAttention: "causal",
      tokenizer: qwenTokenizer,
    };
  },
  tinyConfig: { architectures: ["Qwen2ForCausalLM"], vocab_size: 151936, rope_theta: 1_000_000, bos_token_id: 151643, eos_token_id: 151643 },
};
