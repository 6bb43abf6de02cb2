// LoRA in model graphs on a tiny model: the injected graph against a float64 forward of the merged weights, PEFT
// save → load, merging into a model folder, and the dropout masks of training graphs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder, buildDecoderGraph, createTinyModel, loadModel, padBatch, readParameter, referenceForward, type LoadedModel } from "@dembed/models";
import { createSession, type Tensor } from "@dembed/onnx";
import {
  adapterTensors, checkInjected, createAdapter, dropoutMasks, fillKeepMask, loadAdapter, loraConfig, loraInjection, loraLinearAdapter,
  loraScaling, mergeAdapter, mergeAdapterIntoModel, saveAdapter, type LoraAdapter,
} from "../src/index.js";

const TEXTS = ["The grass is green.", "Diffusion language models read the whole passage at once, in both directions.", "Short."];

let root: string;
let modelDir: string;
let model: LoadedModel;
let adapter: LoraAdapter;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** An adapter with B ≠ 0 too (a fresh one is a no-op), on a subset of projections to show targeting works. */
function trainedAdapter(targets: string[]): LoraAdapter {
  const config = loraConfig({ r: 4, alpha: 6, dropout: 0.1, targetModules: targets });
  const c = model.spec.config;
  const shape = { numHiddenLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numAttentionHeads: c.numHeads, numKeyValueHeads: c.numKvHeads };
  const fresh = createAdapter(shape, config, seeded(5), { baseModelNameOrPath: modelDir });
  const uniform = seeded(9);
  for (const pair of fresh.weights.values()) pair.b.forEach((_, i) => (pair.b[i] = (uniform() * 2 - 1) * 0.3));
  return fresh;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-lora-"));
  process.env.DEMBED_CACHE = join(root, "cache"); // quantized copies stay in this test's folder
  modelDir = await createTinyModel("qwen2", join(root, "qwen2"), { seed: 4 });
  model = await loadModel(modelDir);
  adapter = trainedAdapter(["q", "k", "v", "o", "gate", "up", "down"]);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

let baseWeights: Map<string, Float64Array> | undefined;
async function mergedReference(a: LoraAdapter): Promise<(name: string) => Float64Array> {
  if (baseWeights === undefined) {
    baseWeights = new Map();
    for (const name of model.weights.tensors.keys()) baseWeights.set(name, await readParameter(model.weights, name));
  }
  const base = baseWeights;
  const merged = mergeAdapter(a, (name) => Float32Array.from(base.get(name)!));
  return (name) => (merged.has(name) ? Float64Array.from(merged.get(name)!) : base.get(name)!);
}

const maxRelative = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
};

describe("LoRA injection", () => {
  for (const attention of ["causal", "bidirectional"] as const) {
    it(`matches a float64 forward of the merged weights (${attention})`, async () => {
      const embedder = await Embedder.load(modelDir, { adapter: loraLinearAdapter(adapter), attention, kernel: "masked", threads: 1 });
      try {
        const { rows, profile } = embedder.tokenize(TEXTS);
        const batch = padBatch(rows, profile);
        const hidden = await embedder.forward(batch);
        const [b, t] = batch.dims;
        const ids = Array.from({ length: b }, (_, r) => Array.from(batch.inputIds.slice(r * t, (r + 1) * t), Number));
        const mask = Array.from({ length: b }, (_, r) => Array.from(batch.attentionMask.slice(r * t, (r + 1) * t), Number));
        const expected = referenceForward(model.spec, await mergedReference(adapter), { inputIds: ids, attentionMask: mask }, attention);
        expect(maxRelative(hidden.data, expected)).toBeLessThan(1e-4);
        // …and the adapter really changes the model.
        const plain = referenceForward(model.spec, await mergedReference({ ...adapter, modules: [] }), { inputIds: ids, attentionMask: mask }, attention);
        expect(maxRelative(plain, expected)).toBeGreaterThan(1e-2);
      } finally {
        await embedder.dispose();
      }
    });
  }

  it("adapts only the targeted projections and reports modules the graph never built", () => {
    const partial = trainedAdapter(["q", "down"]);
    const injection = loraInjection(partial.modules, { scaling: loraScaling(partial.config), r: partial.config.r });
    const built = buildDecoderGraph(model.weights, { linearHook: injection.linearHook });
    expect(injection.layers.map((l) => l.module.path)).toEqual(partial.modules.map((m) => m.path));
    expect(built.graph.inputs.map((v) => v.name)).toContain("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
    expect(() => checkInjected(injection, partial.modules)).not.toThrow();
    const ghost = { ...partial.modules[0]!, path: "model.layers.7.self_attn.q_proj" };
    expect(() => checkInjected(injection, [...partial.modules, ghost])).toThrow(/no linear layer model\.layers\.7\.self_attn\.q_proj/);
  });

  it("PEFT save → load gives bit-identical embeddings; merged weights give the same embeddings", async () => {
    const dir = join(root, "adapter");
    await saveAdapter(dir, adapter);
    const loaded = await loadAdapter(dir);
    const opts = { maxLength: 64, threads: 1 } as const;
    const a = await Embedder.load(modelDir, { ...opts, adapter: loraLinearAdapter(adapter) });
    const b = await Embedder.load(modelDir, { ...opts, adapter: loraLinearAdapter(loaded) });
    const mergedDir = join(root, "merged");
    const names = await mergeAdapterIntoModel(modelDir, loaded, mergedDir);
    expect(names).toHaveLength(adapter.modules.length);
    const c = await Embedder.load(mergedDir, opts);
    const base = await Embedder.load(modelDir, opts);
    try {
      const [ea, eb, ec, e0] = await Promise.all([a, b, c, base].map((e) => e.encode(TEXTS, { instruction: "Retrieve text:" })));
      ea!.forEach((row, i) => {
        expect(Array.from(eb![i]!)).toEqual(Array.from(row));
        expect(maxRelative(ec![i]!, row)).toBeLessThan(1e-5);
        expect(maxRelative(e0![i]!, row)).toBeGreaterThan(1e-3);
      });
    } finally {
      await Promise.all([a, b, c, base].map((e) => e.dispose()));
    }
    await expect(mergeAdapterIntoModel(modelDir, loaded, mergedDir)).rejects.toThrow(/already exists/);
  });
});

describe("adapters on a quantized base (QLoRA-style inference)", () => {
  it("move int8/int4 embeddings as they move fp32 ones, within the formats' bounds", async () => {
    const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    const opts = { maxLength: 64, threads: 1 } as const;
    const encode = async (weights: "fp32" | "int8" | "int4", withAdapter: boolean) => {
      const e = await Embedder.load(modelDir, { ...opts, weights, ...(withAdapter ? { adapter: loraLinearAdapter(adapter) } : {}) });
      try {
        return await e.encode(TEXTS);
      } finally {
        await e.dispose();
      }
    };
    const [base, adapted] = [await encode("fp32", false), await encode("fp32", true)];
    // Bounds of packages/models/test/weight-formats.test.ts (tiny random models), per embedding.
    for (const [format, bound] of [["int8", 0.9995], ["int4", 0.97]] as const) {
      const quantizedAdapted = await encode(format, true);
      quantizedAdapted.forEach((row, i) => {
        expect(cosine(row, adapted[i]!)).toBeGreaterThan(bound);
        // The adapter's own move is far larger than the quantization error, so the check above is about the adapter.
        expect(1 - cosine(adapted[i]!, base[i]!)).toBeGreaterThan(10 * (1 - cosine(row, adapted[i]!)));
      });
    }
  });
});

describe("dropout in training graphs", () => {
  it("draws deterministic masks that drop about p of the inputs, independently per layer and seed", () => {
    const layers = adapter.modules.slice(0, 3);
    const m1 = dropoutMasks(layers, [3, 50], 0.1, 7);
    const m2 = dropoutMasks(layers, [3, 50], 0.1, 7);
    const m3 = dropoutMasks(layers, [3, 50], 0.1, 8);
    const names = Object.keys(m1);
    expect(names).toHaveLength(3);
    for (const name of names) expect(m2[name]!.data).toEqual(m1[name]!.data);
    const data = (t: Tensor) => t.data as Uint8Array;
    expect(data(m3[names[0]!]!)).not.toEqual(data(m1[names[0]!]!));
    expect(data(m1[names[1]!]!)).not.toEqual(data(m1[names[0]!]!));
    const big = new Uint8Array(200_000);
    fillKeepMask(big, 0.05, seeded(1));
    const dropped = big.reduce((s, k) => s + (1 - k), 0) / big.length;
    expect(dropped).toBeGreaterThan(0.047);
    expect(dropped).toBeLessThan(0.053);
  });

  it("with every element kept, the training graph computes what the inference graph does; drops change it", async () => {
    const injection = loraInjection(adapter.modules, { scaling: loraScaling(adapter.config), r: adapter.config.r, dropout: 0.1 });
    const built = buildDecoderGraph(model.weights, { attention: "bidirectional", kernel: "masked", mlpChunkTokens: 0, linearHook: injection.linearHook });
    const session = await createSession(built.graph, { threads: 1 });
    const inference = await Embedder.load(modelDir, { adapter: loraLinearAdapter(adapter), kernel: "masked", threads: 1 });
    try {
      const { rows, profile } = inference.tokenize(TEXTS);
      const batch = padBatch(rows, profile);
      const feeds: Record<string, Tensor> = {
        input_ids: { dtype: "int64", dims: [...batch.dims], data: batch.inputIds },
        attention_mask: { dtype: "int64", dims: [...batch.dims], data: batch.attentionMask },
      };
      for (const [key, t] of Object.entries(adapterTensors(adapter))) feeds[key] = { dtype: "float32", dims: [...t.shape], data: t.data };
      const keepAll = dropoutMasks(injection.layers.map((l) => l.module), batch.dims, 0, 1);
      const run = async (masks: Record<string, Tensor>) => (await session.run({ ...feeds, ...masks }))["last_hidden_state"]!.data as Float32Array;
      const expected = (await inference.forward(batch)).data;
      // Kept values are scaled by 1/(1−p), so "keep all" is not the identity: compare against p = 0 semantics.
      const allKept = await run(keepAll);
      expect(maxRelative(allKept, expected)).toBeGreaterThan(1e-4);
      const noDrop = loraInjection(adapter.modules, { scaling: loraScaling(adapter.config) / 0.9, r: adapter.config.r });
      const scaled = await createSession(buildDecoderGraph(model.weights, { attention: "bidirectional", kernel: "masked", mlpChunkTokens: 0, linearHook: noDrop.linearHook }).graph, { threads: 1 });
      const reference = (await scaled.run(feeds))["last_hidden_state"]!.data as Float32Array;
      await scaled.release();
      expect(maxRelative(allKept, reference)).toBeLessThan(1e-5);
      const dropped = await run(dropoutMasks(injection.layers.map((l) => l.module), batch.dims, 0.1, 1));
      expect(maxRelative(dropped, allKept)).toBeGreaterThan(1e-3);
    } finally {
      await session.release();
      await inference.dispose();
    }
  });
});
