import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { HashingEncoder, type EncodeResult, type TextEncoder } from "./encoder.js";
import { EncoderMeter, formatTotals, StageClock, stageTotals } from "./stages.js";

/** Reports the given split of its time after waiting `waitMs`; `seconds: undefined` reports none. */
function fakeEncoder(seconds: EncodeResult["seconds"], waitMs = 0): TextEncoder {
  return {
    cacheKey: { model: "fake", dim: 2 },
    async encode(texts) {
      if (waitMs > 0) await sleep(waitMs);
      return { embeddings: texts.map(() => Float32Array.of(1, 0)), truncated: 0, ...(seconds ? { seconds } : {}) };
    },
    describe: () => ({ model: "fake" }),
  };
}

describe("StageClock", () => {
  it("sums stages in run order and keeps each record's labels", async () => {
    const clock = new StageClock();
    clock.add({ stage: "scoring", seconds: 0.5, task: "passkey", split: "test_256", system: "BM25" });
    clock.add({ stage: "data", seconds: 1, task: "passkey" });
    clock.add({ stage: "scoring", seconds: 0.25, task: "passkey", split: "test_512", system: "BM25" });
    expect(await clock.time({ stage: "report" }, () => 42)).toBe(42);
    const totals = stageTotals(clock.entries);
    expect(totals.map((t) => t.stage)).toEqual(["data", "scoring", "report"]);
    expect(totals[1]!.seconds).toBe(0.75);
    expect(clock.entries[0]).toEqual({ stage: "scoring", seconds: 0.5, task: "passkey", split: "test_256", system: "BM25" });
    expect(formatTotals(totals.slice(0, 2))).toBe("data 1.00 s, scoring 0.75 s");
  });

  it("records the time of work that throws, and refuses unknown stages and impossible times", async () => {
    const clock = new StageClock();
    await expect(clock.time({ stage: "model" }, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(() => clock.timeSync({ stage: "BM25" }, () => { throw new Error("bang"); })).toThrow("bang");
    expect(clock.entries.map((e) => e.stage)).toEqual(["model", "BM25"]);
    expect(() => clock.add({ stage: "lunch" as "model", seconds: 1 })).toThrow(/unknown stage "lunch"/);
    expect(() => clock.add({ stage: "model", seconds: -1 })).toThrow(/model took -1 s; expected a finite time ≥ 0/);
    expect(() => clock.add({ stage: "model", seconds: Number.NaN })).toThrow(/model took NaN s/);
  });
});

describe("EncoderMeter", () => {
  it("passes calls, cache key and description through unchanged", async () => {
    const inner = new HashingEncoder({ dim: 16 });
    const meter = new EncoderMeter(inner);
    expect(meter.encoder.cacheKey).toBe(inner.cacheKey);
    expect(meter.encoder.describe()).toEqual(inner.describe());
    const direct = await new HashingEncoder({ dim: 16 }).encode(["the grass is green"], { role: "document" });
    const metered = await meter.encoder.encode(["the grass is green"], { role: "document" });
    expect(metered.embeddings).toEqual(direct.embeddings);
    expect(inner.calls).toBe(1);
  });

  it("counts an encoder's own split, with the rest of each call as model time", async () => {
    const meter = new EncoderMeter(fakeEncoder({ tokenize: 0.004, model: 0.002, pooling: 0.001 }, 60));
    await meter.encoder.encode(["a", "b"], { role: "document" });
    await meter.encoder.encode(["c"], { role: "query" });
    expect(meter.seconds.tokenize).toBeCloseTo(0.008, 9);
    expect(meter.seconds.pooling).toBeCloseTo(0.002, 9);
    // Each call waited about 60 ms that the encoder did not put under tokenize or pooling: that is the model's.
    expect(meter.seconds.model).toBeGreaterThan(2 * 0.05);
    expect(meter.seconds.tokenize + meter.seconds.model + meter.seconds.pooling).toBeCloseTo(meter.wall, 9);
    expect(meter.seconds.encode).toBe(0);
    const stages = meter.stages({ task: "t", split: "s", system: "fake" });
    expect(stages.map((s) => s.stage)).toEqual(["tokenize", "model", "pooling"]);
    expect(stages.every((s) => s.task === "t" && s.split === "s" && s.system === "fake")).toBe(true);
  });

  it("keeps an encoder's reported model time when its calls were shorter (no negative remainder)", async () => {
    const meter = new EncoderMeter(fakeEncoder({ tokenize: 0, model: 5, pooling: 0 }));
    await meter.encoder.encode(["a"], { role: "document" });
    expect(meter.seconds.model).toBe(5);
  });

  it("puts an encoder that reports nothing under one encode figure", async () => {
    const meter = new EncoderMeter(fakeEncoder(undefined, 20));
    await meter.encoder.encode(["a"], { role: "document" });
    expect(meter.seconds).toMatchObject({ tokenize: 0, model: 0, pooling: 0 });
    expect(meter.seconds.encode).toBe(meter.wall);
    expect(meter.stages({}).map((s) => s.stage)).toEqual(["encode"]);
  });
});
