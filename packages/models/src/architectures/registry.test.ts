import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../config.js";
import { llamaInvFreq } from "./llama.js";
import { architectures, describeModel } from "./registry.js";

const QWEN25_05B = {
  model_type: "qwen2",
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  rope_scaling: null,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  hidden_act: "silu",
};

describe("architectures", () => {
  it("reads a real Qwen2.5-0.5B config: GQA, biases on q/k/v only, causal", () => {
    const spec = describeModel(QWEN25_05B, "q/config.json");
    expect(spec.config).toMatchObject({ hiddenSize: 896, numHeads: 14, numKvHeads: 2, headDim: 64, ropeTheta: 1e6 });
    expect(spec.bias).toEqual({ q: true, k: true, v: true, o: false, mlp: false });
    expect(spec.defaultAttention).toBe("causal");
    expect(spec.modules.layer(3).q).toBe("model.layers.3.self_attn.q_proj");
    expect(spec.invFreq[1]).toBeCloseTo(1 / 1e6 ** (2 / 64), 15);
  });

  it("Dream is Qwen2 with bidirectional attention by default", () => {
    const spec = describeModel({ ...QWEN25_05B, model_type: "Dream", mask_token_id: 151666 }, "d/config.json");
    expect(spec.defaultAttention).toBe("bidirectional");
    expect(spec.bias.q).toBe(true);
    expect(spec.config.raw.mask_token_id).toBe(151666);
  });

  it("Qwen3 has per-head q/k norms and an explicit head_dim", () => {
    const spec = describeModel({ ...QWEN25_05B, model_type: "qwen3", head_dim: 128 }, "c.json");
    expect(spec.config.headDim).toBe(128);
    expect(spec.modules.layer(0).qNorm).toBe("model.layers.0.self_attn.q_norm");
    expect(spec.bias.q).toBe(false);
  });

  it("Llama takes its biases from attention_bias and fills HF defaults", () => {
    const spec = describeModel({ model_type: "llama", attention_bias: true }, "l.json");
    expect(spec.bias).toEqual({ q: true, k: true, v: true, o: true, mlp: false });
    expect(spec.config).toMatchObject({ hiddenSize: 4096, numKvHeads: 32, vocabSize: 32000, ropeTheta: 10000 });
  });

  it("applies llama3 rope scaling as transformers does (values from its formula in numpy)", () => {
    const spec = describeModel(
      {
        model_type: "llama",
        hidden_size: 4096,
        num_attention_heads: 32,
        rope_theta: 500000,
        rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      },
      "l.json",
    );
    const f = llamaInvFreq(spec.config);
    expect(f[0]).toBe(1);
    expect(f[20]).toBeCloseTo(0.016560440080994446, 15); // high frequency: kept
    expect(f[30]! / 0.0013718935677611381).toBeCloseTo(1, 12); // blended band
    expect(f[34]! / 0.00017850781276799638).toBeCloseTo(1, 12);
    expect(f[63]! / 3.068925988914511e-7).toBeCloseTo(1, 12); // low frequency: divided by 8
  });

  it("names the file and the field for bad configs", () => {
    const bad = (raw: Record<string, unknown>) => () => describeModel(raw, "/m/config.json");
    expect(bad({ ...QWEN25_05B, model_type: "gpt2" })).toThrow(/\/m\/config.json: field 'model_type' is "gpt2"; supported model types: qwen2, Dream, llama, qwen3/);
    expect(bad({ ...QWEN25_05B, model_type: undefined })).toThrow(/field 'model_type' is missing/);
    expect(bad({ ...QWEN25_05B, hidden_size: -3 })).toThrow(/\/m\/config.json: field 'hidden_size'.*got -3/);
    expect(bad({ ...QWEN25_05B, num_key_value_heads: 3 })).toThrow(/num_key_value_heads.*must divide/);
    expect(bad({ ...QWEN25_05B, hidden_act: "gelu" })).toThrow(/field 'hidden_act'.*silu/);
    expect(bad({ ...QWEN25_05B, rope_scaling: { rope_type: "yarn", factor: 4 } })).toThrow(/rope_scaling.rope_type' is 'yarn'; supported here: default/);
    expect(bad({ model_type: "llama", rope_scaling: { rope_type: "llama3", factor: 8 } })).toThrow(/rope_scaling.low_freq_factor' is required/);
    expect(bad({ ...QWEN25_05B, model_type: "Dream", hidden_size: 900 })).toThrow(/hidden_size.*not a multiple of num_attention_heads/);
    expect(bad({ ...QWEN25_05B, hidden_size: 896.5 })).toThrow(ModelConfigError);
  });

  it("registers each architecture under its model_type", () => {
    expect([...architectures.keys()]).toEqual(["qwen2", "Dream", "llama", "qwen3"]);
  });
});
