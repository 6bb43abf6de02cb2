// Qwen3 (model_type "qwen3"): the Llama block without q/k/v biases, plus an RMSNorm over each head's dim on queries
// and keys (q_norm, k_norm) applied before RoPE. head_dim is explicit (128) and need not equal hidden/heads.
// Added as the fourth architecture to show that one file + one registry line is enough.
import { parseDecoderConfig, type ConfigDefaults } from "../config.js";
import { defaultInvFreq } from "../rope.js";
import { llamaModules, type Architecture, type DecoderSpec } from "./types.js";
import { qwenTokenizer } from "./tokenizers.js";
import { qwen2Defaults } from "./qwen2.js";

// transformers' Qwen3Config defaults are Qwen2Config's.
const qwen3Defaults: ConfigDefaults = qwen2Defaults;

export const qwen3: Architecture = {
  modelType: "qwen3",
  describe(raw, file): DecoderSpec {
    const config = parseDecoderConfig(raw, file, qwen3Defaults);
    const bias = config.attentionBias ?? false;
    return {
      modelType: "qwen3",
      config,
      modules: {
        embed: "model.embed_tokens",
        finalNorm: "model.norm",
        layer: (i) => ({ ...llamaModules(i), qNorm: `model.layers.${i}.self_attn.q_norm`, kNorm: `model.layers.${i}.self_attn.k_norm` }),
      },
      bias: { q: bias, k: bias, v: bias, o: bias, mlp: false },
      invFreq: defaultInvFreq(config.ropeTheta, config.headDim),
      defaultAttention: "causal",
      tokenizer: qwenTokenizer,
    };
  },
  // head_dim 32 ≠ hidden/heads (16 in the tiny shape) on purpose: Qwen3 decouples them.
  tinyConfig: { architectures: ["Qwen3ForCausalLM"], vocab_size: 151936, head_dim: 32, rope_theta: 1_000_000, eos_token_id: 151643 },
};
