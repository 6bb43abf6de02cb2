// model_type → architecture. Adding an architecture: its file, one line here, one test.
import { ModelConfigError } from "../config.js";
import { dream } from "./dream.js";
import { llama } from "./llama.js";
import { qwen2 } from "./qwen2.js";
import { qwen3 } from "./qwen3.js";
import type { Architecture, DecoderSpec } from "./types.js";

export const architectures: ReadonlyMap<string, Architecture> = new Map(
  [qwen2, dream, llama, qwen3].map((a) => [a.modelType, a] as const),
);

export function architectureFor(modelType: unknown, file: string): Architecture {
  const arch = typeof modelType === "string" ? architectures.get(modelType) : undefined;
  if (!arch) {
    const shown = modelType === undefined ? "missing" : JSON.stringify(modelType);
    throw new ModelConfigError(
      `${file}: field 'model_type' is ${shown}; supported model types: ${[...architectures.keys()].join(", ")}`,
    );
  }
  return arch;
}

/** A parsed config.json → its decoder description, through the architecture its model_type names. */
export function describeModel(raw: Readonly<Record<string, unknown>>, file: string): DecoderSpec {
  return architectureFor(raw.model_type, file).describe(raw, file);
}
