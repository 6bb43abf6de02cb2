import { loraConfig, PROJECTIONS, type LoraConfig, type Projection } from "./config.js";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

/** adapter_config.json as PEFT writes it for a LoRA adapter (fields PEFT's LoraConfig accepts). */
export function peftConfigJson(config: LoraConfig, baseModelNameOrPath: string | null): Record<string, unknown> {
  return {
    peft_type: "LORA",
    task_type: null,
    base_model_name_or_path: baseModelNameOrPath,
    revision: null,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: [...config.targetModules],
    bias: "none",
    fan_in_fan_out: false,
    init_lora_weights: config.init,
    inference_mode: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: config.useRslora,
    use_dora: false,
  };
}

export interface ParsedPeftConfig {
  readonly config: LoraConfig;
  readonly baseModelNameOrPath: string | null;
  /**
   * PEFT also allows target_modules as one regular expression over module paths. Then `config.targetModules`
   * lists all projections and the adapted set is whatever the weights file holds.
   */
  readonly targetPattern?: string;
}

const isEmpty = (v: unknown): boolean => v === undefined || v === null || (typeof v === "object" && Object.keys(v as object).length === 0);

/**
 * Reads a PEFT adapter_config.json (already JSON-parsed). Features dembed does not implement are refused by
 * name rather than silently producing different outputs than PEFT would.
 */
export function parsePeftConfig(value: unknown, source = ADAPTER_CONFIG_FILE): ParsedPeftConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${source}: expected a JSON object`);
  const c = value as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    throw new Error(`${source}: ${field} is ${JSON.stringify(c[field])}; ${expected}`);
  };
  if (c.peft_type !== "LORA") fail("peft_type", `expected "LORA"`);
  if (typeof c.r !== "number") fail("r", "expected an integer ≥ 1");
  if (typeof c.lora_alpha !== "number") fail("lora_alpha", "expected a positive number");
  if (c.lora_dropout !== undefined && typeof c.lora_dropout !== "number") fail("lora_dropout", "expected a number in [0, 1)");
  if (c.bias !== undefined && c.bias !== "none") fail("bias", `only "none" is supported`);
  if (c.fan_in_fan_out === true) fail("fan_in_fan_out", "only false is supported (HF Linear layout)");
  if (c.use_dora === true) fail("use_dora", "DoRA adapters are not supported");
  if (!isEmpty(c.rank_pattern)) fail("rank_pattern", "per-module ranks are not supported");
  if (!isEmpty(c.alpha_pattern)) fail("alpha_pattern", "per-module alphas are not supported");
  if (!isEmpty(c.layers_to_transform)) fail("layers_to_transform", "adapting a subset of layers is not supported");
  if (!isEmpty(c.modules_to_save)) fail("modules_to_save", "fully trained extra modules are not supported");
  if (c.base_model_name_or_path !== undefined && c.base_model_name_or_path !== null && typeof c.base_model_name_or_path !== "string") {
    fail("base_model_name_or_path", "expected a string or null");
  }
  let targetModules: readonly string[];
  let targetPattern: string | undefined;
  if (typeof c.target_modules === "string") {
    targetPattern = c.target_modules;
    targetModules = PROJECTIONS;
  } else if (Array.isArray(c.target_modules) && c.target_modules.every((t) => typeof t === "string")) {
    targetModules = c.target_modules as string[];
    const unknown = targetModules.filter((t) => !(PROJECTIONS as readonly string[]).includes(t));
    if (unknown.length > 0) fail("target_modules", `only the projections ${PROJECTIONS.join(", ")} can be adapted, not ${unknown.join(", ")}`);
  } else {
    fail("target_modules", "expected a list of module names or a regular expression");
    throw new Error("unreachable");
  }
  const init = c.init_lora_weights === "gaussian" ? "gaussian" : true;
  let config: LoraConfig;
  try {
    config = loraConfig({
      r: c.r as number,
      alpha: c.lora_alpha as number,
      dropout: (c.lora_dropout as number | undefined) ?? 0,
      targetModules: targetModules as Projection[],
      init,
      useRslora: c.use_rslora === true,
    });
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
  return {
    config,
    baseModelNameOrPath: (c.base_model_name_or_path as string | null | undefined) ?? null,
    ...(targetPattern === undefined ? {} : { targetPattern }),
  };
}
