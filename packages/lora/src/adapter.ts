import { loraScaling, type LoraConfig } from "./config.js";
import { initLoraWeights, type LoraPair } from "./init.js";
import { mergeLoraWeight } from "./merge.js";
import { loraKey, loraModules, parseLoraKey, type DecoderShape, type LoraModule } from "./modules.js";
import type { AdapterSettings } from "./settings.js";

/** A LoRA adapter in memory: its config, the adapted modules and their A/B matrices (by module path). */
export interface LoraAdapter {
  readonly config: LoraConfig;
  readonly baseModelNameOrPath: string | null;
  readonly modules: readonly LoraModule[];
  readonly weights: ReadonlyMap<string, LoraPair>;
  readonly settings?: AdapterSettings;
}

/** A 2-D float32 tensor as stored in adapter_model.safetensors. */
export interface AdapterTensor {
  readonly shape: readonly [number, number];
  readonly data: Float32Array;
}

/** A fresh adapter with PEFT's initialization (B = 0: the model is unchanged until trained). */
export function createAdapter(
  shape: DecoderShape,
  config: LoraConfig,
  uniform: () => number,
  options: { readonly baseModelNameOrPath?: string | null; readonly settings?: AdapterSettings } = {},
): LoraAdapter {
  const modules = loraModules(shape, config);
  return {
    config,
    baseModelNameOrPath: options.baseModelNameOrPath ?? null,
    modules,
    weights: initLoraWeights(modules, config, uniform),
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  };
}

/**
 * The adapter's tensors under PEFT key names. The data arrays are the adapter's own (not copies), so an
 * optimizer updating them trains the adapter.
 */
export function adapterTensors(adapter: LoraAdapter): Record<string, AdapterTensor> {
  const out: Record<string, AdapterTensor> = {};
  const r = adapter.config.r;
  for (const m of adapter.modules) {
    const pair = adapter.weights.get(m.path);
    if (pair === undefined) throw new Error(`LoRA adapter: no weights for module ${m.path}`);
    out[loraKey(m.path, "A")] = { shape: [r, m.inFeatures], data: pair.a };
    out[loraKey(m.path, "B")] = { shape: [m.outFeatures, r], data: pair.b };
  }
  return out;
}

const LAYER_PATH = /^model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$/;

/**
 * Rebuilds an adapter from PEFT-named tensors (e.g. read from adapter_model.safetensors), checking that every
 * module has both matrices with shapes [r, in] and [out, r] and that it is a module the config targets.
 * `source` names the file in errors.
 */
export function adapterFromTensors(
  config: LoraConfig,
  tensors: Readonly<Record<string, AdapterTensor>>,
  options: { readonly source?: string; readonly baseModelNameOrPath?: string | null; readonly settings?: AdapterSettings; readonly targetPattern?: string } = {},
): LoraAdapter {
  const source = options.source ?? "adapter";
  const r = config.r;
  const pairs = new Map<string, { a?: AdapterTensor; b?: AdapterTensor }>();
  for (const [key, tensor] of Object.entries(tensors)) {
    const parsed = parseLoraKey(key);
    if (parsed === undefined) throw new Error(`${source}: tensor "${key}" is not a LoRA weight (base_model.model.<module>.lora_A/B.weight)`);
    if (tensor.shape.length !== 2 || tensor.data.length !== tensor.shape[0] * tensor.shape[1]) {
      throw new Error(`${source}: tensor "${key}" has shape [${tensor.shape.join(", ")}] and ${tensor.data.length} values`);
    }
    const entry = pairs.get(parsed.modulePath) ?? {};
    entry[parsed.which === "A" ? "a" : "b"] = tensor;
    pairs.set(parsed.modulePath, entry);
  }
  const modules: LoraModule[] = [];
  const weights = new Map<string, LoraPair>();
  for (const [path, { a, b }] of pairs) {
    const match = LAYER_PATH.exec(path);
    if (match === null) throw new Error(`${source}: module "${path}" is not a projection of a decoder layer`);
    const projection = match[3] as LoraModule["projection"];
    if (options.targetPattern === undefined && !config.targetModules.includes(projection)) {
      throw new Error(`${source}: module "${path}" is not among target_modules (${config.targetModules.join(", ")})`);
    }
    if (a === undefined || b === undefined) throw new Error(`${source}: module "${path}" has lora_${a === undefined ? "A" : "B"} missing`);
    if (a.shape[0] !== r) throw new Error(`${source}: ${loraKey(path, "A")} has shape [${a.shape.join(", ")}], expected [${r}, in] for r = ${r}`);
    if (b.shape[1] !== r) throw new Error(`${source}: ${loraKey(path, "B")} has shape [${b.shape.join(", ")}], expected [out, ${r}] for r = ${r}`);
    modules.push({ path, projection, layer: Number(match[1]), inFeatures: a.shape[1], outFeatures: b.shape[0] });
    weights.set(path, { a: a.data, b: b.data });
  }
  if (modules.length === 0) throw new Error(`${source}: no LoRA weights`);
  const order = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
  modules.sort((x, y) => x.layer - y.layer || order.indexOf(x.projection) - order.indexOf(y.projection));
  return {
    config,
    baseModelNameOrPath: options.baseModelNameOrPath ?? null,
    modules,
    weights,
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  };
}

/**
 * Merged weights W + (alpha/r)·B·A for every adapted module, keyed by the HF weight name
 * (`model.layers.0.self_attn.q_proj.weight`). `baseWeight` supplies each original float32 [out, in] weight.
 */
export function mergeAdapter(adapter: LoraAdapter, baseWeight: (name: string) => Float32Array): Map<string, Float32Array> {
  const scaling = loraScaling(adapter.config);
  const out = new Map<string, Float32Array>();
  for (const m of adapter.modules) {
    const name = `${m.path}.weight`;
    const pair = adapter.weights.get(m.path) as LoraPair;
    out.set(name, mergeLoraWeight(baseWeight(name), pair, { outFeatures: m.outFeatures, inFeatures: m.inFeatures, r: adapter.config.r }, scaling, name));
  }
  return out;
}
