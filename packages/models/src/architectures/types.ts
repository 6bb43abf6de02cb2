// What an architecture file produces: one `DecoderSpec` that fully describes a Llama-family decoder, so the graph
// builder, the float64 reference and the tiny-model writer never look at model_type.
import type { AttentionMode, DecoderConfig } from "../config.js";
import type { FamilyTokenizer } from "./tokenizers.js";

/** Module paths (HF names with the "model." prefix, as PEFT keys them); parameter = path + ".weight" / ".bias". */
export interface LayerModules {
  readonly inputNorm: string;
  readonly postAttentionNorm: string;
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly o: string;
  readonly gate: string;
  readonly up: string;
  readonly down: string;
  /** Per-head RMSNorm on queries and keys before RoPE (Qwen3); absent elsewhere. */
  readonly qNorm?: string;
  readonly kNorm?: string;
}

export interface DecoderSpec {
  /** config.json model_type, e.g. "qwen2", "Dream". */
  readonly modelType: string;
  readonly config: DecoderConfig;
  readonly modules: {
    readonly embed: string;
    readonly finalNorm: string;
    readonly layer: (index: number) => LayerModules;
  };
  readonly bias: { readonly q: boolean; readonly k: boolean; readonly v: boolean; readonly o: boolean; readonly mlp: boolean };
  /** [headDim / 2] rotary inverse frequencies, with the architecture's rope scaling applied. */
  readonly invFreq: Float64Array;
  readonly defaultAttention: AttentionMode;
  readonly tokenizer: FamilyTokenizer;
}

export interface Architecture {
  /** The model_type value in config.json. */
  readonly modelType: string;
  /** Parsed config.json (any JSON value) → the decoder it describes; errors name `file` and the field. */
  readonly describe: (raw: unknown, file: string) => DecoderSpec;
  /**
   * config.json fields of a generated test model besides its small shape: the real vocab size (so the real
   * tokenizer's ids fit), special token ids and RoPE settings that exercise this architecture's quirks.
   */
  readonly tinyConfig: Readonly<Record<string, unknown>>;
}

/** HF LlamaModel naming, which Qwen2, Dream and Qwen3 reuse unchanged. */
export function llamaModules(index: number): LayerModules {
  const p = `model.layers.${index}`;
  return {
    inputNorm: `${p}.input_layernorm`,
    postAttentionNorm: `${p}.post_attention_layernorm`,
    q: `${p}.self_attn.q_proj`,
    k: `${p}.self_attn.k_proj`,
    v: `${p}.self_attn.v_proj`,
    o: `${p}.self_attn.o_proj`,
    gate: `${p}.mlp.gate_proj`,
    up: `${p}.mlp.up_proj`,
    down: `${p}.mlp.down_proj`,
  };
}
