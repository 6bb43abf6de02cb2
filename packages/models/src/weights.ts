// Binds a DecoderSpec to a checkpoint: every parameter the spec needs is found (with or without the "model." prefix
// of a bare checkpoint), its shape is checked against config.json and its dtype against what the graph can cast.
import type { DecoderSpec } from "./architectures/types.js";
import type { Checkpoint, TensorEntry } from "./safetensors/index.js";
import { bf16ToFloat32, f16ToFloat32 } from "./safetensors/index.js";

export class WeightError extends Error {
  override name = "WeightError";
}

/** Float dtypes a checkpoint may store; F16/BF16 are cast to the compute dtype inside the graph. */
export const WEIGHT_DTYPES = ["F32", "F16", "BF16"] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

export interface BoundWeights {
  readonly spec: DecoderSpec;
  readonly checkpoint: Checkpoint;
  /** Canonical parameter name ("model.layers.0.self_attn.q_proj.weight") → the stored tensor. */
  readonly tensors: ReadonlyMap<string, TensorEntry & { readonly dtype: WeightDtype }>;
  /** True when the checkpoint stores names without the "model." prefix (a bare LlamaModel / Qwen2Model save). */
  readonly bare: boolean;
}

/** Every parameter the decoder reads, with the shape config.json implies (biases only where the spec has them). */
export function expectedParameters(spec: DecoderSpec): Map<string, readonly number[]> {
  const c = spec.config;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const shapes = new Map<string, readonly number[]>();
  const linear = (module: string, outDim: number, inDim: number, bias: boolean) => {
    shapes.set(`${module}.weight`, [outDim, inDim]);
    if (bias) shapes.set(`${module}.bias`, [outDim]);
  };
  shapes.set(`${spec.modules.embed}.weight`, [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    const m = spec.modules.layer(i);
    shapes.set(`${m.inputNorm}.weight`, [c.hiddenSize]);
    shapes.set(`${m.postAttentionNorm}.weight`, [c.hiddenSize]);
    linear(m.q, qDim, c.hiddenSize, spec.bias.q);
    linear(m.k, kvDim, c.hiddenSize, spec.bias.k);
    linear(m.v, kvDim, c.hiddenSize, spec.bias.v);
    linear(m.o, c.hiddenSize, qDim, spec.bias.o);
    if (m.qNorm) shapes.set(`${m.qNorm}.weight`, [c.headDim]);
    if (m.kNorm) shapes.set(`${m.kNorm}.weight`, [c.headDim]);
    linear(m.gate, c.intermediateSize, c.hiddenSize, spec.bias.mlp);
    linear(m.up, c.intermediateSize, c.hiddenSize, spec.bias.mlp);
    linear(m.down, c.hiddenSize, c.intermediateSize, spec.bias.mlp);
  }
  shapes.set(`${spec.modules.finalNorm}.weight`, [c.hiddenSize]);
  return shapes;
}

/**
 * The parameter count config.json implies, against the elements the checkpoint's headers declare: a config that
 * describes a bigger model than the files hold fails here, in one line, before any per-tensor work is sized by it.
 */
function checkParameterCount(spec: DecoderSpec, checkpoint: Checkpoint, configFile: string): void {
  const c = spec.config;
  const perLayer = 2 * c.hiddenSize + (c.numHeads + 2 * c.numKvHeads) * c.headDim * c.hiddenSize + c.numHeads * c.headDim * c.hiddenSize + 3 * c.intermediateSize * c.hiddenSize;
  const implied = c.vocabSize * c.hiddenSize + c.numLayers * perLayer + c.hiddenSize;
  let stored = 0;
  for (const e of checkpoint.entries) stored += e.shape.reduce((a, b) => a * b, 1);
  if (implied > stored) {
    throw new WeightError(
      `${configFile}: describes ≈ ${implied.toExponential(2)} parameters (num_hidden_layers ${c.numLayers}, hidden_size ${c.hiddenSize}, ` +
        `intermediate_size ${c.intermediateSize}, vocab_size ${c.vocabSize}) but ${checkpoint.indexPath ?? checkpoint.location} holds ` +
        `${stored.toExponential(2)}; one of those fields is wrong`,
    );
  }
}

export function bindWeights(spec: DecoderSpec, checkpoint: Checkpoint, configFile = "config.json"): BoundWeights {
  const embedName = `${spec.modules.embed}.weight`;
  const bare = !checkpoint.has(embedName) && checkpoint.has(embedName.replace(/^model\./, ""));
  const stored = (name: string) => (bare ? name.replace(/^model\./, "") : name);
  const tensors = new Map<string, TensorEntry & { dtype: WeightDtype }>();
  const missing: string[] = [];
  checkParameterCount(spec, checkpoint, configFile);
  for (const [name, shape] of expectedParameters(spec)) {
    if (!checkpoint.has(stored(name))) {
      missing.push(stored(name));
      continue;
    }
    const entry = checkpoint.entry(stored(name));
    if (!(WEIGHT_DTYPES as readonly string[]).includes(entry.dtype)) {
      throw new WeightError(`${entry.path}: tensor '${entry.name}' has dtype ${entry.dtype}; weights must be one of ${WEIGHT_DTYPES.join(", ")}`);
    }
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new WeightError(
        `${entry.path}: tensor '${entry.name}' has shape [${entry.shape}] but ${configFile} ` +
          `(${spec.modelType}: hidden ${spec.config.hiddenSize}, heads ${spec.config.numHeads}/${spec.config.numKvHeads}, ` +
          `head_dim ${spec.config.headDim}, intermediate ${spec.config.intermediateSize}, vocab ${spec.config.vocabSize}) implies [${shape}]`,
      );
    }
    tensors.set(name, entry as TensorEntry & { dtype: WeightDtype });
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(", ") + (missing.length > 5 ? `, … (${missing.length} in all)` : "");
    throw new WeightError(`${checkpoint.indexPath ?? checkpoint.location}: missing tensors required by ${configFile} (${spec.modelType}): ${shown}`);
  }
  return { spec, checkpoint, tensors, bare };
}

/** The stored dtype shared by all weights, or "mixed". */
export function weightDtype(weights: BoundWeights): WeightDtype | "mixed" {
  const dtypes = new Set([...weights.tensors.values()].map((e) => e.dtype));
  return dtypes.size === 1 ? ([...dtypes][0] as WeightDtype) : "mixed";
}

/** Reads one parameter as float64 (tests and the reference only: it loads the whole tensor). */
export async function readParameter(weights: BoundWeights, name: string): Promise<Float64Array> {
  const entry = weights.tensors.get(name);
  if (!entry) throw new WeightError(`${weights.checkpoint.location}: no parameter '${name}' is bound`);
  const t = await weights.checkpoint.readTensor(entry.name);
  const f32 = t.dtype === "BF16" ? bf16ToFloat32(t.data as Uint16Array) : t.dtype === "F16" ? f16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array);
  return Float64Array.from(f32);
}
