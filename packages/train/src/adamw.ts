import { assertSameLayout, sortedNames, type NamedTensors } from "./tensors.js";

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay (AdamW): p ← p·(1 − lr·wd) before the Adam update. The recipes use 0. */
  readonly weightDecay?: number;
}

/** Everything needed to continue exactly: hyper-parameters, step count and both moment estimates. */
export interface AdamWState {
  readonly step: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly m: NamedTensors;
  readonly v: NamedTensors;
}

/**
 * AdamW as torch.optim.AdamW computes it (decoupled decay, bias correction, eps added after the corrected
 * square root). Parameters are updated in place; moments are float32 like torch's, arithmetic is float64.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private stepCount = 0;
  private readonly m: NamedTensors = {};
  private readonly v: NamedTensors = {};

  constructor(
    readonly params: NamedTensors,
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [key, value, lo, hi] of [
      ["beta1", this.beta1, 0, 1],
      ["beta2", this.beta2, 0, 1],
    ] as const) {
      if (!(value >= lo && value < hi)) throw new Error(`AdamW: ${key} must be in [${lo}, ${hi}), got ${value}`);
    }
    if (!(this.eps > 0)) throw new Error(`AdamW: eps must be positive, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${this.weightDecay}`);
    for (const name of sortedNames(params)) {
      const n = (params[name] as Float32Array).length;
      this.m[name] = new Float32Array(n);
      this.v[name] = new Float32Array(n);
    }
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** One update with learning rate `lr`; `grads` must name exactly the parameters. */
  update(grads: NamedTensors, lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`AdamW: lr must be a finite number ≥ 0, got ${lr}`);
    assertSameLayout(this.params, grads, "AdamW.update grads");
    this.stepCount += 1;
    const { beta1: b1, beta2: b2, eps } = this;
    const stepSize = lr / (1 - b1 ** this.stepCount);
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.stepCount);
    const decay = 1 - lr * this.weightDecay;
    for (const name of sortedNames(this.params)) {
      const p = this.params[name] as Float32Array;
      const g = grads[name] as Float32Array;
      const m = this.m[name] as Float32Array;
      const v = this.v[name] as Float32Array;
      for (let k = 0; k < p.length; k++) {
        const gk = g[k] as number;
        const mk = (m[k] as number) * b1 + (1 - b1) * gk;
        const vk = (v[k] as number) * b2 + (1 - b2) * gk * gk;
        m[k] = mk;
        v[k] = vk;
        p[k] = (p[k] as number) * decay - (stepSize * mk) / (Math.sqrt(vk) / bc2Sqrt + eps);
      }
    }
  }

  /** A snapshot (copies), safe to serialize while training continues. */
  exportState(): AdamWState {
    const copy = (t: NamedTensors): NamedTensors => Object.fromEntries(sortedNames(t).map((n) => [n, (t[n] as Float32Array).slice()]));
    return { step: this.stepCount, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, m: copy(this.m), v: copy(this.v) };
  }

  /** Rebuilds an optimizer over `params` from a snapshot; names and sizes must match. */
  static fromState(params: NamedTensors, state: AdamWState): AdamW {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`AdamW state: step must be an integer ≥ 0, got ${state.step}`);
    const opt = new AdamW(params, state);
    assertSameLayout(params, state.m, "AdamW state m");
    assertSameLayout(params, state.v, "AdamW state v");
    for (const name of sortedNames(params)) {
      (opt.m[name] as Float32Array).set(state.m[name] as Float32Array);
      (opt.v[name] as Float32Array).set(state.v[name] as Float32Array);
    }
    opt.stepCount = state.step;
    return opt;
  }
}
