import { describe, expect, it } from "vitest";
import { GradientAccumulator, planAccumulation } from "./accumulate.js";
import { AdamW } from "./adamw.js";
import { clipGradNorm } from "./clip.js";
import { learningRateAt } from "./schedule.js";

describe("AdamW", () => {
  it("matches torch.optim.AdamW's update on two hand-computed steps", () => {
    const p = { w: Float32Array.from([0.5]) };
    const opt = new AdamW(p, { weightDecay: 0.1 });
    const lr = 0.1;
    // Step 1, g = 1: p ← p(1 − lr·wd); m = 0.1, v = 0.001; m̂ = 1, v̂ = 1 → p −= lr · 1 / (1 + eps).
    let expected = 0.5 * (1 - lr * 0.1) - lr / (1 + 1e-8);
    opt.update({ w: Float32Array.from([1]) }, lr);
    expect(p.w[0]).toBeCloseTo(expected, 6);
    // Step 2, g = −2: m = 0.09 − 0.2 = −0.11, v = 0.000999 + 0.004 = 0.004999.
    const m = -0.11;
    const v = 0.004999;
    expected = expected * (1 - lr * 0.1) - ((lr / (1 - 0.9 ** 2)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    opt.update({ w: Float32Array.from([-2]) }, lr);
    expect(p.w[0]).toBeCloseTo(expected, 6);
    expect(opt.step).toBe(2);
  });

  it("decays weights decoupled from the gradient", () => {
    const p = { w: Float32Array.from([2, -4]) };
    new AdamW(p, { weightDecay: 0.5 }).update({ w: new Float32Array(2) }, 0.1);
    expect(Array.from(p.w)).toEqual([Math.fround(2 * 0.95), Math.fround(-4 * 0.95)]);
  });

  it("minimizes a quadratic", () => {
    const p = { w: Float32Array.from([3, -2, 1]) };
    const opt = new AdamW(p);
    for (let i = 0; i < 500; i++) opt.update({ w: p.w.map((x) => 2 * x) }, 0.05);
    for (const x of p.w) expect(Math.abs(x)).toBeLessThan(0.05);
  });

  it("continues bit-for-bit from an exported state", () => {
    const grad = (t: number) => ({ a: Float32Array.from([Math.sin(t), Math.cos(t)]), b: Float32Array.from([t % 3]) });
    const straight = { a: Float32Array.from([1, 2]), b: Float32Array.from([3]) };
    const opt = new AdamW(straight, { weightDecay: 0.01 });
    for (let t = 0; t < 10; t++) opt.update(grad(t), 0.01);

    const first = { a: Float32Array.from([1, 2]), b: Float32Array.from([3]) };
    const optA = new AdamW(first, { weightDecay: 0.01 });
    for (let t = 0; t < 5; t++) optA.update(grad(t), 0.01);
    const resumedParams = { a: first.a.slice(), b: first.b.slice() };
    const optB = AdamW.fromState(resumedParams, optA.exportState());
    for (let t = 5; t < 10; t++) optB.update(grad(t), 0.01);
    expect(Array.from(resumedParams.a)).toEqual(Array.from(straight.a));
    expect(Array.from(resumedParams.b)).toEqual(Array.from(straight.b));
  });

  it("rejects gradients that do not match the parameters, naming the tensor", () => {
    const opt = new AdamW({ w: new Float32Array(2) });
    expect(() => opt.update({ w: new Float32Array(3) }, 0.1)).toThrow(/w has 3 values, expected 2/);
    expect(() => opt.update({}, 0.1)).toThrow(/missing tensor w/);
    expect(() => AdamW.fromState({ w: new Float32Array(2) }, { ...opt.exportState(), m: {} })).toThrow(/AdamW state m: missing tensor w/);
  });
});

describe("clipGradNorm", () => {
  it("scales to the max norm only when above it", () => {
    const g = { a: Float32Array.from([3]), b: Float32Array.from([4]) };
    const out = clipGradNorm(g, 1);
    expect(out).toEqual({ norm: 5, clipped: true });
    expect(Math.hypot(g.a[0]!, g.b[0]!)).toBeCloseTo(1, 5);
    const small = { a: Float32Array.from([0.3, 0.4]) };
    expect(clipGradNorm(small, 1).clipped).toBe(false);
    expect(Array.from(small.a)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it("reports a non-finite norm without touching the gradients", () => {
    const g = { a: Float32Array.from([NaN, 1]) };
    expect(Number.isNaN(clipGradNorm(g).norm)).toBe(true);
    expect(g.a[1]).toBe(1);
  });
});

describe("learningRateAt", () => {
  const linear = { kind: "linear" as const, peakLr: 1e-4, warmupSteps: 10, stopStep: 110 };
  it("warms up linearly, then decays linearly to zero at the stop step", () => {
    expect(learningRateAt(0, linear)).toBe(0);
    expect(learningRateAt(5, linear)).toBeCloseTo(5e-5, 15);
    expect(learningRateAt(10, linear)).toBeCloseTo(1e-4, 15);
    expect(learningRateAt(60, linear)).toBeCloseTo(5e-5, 15);
    expect(learningRateAt(109, linear)).toBeCloseTo(1e-6, 15);
    expect(learningRateAt(110, linear)).toBe(0);
  });
  it("holds the peak after warmup when constant", () => {
    const constant = { ...linear, kind: "constant" as const };
    expect(learningRateAt(3, constant)).toBeCloseTo(3e-5, 15);
    expect(learningRateAt(100, constant)).toBe(1e-4);
    expect(learningRateAt(0, { ...constant, warmupSteps: 0 })).toBe(1e-4);
  });
});

describe("gradient accumulation", () => {
  it("averages micro-batches with weight 1/steps", () => {
    const plan = planAccumulation(128, 4);
    expect(plan).toEqual({ microBatchSize: 32, accumulationSteps: 4, weight: 0.25 });
    const acc = new GradientAccumulator();
    for (const v of [1, 2, 3, 6]) acc.add({ g: Float32Array.from([v, -v]) }, plan.weight);
    expect(acc.count).toBe(4);
    expect(Array.from(acc.result().g!)).toEqual([3, -3]);
    acc.reset();
    expect(() => acc.result()).toThrow(/nothing was added/);
  });
  it("rejects uneven plans and mismatched gradients", () => {
    expect(() => planAccumulation(10, 4)).toThrow(/global batch 10 is not divisible by accumulation steps 4/);
    const acc = new GradientAccumulator();
    acc.add({ g: new Float32Array(2) });
    expect(() => acc.add({ g: new Float32Array(3) })).toThrow(/g has 3 values, expected 2/);
  });
});
