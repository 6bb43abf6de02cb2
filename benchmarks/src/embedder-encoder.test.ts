// A queue coordinator keys its cache by `Embedder.describe`, and workers check that key against the Embedder they
// load: the two must agree for every setting that changes vectors, or every shard would be refused.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTinyModel, Embedder, type EmbedderOptions } from "@dembed/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describedEncoder, embedderEncoder, type EmbedderEncoderInfo } from "./embedder-encoder.js";

let root: string;
let dream: string;
let llama: string;
const savedCache = process.env.DEMBED_CACHE;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "dembed-described-"));
  process.env.DEMBED_CACHE = join(root, "cache");
  dream = await createTinyModel("Dream", join(root, "dream"), { seed: 2 });
  llama = await createTinyModel("llama", join(root, "llama"), { seed: 3 });
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.DEMBED_CACHE;
  else process.env.DEMBED_CACHE = savedCache;
  rmSync(root, { recursive: true, force: true });
});

const info = (weightFormat: string): EmbedderEncoderInfo => ({
  model: "m",
  weights: "model.safetensors:1:2",
  maxLength: { query: 64, document: 128 },
  dtype: "float32",
  weightFormat,
  device: "cpu",
  ortVersion: "1.30.0",
});

describe("describedEncoder", () => {
  const cases: Array<[string, () => string, EmbedderOptions]> = [
    ["Dream, defaults", () => dream, {}],
    ["llama, defaults (causal)", () => llama, {}],
    ["llama, every vector setting changed", () => llama, { attention: "bidirectional", pooling: "last_token", skipInstruction: false, promptTemplate: "Q: {input}" }],
    ["Dream, int8", () => dream, { weights: "int8" }],
  ];
  it.each(cases)("gives the loaded Embedder's cache key and record: %s", async (_, dir, options) => {
    const described = await Embedder.describe(dir(), options);
    expect(existsSync(join(root, "cache", "quantized"))).toBe(false); // describing quantizes nothing
    const loaded = await Embedder.load(dir(), { ...options, threads: 1 });
    try {
      expect(described.weightFormat).toBe(loaded.weightFormat);
      const a = describedEncoder(described, info(described.weightFormat));
      const b = embedderEncoder(loaded, info(loaded.weightFormat));
      expect(a.cacheKey).toEqual(b.cacheKey);
      expect(a.describe()).toEqual(b.describe());
      await expect(a.encode(["x"], { role: "document" })).rejects.toThrow(/only describes the model/);
    } finally {
      await loaded.dispose();
      rmSync(join(root, "cache", "quantized"), { recursive: true, force: true });
    }
  });

  it("refuses what the memory plan refuses, as load does", async () => {
    await expect(Embedder.describe(dream, { weights: "fp32", memoryBytes: 1 })).rejects.toThrow(/needs ≈ [\d.]+ GiB at --weights fp32/);
  });
});
