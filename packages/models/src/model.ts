// A model reference (folder or HF cache id) → its decoder description bound to the checkpoint's tensors. Nothing
// is read beyond config.json and the safetensors headers; weights stay on disk until a session maps them.
import { describeModel } from "./architectures/registry.js";
import type { DecoderSpec } from "./architectures/types.js";
import { readConfigJson } from "./config.js";
import { resolveModel, type ResolveOptions, type ResolvedModel } from "./resolve.js";
import { openCheckpoint } from "./safetensors/index.js";
import { bindWeights, type BoundWeights } from "./weights.js";

export interface LoadedModel {
  readonly ref: string;
  readonly resolved: ResolvedModel;
  /** Absolute model folder. */
  readonly dir: string;
  readonly spec: DecoderSpec;
  readonly weights: BoundWeights;
}

export async function loadModel(ref: string, options: ResolveOptions = {}): Promise<LoadedModel> {
  const resolved = await resolveModel(ref, options);
  const { raw, file } = readConfigJson(resolved.dir);
  const spec = describeModel(raw, file);
  const weights = bindWeights(spec, await openCheckpoint(resolved.dir), file);
  return { ref, resolved, dir: resolved.dir, spec, weights };
}
