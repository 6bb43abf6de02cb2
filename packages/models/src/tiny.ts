// Deterministic Hugging Face-format model folders with random weights: tests use tiny ones, the speed benchmark a
// full-size one (tensors are streamed in chunks, so a 2 GB checkpoint never sits in memory at once).
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { architectureFor, describeModel } from "./architectures/registry.js";
import { copyTokenizerFiles } from "./tokenizer/index.js";
import { float32ToBf16, float32ToF16, writeSafetensors, type TensorToWrite } from "./safetensors/index.js";
import { expectedParameters } from "./weights.js";

/** Any registered model_type ("qwen2", "Dream", "llama", "qwen3"); each architecture declares its tiny config. */
export type TinyArchitecture = string;

const TINY_SHAPE = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  hidden_act: "silu",
};

export interface TinyModelOptions {
  readonly seed?: number;
  /** Storage dtype of every weight (BF16/F16 exercise the in-graph cast). */
  readonly dtype?: "F32" | "BF16" | "F16";
  /** config.json fields to override (e.g. a full-size shape for benchmarks). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Writes config.json, model.safetensors and the real tokenizer files into `dir`; returns `dir`. */
export async function createTinyModel(arch: TinyArchitecture, dir: string, options: TinyModelOptions = {}): Promise<string> {
  const base = { model_type: arch, ...architectureFor(arch, "createTinyModel").tinyConfig };
  const seed = options.seed ?? 0;
  const dtype = options.dtype ?? "F32";
  const torchDtype = { F32: "float32", BF16: "bfloat16", F16: "float16" }[dtype];
  const config = { ...base, ...TINY_SHAPE, torch_dtype: torchDtype, ...options.config };
  const spec = describeModel(config, join(dir, "config.json"));
  await mkdir(dir, { recursive: true });

  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, shape] of expectedParameters(spec)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const init = initFor(name, shape);
    tensors[name] = { dtype, shape, data: () => randomChunks(count, hashSeed(name, seed), init, dtype) };
  }
  await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  await writeJsonAtomically(join(dir, "config.json"), config);
  await copyTokenizerFiles(spec.tokenizer.kind, dir);
  return dir;
}

/** Value = offset + scale·U(-1, 1): unit-variance activations, norms near 1, small biases. */
function initFor(name: string, shape: readonly number[]): { offset: number; scale: number } {
  if (name.endsWith("embed_tokens.weight")) return { offset: 0, scale: 1 };
  if (name.endsWith(".bias")) return { offset: 0, scale: 0.2 };
  if (shape.length === 1) return { offset: 1, scale: 0.2 };
  return { offset: 0, scale: Math.sqrt(3 / shape[1]!) };
}

const CHUNK = 1 << 20;

function* randomChunks(count: number, seed: number, init: { offset: number; scale: number }, dtype: "F32" | "BF16" | "F16"): Generator<ArrayBufferView> {
  let state = seed >>> 0;
  for (let start = 0; start < count; start += CHUNK) {
    const values = new Float32Array(Math.min(CHUNK, count - start));
    for (let i = 0; i < values.length; i++) {
      // mulberry32: small, fast, and the same on every platform.
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      values[i] = init.offset + init.scale * (2 * u - 1);
    }
    yield dtype === "F32" ? values : dtype === "BF16" ? float32ToBf16(values) : float32ToF16(values);
  }
}

/** Per-tensor seeds from the name, so a tensor's values do not depend on which others exist. */
function hashSeed(name: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}
