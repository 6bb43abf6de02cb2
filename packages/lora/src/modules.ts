import type { LoraConfig, Projection } from "./config.js";

/** The decoder shape LoRA needs: which linear layers exist and their in/out features. */
export interface DecoderShape {
  readonly numHiddenLayers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  /** Defaults to hiddenSize / numAttentionHeads (Llama 3 configs may set it). */
  readonly headDim?: number;
}

/** One adapted linear layer: `model.layers.3.self_attn.q_proj`, with HF's [out, in] weight layout. */
export interface LoraModule {
  readonly path: string;
  readonly projection: Projection;
  readonly layer: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Every adapted module of a decoder, in layer order and then projection order. */
export function loraModules(shape: DecoderShape, config: Pick<LoraConfig, "targetModules">): LoraModule[] {
  const headDim = shape.headDim ?? shape.hiddenSize / shape.numAttentionHeads;
  if (!Number.isInteger(headDim)) throw new Error(`LoRA: head dim ${headDim} is not an integer (hidden ${shape.hiddenSize} / heads ${shape.numAttentionHeads})`);
  const q = shape.numAttentionHeads * headDim;
  const kv = shape.numKeyValueHeads * headDim;
  const h = shape.hiddenSize;
  const m = shape.intermediateSize;
  const dims: Record<Projection, [string, number, number]> = {
    q_proj: ["self_attn", h, q],
    k_proj: ["self_attn", h, kv],
    v_proj: ["self_attn", h, kv],
    o_proj: ["self_attn", q, h],
    gate_proj: ["mlp", h, m],
    up_proj: ["mlp", h, m],
    down_proj: ["mlp", m, h],
  };
  const out: LoraModule[] = [];
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    for (const projection of config.targetModules) {
      const [block, inFeatures, outFeatures] = dims[projection];
      out.push({ path: `model.layers.${layer}.${block}.${projection}`, projection, layer, inFeatures, outFeatures });
    }
  }
  return out;
}

/** PEFT's saved key for a module's A or B matrix. */
export function loraKey(modulePath: string, which: "A" | "B"): string {
  return `base_model.model.${modulePath}.lora_${which}.weight`;
}

/**
 * Reads a PEFT key back: `base_model.model.<path>.lora_A.weight`, also with an adapter name
 * (`lora_A.default.weight`, as in-memory PEFT state dicts have). Bare-model adapters (llm2vec saves its
 * LlamaModel/Qwen2Model without the `model.` level) get `model.` added, so every path reads
 * `model.layers.N.…`. Returns undefined for keys that are not LoRA A/B weights.
 */
export function parseLoraKey(key: string): { modulePath: string; which: "A" | "B" } | undefined {
  const match = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(key);
  if (match === null) return undefined;
  const path = match[1] as string;
  return { modulePath: path.startsWith("layers.") ? `model.${path}` : path, which: match[2] as "A" | "B" };
}
