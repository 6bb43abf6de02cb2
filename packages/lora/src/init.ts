import type { LoraConfig } from "./config.js";
import type { LoraModule } from "./modules.js";

/** A and B of one adapted layer: A is [r, in], B is [out, r], row-major. */
export interface LoraPair {
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/**
 * PEFT's initialization, drawn from `uniform` (a seeded source of numbers in [0, 1)) module by module, A row by
 * row. B is zero, so a fresh adapter leaves the model unchanged.
 * - init true: A ~ U(−1/√in, 1/√in), which is torch's kaiming_uniform_(a = √5) bound gain·√(3/fan_in) with
 *   gain = √(2 / (1 + 5));
 * - init "gaussian": A ~ N(0, (1/r)²).
 */
export function initLoraWeights(modules: readonly LoraModule[], config: Pick<LoraConfig, "r" | "init">, uniform: () => number): Map<string, LoraPair> {
  const out = new Map<string, LoraPair>();
  for (const m of modules) {
    const a = new Float32Array(config.r * m.inFeatures);
    if (config.init === "gaussian") {
      for (let k = 0; k < a.length; k++) {
        // Box–Muller, one value per pair of uniforms.
        const u = 1 - uniform();
        a[k] = (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform())) / config.r;
      }
    } else {
      const bound = 1 / Math.sqrt(m.inFeatures);
      for (let k = 0; k < a.length; k++) a[k] = (uniform() * 2 - 1) * bound;
    }
    out.set(m.path, { a, b: new Float32Array(m.outFeatures * config.r) });
  }
  return out;
}
