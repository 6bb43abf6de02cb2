// Llama 2/3 (model_type "llama"): biases only when attention_bias / mlp_bias say so, an explicit head_dim for
// Llama 3.2, and Llama 3.1's "llama3" rope scaling, which stretches the low rotary frequencies for long context.
import { parseDecoderConfig, type ConfigDefaults, type DecoderConfig } from "../config.js";
import { defaultInvFreq } from "../rope.js";
import { llamaModules, type Architecture, type DecoderSpec } from "./types.js";
import { llama3Tokenizer } from "./tokenizers.js";

// transformers' LlamaConfig defaults (Llama 2 7B).
export const llamaDefaults: ConfigDefaults = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
};

/**
 * transformers' _compute_llama3_parameters: wavelengths longer than original_max/low_freq_factor are divided by
 * `factor`, shorter than original_max/high_freq_factor are kept, and the band between is blended linearly.
 */
export function llamaInvFreq(config: DecoderConfig): Float64Array {
  const base = defaultInvFreq(config.ropeTheta, config.headDim);
  const s = config.ropeScaling;
  if (s.type === "default") return base;
  if (s.type === "linear") return base.map((f) => f / s.factor);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

export const llama: Architecture = {
  modelType: "llama",
  describe(raw, file): DecoderSpec {
    const config = parseDecoderConfig(raw, file, llamaDefaults, { supportedRopeScaling: ["default", "linear", "llama3"] });
    const attentionBias = config.attentionBias ?? false;
    return {
      modelType: "llama",
      config,
      modules: { embed: "model.embed_tokens", finalNorm: "model.norm", layer: llamaModules },
      bias: { q: attentionBias, k: attentionBias, v: attentionBias, o: attentionBias, mlp: config.mlpBias },
      invFreq: llamaInvFreq(config),
      defaultAttention: "causal",
      tokenizer: llama3Tokenizer,
    };
  },
  tinyConfig: {
    architectures: ["LlamaForCausalLM"],
    vocab_size: 128256,
    rope_theta: 500_000,
    // Llama 3.1's scaling; with a tiny head_dim it moves some frequencies and keeps others, so both branches run.
    rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    bos_token_id: 128000,
    eos_token_id: 128001,
  },
};
