// Merging an adapter into a model folder: a new Hugging Face folder whose adapted weights are W + scaling·B·A, so any
// loader (Embedder.load, transformers) uses it with no adapter at all. Shards keep their names, order and dtypes
// (a BF16 checkpoint stays BF16, as PEFT's merge_and_unload does); one tensor is in memory at a time.
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import {
  float32ToBf16, float32ToF16, openCheckpoint, toFloat32, writeSafetensors, type LoadedTensor, type TensorToWrite,
} from "@dembed/models";
import { mergeAdapter, type LoraAdapter } from "./adapter.js";

/**
 * Writes `outDir` = the model at `modelDir` with `adapter` merged. The folder is assembled under a temp name and
 * renamed into place; an existing `outDir` is an error. Returns the merged weight names.
 */
export async function mergeAdapterIntoModel(modelDir: string, adapter: LoraAdapter, outDir: string): Promise<string[]> {
  const source = resolve(modelDir);
  const target = resolve(outDir);
  if (await stat(target).then(() => true, () => false)) throw new Error(`mergeAdapterIntoModel: ${target} already exists`);
  const checkpoint = await openCheckpoint(source);
  // A bare checkpoint (llm2vec saves) names weights without "model.", the adapter always with it.
  const bare = !checkpoint.has(`${adapter.modules[0]?.path}.weight`) && checkpoint.has(`${adapter.modules[0]?.path.replace(/^model\./, "")}.weight`);
  const stored = (name: string): string => (bare ? name.replace(/^model\./, "") : name);
  for (const m of adapter.modules) {
    if (!checkpoint.has(stored(`${m.path}.weight`))) throw new Error(`mergeAdapterIntoModel: ${source} has no weight ${m.path}.weight for the adapter`);
    const shape = checkpoint.entry(stored(`${m.path}.weight`)).shape;
    if (shape[0] !== m.outFeatures || shape[1] !== m.inFeatures) {
      throw new Error(`mergeAdapterIntoModel: ${m.path}.weight is [${shape.join(", ")}], the adapter expects [${m.outFeatures}, ${m.inFeatures}]`);
    }
  }
  const adapted = new Map(adapter.modules.map((m) => [stored(`${m.path}.weight`), m]));
  const temp = `${target}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    for (const name of await readdir(source, { withFileTypes: true })) {
      if (name.isFile() && !name.name.endsWith(".safetensors")) await copyFile(join(source, name.name), join(temp, name.name));
    }
    for (const file of checkpoint.files) {
      const tensors: Record<string, TensorToWrite> = {};
      for (const entry of file.entries) {
        const module = adapted.get(entry.name);
        tensors[entry.name] = {
          dtype: entry.dtype,
          shape: entry.shape,
          data: async function* () {
            const loaded = await file.readTensor(entry.name);
            yield module === undefined ? loaded.data : mergedData(adapter, module.path, loaded);
          },
        };
      }
      await writeSafetensors(join(temp, basename(file.path)), tensors, file.metadata);
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return [...adapted.keys()];
}

function mergedData(adapter: LoraAdapter, path: string, loaded: LoadedTensor): ArrayBufferView {
  const single: LoraAdapter = { ...adapter, modules: adapter.modules.filter((m) => m.path === path) };
  const merged = mergeAdapter(single, () => toFloat32(loaded.dtype, loaded.data)).get(`${path}.weight`)!;
  switch (loaded.dtype) {
    case "F32":
      return merged;
    case "BF16":
      return float32ToBf16(merged);
    case "F16":
      return float32ToF16(merged);
    default:
      throw new Error(`mergeAdapterIntoModel: ${loaded.name} is stored as ${loaded.dtype}; only F32, BF16 and F16 weights can be merged`);
  }
}
