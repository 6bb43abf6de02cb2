import { describe, expect, it } from "vitest";
import {
  adapterFromTensors,
  adapterTensors,
  createAdapter,
  initLoraWeights,
  loraConfig,
  loraKey,
  loraLinear,
  loraModules,
  loraScaling,
  mergeAdapter,
  mergeLoraWeight,
  parseLoraKey,
} from "./index.js";

/** A seeded uniform source for tests (LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const qwen05 = { numHiddenLayers: 24, hiddenSize: 896, intermediateSize: 4864, numAttentionHeads: 14, numKeyValueHeads: 2 };
const tiny = { numHiddenLayers: 2, hiddenSize: 8, intermediateSize: 12, numAttentionHeads: 2, numKeyValueHeads: 1 };

describe("LoRA config", () => {
  it("defaults to alpha 2r, dropout 0.05, all seven projections, and accepts short names", () => {
    expect(loraConfig({ r: 16 })).toEqual({
      r: 16, alpha: 32, dropout: 0.05, init: true, useRslora: false,
      targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    });
    expect(loraConfig({ r: 4, targetModules: ["v", "q_proj"] }).targetModules).toEqual(["q_proj", "v_proj"]);
    expect(loraScaling(loraConfig({ r: 16, alpha: 8 }))).toBe(0.5);
    expect(loraScaling(loraConfig({ r: 16, alpha: 8, useRslora: true }))).toBe(2);
  });
  it("rejects bad values naming the field", () => {
    expect(() => loraConfig({ r: 0 })).toThrow(/r must be an integer ≥ 1/);
    expect(() => loraConfig({ r: 4, alpha: -1 })).toThrow(/alpha must be a positive number/);
    expect(() => loraConfig({ r: 4, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => loraConfig({ r: 4, targetModules: ["lm_head"] })).toThrow(/unknown target module "lm_head"/);
  });
});

describe("LoRA modules and keys", () => {
  it("lists the adapted layers with HF shapes (Qwen2-0.5B, r 16: 8,798,208 parameters)", () => {
    const modules = loraModules(qwen05, loraConfig({ r: 16 }));
    expect(modules).toHaveLength(24 * 7);
    expect(modules[1]).toEqual({ path: "model.layers.0.self_attn.k_proj", projection: "k_proj", layer: 0, inFeatures: 896, outFeatures: 128 });
    expect(modules[6]).toMatchObject({ path: "model.layers.0.mlp.down_proj", inFeatures: 4864, outFeatures: 896 });
    // Per layer r·(in + out): q 1792, k 1024, v 1024, o 1792, gate 5760, up 5760, down 5760 → ×16 ×24 layers.
    expect(modules.reduce((s, m) => s + 16 * (m.inFeatures + m.outFeatures), 0)).toBe(16 * 22912 * 24);
  });
  it("names keys as PEFT saves them and reads PEFT's variants back", () => {
    expect(loraKey("model.layers.3.mlp.up_proj", "B")).toBe("base_model.model.model.layers.3.mlp.up_proj.lora_B.weight");
    expect(parseLoraKey("base_model.model.model.layers.3.mlp.up_proj.lora_B.weight")).toEqual({ modulePath: "model.layers.3.mlp.up_proj", which: "B" });
    // llm2vec adapters wrap the bare model (no "model." level); in-memory state dicts carry the adapter name.
    expect(parseLoraKey("base_model.model.layers.0.self_attn.q_proj.lora_A.weight")?.modulePath).toBe("model.layers.0.self_attn.q_proj");
    expect(parseLoraKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight")?.which).toBe("A");
    expect(parseLoraKey("model.layers.0.self_attn.q_proj.weight")).toBeUndefined();
  });
});

describe("PEFT initialization", () => {
  it("draws A from U(±1/√in) and sets B to zero, reproducibly", () => {
    const config = loraConfig({ r: 8 });
    const modules = loraModules({ ...tiny, hiddenSize: 64, intermediateSize: 256, numHiddenLayers: 1 }, config);
    const w = initLoraWeights(modules, config, lcg(1));
    const down = w.get("model.layers.0.mlp.down_proj")!;
    const bound = 1 / Math.sqrt(256);
    let sq = 0;
    for (const x of down.a) {
      expect(Math.abs(x)).toBeLessThanOrEqual(bound);
      sq += x * x;
    }
    // Uniform(−b, b) has variance b²/3.
    expect(sq / down.a.length).toBeCloseTo(bound ** 2 / 3, 4);
    expect(down.b.every((x) => x === 0)).toBe(true);
    expect(initLoraWeights(modules, config, lcg(1)).get("model.layers.0.mlp.down_proj")!.a).toEqual(down.a);
    expect(initLoraWeights(modules, config, lcg(2)).get("model.layers.0.mlp.down_proj")!.a).not.toEqual(down.a);
  });
  it("draws A from N(0, 1/r²) with init gaussian", () => {
    const config = loraConfig({ r: 4, init: "gaussian", targetModules: ["down"] });
    const a = initLoraWeights(loraModules({ ...tiny, intermediateSize: 4096, numHiddenLayers: 1 }, config), config, lcg(5)).get("model.layers.0.mlp.down_proj")!.a;
    const sd = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(sd).toBeCloseTo(1 / 4, 2);
  });
});

describe("merging", () => {
  it("adds scaling·B·A (hand-computed)", () => {
    // W = I, A = [1 2], B = [3; 4], scaling 0.5 → W + 0.5·[[3, 6], [4, 8]].
    const merged = mergeLoraWeight(Float32Array.from([1, 0, 0, 1]), { a: Float32Array.from([1, 2]), b: Float32Array.from([3, 4]) }, { outFeatures: 2, inFeatures: 2, r: 1 }, 0.5);
    expect(Array.from(merged)).toEqual([2.5, 3, 2, 5]);
  });
  it("gives the same outputs as the unmerged adapted layer", () => {
    const rand = lcg(9);
    const [out, inp, r, n] = [5, 7, 3, 4];
    const vec = (len: number) => Float32Array.from({ length: len }, () => rand() * 2 - 1);
    const w = vec(out * inp);
    const bias = vec(out);
    const pair = { a: vec(r * inp), b: vec(out * r) };
    const x = vec(n * inp);
    const shape = { outFeatures: out, inFeatures: inp, r };
    const adapted = loraLinear(x, w, bias, pair, shape, 1.5);
    const merged = loraLinear(x, mergeLoraWeight(w, pair, shape, 1.5), bias, { a: new Float32Array(r * inp), b: new Float32Array(out * r) }, shape, 1.5);
    for (let k = 0; k < adapted.length; k++) expect(merged[k]).toBeCloseTo(adapted[k]!, 5);
    // Sanity: the adapter changes the output, so the comparison above is not vacuous.
    const plain = loraLinear(x, w, bias, { a: pair.a, b: new Float32Array(out * r) }, shape, 1.5);
    expect(Math.max(...adapted.map((v, k) => Math.abs(v - plain[k]!)))).toBeGreaterThan(0.05);
  });
  it("merges a whole adapter by HF weight name, and a fresh adapter changes nothing", () => {
    const config = loraConfig({ r: 2, alpha: 4, targetModules: ["q", "down"] });
    const adapter = createAdapter(tiny, config, lcg(3));
    const base = (name: string) => Float32Array.from({ length: name.includes("down") ? 8 * 12 : 8 * 8 }, (_, k) => k / 10);
    const merged = mergeAdapter(adapter, base);
    expect([...merged.keys()]).toEqual(["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"]);
    for (const [name, w] of merged) expect(w).toEqual(base(name));
  });
  it("rejects mismatched sizes naming the weight", () => {
    expect(() => mergeLoraWeight(new Float32Array(4), { a: new Float32Array(3), b: new Float32Array(2) }, { outFeatures: 2, inFeatures: 2, r: 1 }, 1, "w.q")).toThrow(/w\.q: lora_A has 3 values, expected 1×2/);
  });
});

describe("adapter tensors", () => {
  const config = loraConfig({ r: 2, targetModules: ["q", "v", "up"] });
  it("round-trips through PEFT-named tensors", () => {
    const adapter = createAdapter(tiny, config, lcg(4));
    const tensors = adapterTensors(adapter);
    expect(Object.keys(tensors)).toContain("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight");
    expect(tensors["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"]!.shape).toEqual([2, 8]);
    expect(tensors["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"]!.shape).toEqual([4, 2]);
    const back = adapterFromTensors(config, tensors);
    expect(back.modules).toEqual(adapter.modules);
    for (const m of adapter.modules) expect(back.weights.get(m.path)).toEqual(adapter.weights.get(m.path));
  });
  it("rejects incomplete or mis-shaped weights naming the tensor", () => {
    const tensors = adapterTensors(createAdapter(tiny, config, lcg(4)));
    const missingB = { ...tensors };
    delete missingB["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"];
    expect(() => adapterFromTensors(config, missingB, { source: "x.safetensors" })).toThrow(/x\.safetensors: module "model\.layers\.0\.self_attn\.q_proj" has lora_B missing/);
    expect(() => adapterFromTensors(loraConfig({ r: 3, targetModules: ["q", "v", "up"] }), tensors)).toThrow(/lora_A\.weight has shape \[2, 8\], expected \[3, in\]/);
    expect(() => adapterFromTensors(loraConfig({ r: 2, targetModules: ["q"] }), tensors)).toThrow(/is not among target_modules/);
    expect(() => adapterFromTensors(config, { "lm_head.weight": { shape: [1, 1], data: new Float32Array(1) } })).toThrow(/"lm_head\.weight" is not a LoRA weight/);
  });
});
