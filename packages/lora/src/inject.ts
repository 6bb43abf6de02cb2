// LoRA inside a model graph: a LinearHook for @dembed/models' buildDecoderGraph that adds, on each adapted linear
// layer, y' = y + scaling·(dropout(x)·Aᵀ)·Bᵀ. A and B are graph INPUTS named by their PEFT keys, so the optimizer
// changes feeds, never the session. Training graphs also take one bool keep-mask per adapted layer (see dropout.ts
// for why masks are inputs rather than in-graph random ops).
import { add, cast, linear, mul, type Value } from "@dembed/onnx";
import type { LinearAdapter, LinearHook } from "@dembed/models";
import { adapterTensors, type LoraAdapter } from "./adapter.js";
import { loraScaling } from "./config.js";
import { loraKey, type LoraModule } from "./modules.js";

/** Graph input name of a layer's dropout keep-mask, bool [batch, sequence, in]. */
export const dropoutMaskName = (modulePath: string): string => `${modulePath}.lora_dropout.keep`;

export interface LoraGraphOptions {
  /** alpha / r (or alpha / √r for rsLoRA): see loraScaling. */
  readonly scaling: number;
  readonly r: number;
  /**
   * Dropout probability on the adapter's input. > 0 only for training graphs: each adapted layer then takes a keep
   * mask input, and kept values are scaled by 1 / (1 − p) as torch's Dropout does. The mask spans the layer's whole
   * [B, T, in] input, so build such graphs with `mlpChunkTokens: 0` (no MLP sequence chunks).
   */
  readonly dropout?: number;
}

/** The graph values the hook created for one adapted layer. */
export interface LoraLayerInputs {
  readonly module: LoraModule;
  readonly a: Value;
  readonly b: Value;
  readonly keep?: Value;
}

export interface LoraInjection {
  readonly linearHook: LinearHook;
  /** Filled while the graph is built: one entry per adapted layer, in build order. */
  readonly layers: LoraLayerInputs[];
}

/**
 * A hook that adapts every listed module. Layers the graph builds but the list does not name pass through; a listed
 * module the graph never builds is reported by `checkInjected` once the graph is complete.
 */
export function loraInjection(modules: readonly LoraModule[], options: LoraGraphOptions): LoraInjection {
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const p = options.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`LoRA graph: dropout must be in [0, 1), got ${p}`);
  const layers: LoraLayerInputs[] = [];
  const linearHook: LinearHook = (path, x, y) => {
    const module = byPath.get(path);
    if (module === undefined) return y;
    const width = x.shape[x.rank - 1];
    if (width !== module.inFeatures) throw new Error(`LoRA graph: ${path} takes ${String(width)} features, the adapter expects ${module.inFeatures}`);
    const g = x.graph;
    const a = g.input(loraKey(path, "A"), "float32", [options.r, module.inFeatures]);
    const b = g.input(loraKey(path, "B"), "float32", [module.outFeatures, options.r]);
    let input = x;
    let keep: Value | undefined;
    if (p > 0) {
      keep = g.input(dropoutMaskName(path), "bool", x.shape);
      // Mul by the widened mask, not Where(keep, x, 0): ORT's Where runs 4× slower per element than Cast + Mul
      // (benchmarks/scripts/dropout-ops.ts), and on the Qwen2-0.5B shape it took 10 % of a training step.
      input = mul(x, cast(keep, x.dtype)); // [B, T, in]
    }
    const fit = (w: Value) => (w.dtype === x.dtype ? w : cast(w, x.dtype));
    // Scaling (and dropout's 1/(1 − p), which commutes with the product) on the rank-r product costs r values per
    // token instead of a pass over [B, T, in] or [B, T, out].
    const low = mul(linear(input, fit(a)), options.scaling / (1 - p)); // [B, T, r]
    layers.push({ module, a, b, ...(keep === undefined ? {} : { keep }) });
    return add(y, linear(low, fit(b))); // [B, T, out]
  };
  return { linearHook, layers };
}

/** Throws when some module of the adapter was never reached by the graph builder (a naming mismatch). */
export function checkInjected(injection: LoraInjection, modules: readonly LoraModule[]): void {
  const seen = new Set(injection.layers.map((l) => l.module.path));
  const missing = modules.filter((m) => !seen.has(m.path));
  if (missing.length > 0) {
    throw new Error(`LoRA graph: the model has no linear layer ${missing.slice(0, 3).map((m) => m.path).join(", ")}${missing.length > 3 ? ` (+${missing.length - 3} more)` : ""}`);
  }
}


/**
 * An adapter for `Embedder.load(base, { adapter })`: A/B enter the inference graph as inputs (no dropout), fed
 * from the adapter's own arrays on every run, so updating them in place changes the next embeddings.
 */
export function loraLinearAdapter(adapter: LoraAdapter, name = "lora"): LinearAdapter {
  const injection = loraInjection(adapter.modules, { scaling: loraScaling(adapter.config), r: adapter.config.r });
  const tensors = adapterTensors(adapter);
  const feeds = Object.fromEntries(
    Object.entries(tensors).map(([key, t]) => [key, { dtype: "float32" as const, dims: [...t.shape], data: t.data }]),
  );
  return { name, linearHook: injection.linearHook, feeds: () => feeds };
}
