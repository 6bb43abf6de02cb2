import { describe, expect, it } from "vitest";
import { loraConfig, parsePeftConfig, parseSettings, peftConfigJson, settingsJson } from "./index.js";

/** The shape of an adapter_config.json as PEFT 0.10 writes it for an llm2vec MNTP adapter. */
const peftWritten = {
  alpha_pattern: {},
  auto_mapping: null,
  base_model_name_or_path: "meta-llama/Meta-Llama-3-8B-Instruct",
  bias: "none",
  fan_in_fan_out: false,
  inference_mode: true,
  init_lora_weights: true,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 32,
  lora_dropout: 0.05,
  megatron_config: null,
  megatron_core: "megatron.core",
  modules_to_save: null,
  peft_type: "LORA",
  r: 16,
  rank_pattern: {},
  revision: null,
  target_modules: ["v_proj", "q_proj", "up_proj", "o_proj", "k_proj", "down_proj", "gate_proj"],
  task_type: null,
  use_dora: false,
  use_rslora: false,
};

describe("adapter_config.json", () => {
  it("reads a PEFT-written config", () => {
    const parsed = parsePeftConfig(peftWritten);
    expect(parsed.baseModelNameOrPath).toBe("meta-llama/Meta-Llama-3-8B-Instruct");
    expect(parsed.config).toEqual(loraConfig({ r: 16, alpha: 32, dropout: 0.05 }));
  });

  it("writes what it reads, with alpha kept apart from r", () => {
    const config = loraConfig({ r: 8, alpha: 4, dropout: 0.1, targetModules: ["q", "v"] });
    const json = JSON.parse(JSON.stringify(peftConfigJson(config, "Qwen/Qwen2.5-7B")));
    expect(json).toMatchObject({ peft_type: "LORA", r: 8, lora_alpha: 4, lora_dropout: 0.1, target_modules: ["q_proj", "v_proj"], base_model_name_or_path: "Qwen/Qwen2.5-7B" });
    expect(parsePeftConfig(json).config).toEqual(config);
  });

  it("accepts a regex target_modules and leaves the module set to the weights", () => {
    const parsed = parsePeftConfig({ ...peftWritten, target_modules: ".*\\.(q_proj|v_proj)" });
    expect(parsed.targetPattern).toBe(".*\\.(q_proj|v_proj)");
  });

  it("refuses what it cannot reproduce, naming the file and field", () => {
    expect(() => parsePeftConfig({ ...peftWritten, peft_type: "IA3" }, "a/adapter_config.json")).toThrow(/a\/adapter_config\.json: peft_type is "IA3"; expected "LORA"/);
    expect(() => parsePeftConfig({ ...peftWritten, use_dora: true })).toThrow(/use_dora .* not supported/);
    expect(() => parsePeftConfig({ ...peftWritten, rank_pattern: { q_proj: 4 } })).toThrow(/rank_pattern/);
    expect(() => parsePeftConfig({ ...peftWritten, target_modules: ["q_proj", "embed_tokens"] })).toThrow(/not embed_tokens/);
    expect(() => parsePeftConfig({ ...peftWritten, r: 0 })).toThrow(/adapter_config\.json: LoRA config: r must be an integer ≥ 1/);
    expect(() => parsePeftConfig({ ...peftWritten, modules_to_save: ["lm_head"] })).toThrow(/modules_to_save/);
  });
});

describe("dembed adapter settings", () => {
  it("round-trips and validates", () => {
    const s = { attention: "bidirectional", pooling: "mean", skipInstruction: false, promptTemplate: "<|im_start|>user\n{input}<|im_end|>", maxLength: { query: 304, document: 196 } } as const;
    expect(parseSettings(JSON.parse(JSON.stringify(settingsJson(s))))).toEqual(s);
    expect(() => parseSettings({ ...settingsJson(s), pooling: "max" }, "d.json")).toThrow(/d\.json: pooling is "max"; expected one of/);
    expect(() => parseSettings({ ...settingsJson(s), prompt_template: "none" })).toThrow(/prompt_template/);
  });
});
