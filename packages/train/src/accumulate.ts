import { assertSameLayout, sortedNames, type NamedTensors } from "./tensors.js";

/**
 * Sums gradients of several micro-batches (float64) for one optimizer step. Each micro-batch loss is a mean
 * over its own queries, so micro-batches are added with weight 1/accumulationSteps: the step then follows
 * the mean loss, as Hugging Face's gradient accumulation does.
 */
export class GradientAccumulator {
  private sums: Record<string, Float64Array> | undefined;
  private added = 0;

  add(grads: NamedTensors, weight = 1): void {
    if (!Number.isFinite(weight)) throw new Error(`GradientAccumulator: weight must be finite, got ${weight}`);
    if (this.sums === undefined) {
      this.sums = Object.fromEntries(sortedNames(grads).map((n) => [n, new Float64Array((grads[n] as Float32Array).length)]));
    } else {
      assertSameLayout(this.sums, grads, "GradientAccumulator.add");
    }
    const first = this.added === 0;
    for (const name of sortedNames(grads)) {
      const s = this.sums[name] as Float64Array;
      const g = grads[name] as Float32Array;
      if (first && weight === 1) s.set(g);
      else for (let k = 0; k < g.length; k++) s[k] = (s[k] as number) + weight * (g[k] as number);
    }
    this.added += 1;
  }

  /** Micro-batches added since the last reset. */
  get count(): number {
    return this.added;
  }

  /** The weighted sum as float32 tensors. */
  result(): NamedTensors {
    if (this.sums === undefined) throw new Error("GradientAccumulator: nothing was added");
    return Object.fromEntries(
      Object.entries(this.sums).map(([n, s]) => {
        const out = new Float32Array(s.length);
        out.set(s); // native float64 → float32 rounding
        return [n, out];
      }),
    );
  }

  reset(): void {
    this.sums = undefined;
    this.added = 0;
  }
}

export interface AccumulationPlan {
  /** Queries per loss computation (one GradCache pass). */
  readonly microBatchSize: number;
  readonly accumulationSteps: number;
  /** Weight of each micro-batch's gradients. */
  readonly weight: number;
}

/** Splits a global batch of queries into equal micro-batches. */
export function planAccumulation(globalBatch: number, accumulationSteps: number): AccumulationPlan {
  if (!Number.isInteger(globalBatch) || globalBatch < 1) throw new Error(`batch: global batch must be an integer ≥ 1, got ${globalBatch}`);
  if (!Number.isInteger(accumulationSteps) || accumulationSteps < 1) throw new Error(`batch: accumulation steps must be an integer ≥ 1, got ${accumulationSteps}`);
  if (globalBatch % accumulationSteps !== 0) {
    throw new Error(`batch: global batch ${globalBatch} is not divisible by accumulation steps ${accumulationSteps}`);
  }
  return { microBatchSize: globalBatch / accumulationSteps, accumulationSteps, weight: 1 / accumulationSteps };
}
