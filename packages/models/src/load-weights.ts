// The step between a loaded model and its session: plan memory for the chosen --weights, refuse what cannot be kept,
// and make the quantized weights (from the cache when present) with progress.
import type { Device } from "@dembed/onnx";
import type { LoadedModel } from "./model.js";
import { quantizedLinears, type QuantizedLinears, type QuantizeProgress } from "./quantized.js";
import { dembedCacheDir } from "./tiny-ref.js";
import { planWeights, type WeightChoice, type WeightFormat, type WeightPlan } from "./weight-format.js";
import { weightDtype } from "./weights.js";

export interface PreparedWeights {
  readonly format: WeightFormat;
  readonly quantized?: QuantizedLinears;
  readonly plan: WeightPlan;
}

export interface PrepareWeightsOptions {
  /** Longest input the run will see; the plan counts one row of it (batches are fitted later). */
  readonly maxLength: number;
  /** Bytes the plan may use; default what the OS reports available. */
  readonly availableBytes?: number;
  readonly cacheDir?: string;
  /**
   * Where the session runs (default cpu). int8 and int4 on CPU run the MLP's down projection as int8 per token
   * (perTokenModules); MatMulIntegerToFloat is a CPU kernel, so on CUDA every weight stays on MatMulNBits.
   */
  readonly device?: Device;
  /** Where the session gathers embedding rows (the plan counts a mapped table only for "gather"); default "gather". */
  readonly embeddings?: "gather" | "input";
  /** Told what --weights auto picked and why. */
  readonly onNotice?: (message: string) => void;
  readonly onProgress?: (p: QuantizeProgress) => void;
}

/** The memory plan for `choice` on this model (what auto resolves to), refusing what cannot be kept; reads no weight. */
export function planModelWeights(model: LoadedModel, choice: WeightChoice, options: Omit<PrepareWeightsOptions, "cacheDir" | "onProgress">): WeightPlan {
  const stored = weightDtype(model.weights);
  const storedBytes = stored === "F32" || stored === "mixed" ? 4 : 2;
  if (choice === "bf16" && storedBytes !== 2) {
    throw new Error(`--weights bf16 keeps a BF16 or F16 checkpoint's weights as stored; ${model.dir} stores ${stored} (use fp32, int8 or int4)`);
  }
  const name = model.ref.split("/").pop() || model.ref;
  const plan = planWeights(name, choice, { config: model.spec.config, storedBytes, batch: 1, length: options.maxLength, ...(options.embeddings ? { embeddings: options.embeddings } : {}) }, options.availableBytes);
  if (choice === "auto") options.onNotice?.(plan.reason);
  return plan;
}

export async function prepareWeights(model: LoadedModel, choice: WeightChoice, options: PrepareWeightsOptions): Promise<PreparedWeights> {
  const plan = planModelWeights(model, choice, options);
  if (plan.format !== "int8" && plan.format !== "int4") return { format: plan.format, plan };
  const bits = plan.format === "int8" ? 8 : 4;
  const quantized = await quantizedLinears(model.weights, bits, {
    cacheDir: options.cacheDir ?? dembedCacheDir(),
    perToken: (options.device ?? "cpu") === "cpu",
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { format: plan.format, quantized, plan };
}
