import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { float32ToBf16, writeSafetensors } from "@dembed/models";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdapter, loadAdapter, loraConfig, saveAdapter } from "./index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dembed-lora-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
const shape = { numHiddenLayers: 2, hiddenSize: 8, intermediateSize: 12, numAttentionHeads: 2, numKeyValueHeads: 1 };
const settings = { attention: "bidirectional", pooling: "mean", skipInstruction: false, promptTemplate: "{input}" } as const;

describe("PEFT adapter folders", () => {
  it("save → load gives the same config, settings and weights, bit for bit", async () => {
    const adapter = createAdapter(shape, loraConfig({ r: 4, alpha: 6, dropout: 0.1 }), lcg(1), { baseModelNameOrPath: "Qwen/Qwen2.5-7B", settings });
    // Trained B is non-zero; make it so, to check B round-trips too.
    for (const pair of adapter.weights.values()) pair.b.forEach((_, k) => (pair.b[k] = Math.sin(k) / 7));
    await saveAdapter(dir, adapter);
    expect((await readdir(dir)).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors", "dembed_adapter.json"]);
    const config = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({ peft_type: "LORA", r: 4, lora_alpha: 6, base_model_name_or_path: "Qwen/Qwen2.5-7B" });
    const back = await loadAdapter(dir);
    expect(back.config).toEqual(adapter.config);
    expect(back.settings).toEqual(settings);
    expect(back.baseModelNameOrPath).toBe("Qwen/Qwen2.5-7B");
    expect(back.modules).toEqual(adapter.modules);
    for (const m of adapter.modules) {
      expect(back.weights.get(m.path)!.a).toEqual(adapter.weights.get(m.path)!.a);
      expect(back.weights.get(m.path)!.b).toEqual(adapter.weights.get(m.path)!.b);
    }
  });

  it("loads a bare-model bf16 adapter as PEFT writes for llm2vec, without dembed settings", async () => {
    await writeFile(join(dir, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 2, lora_alpha: 4, lora_dropout: 0.05, target_modules: ["q_proj"], base_model_name_or_path: "m" }));
    const a = Float32Array.from({ length: 2 * 8 }, (_, k) => k / 16);
    const b = Float32Array.from({ length: 8 * 2 }, (_, k) => -k / 16);
    await writeSafetensors(join(dir, "adapter_model.safetensors"), {
      "base_model.model.layers.0.self_attn.q_proj.lora_A.weight": { dtype: "BF16", shape: [2, 8], data: float32ToBf16(a) },
      "base_model.model.layers.0.self_attn.q_proj.lora_B.weight": { dtype: "BF16", shape: [8, 2], data: float32ToBf16(b) },
    });
    const adapter = await loadAdapter(dir);
    expect(adapter.settings).toBeUndefined();
    expect(adapter.modules.map((m) => m.path)).toEqual(["model.layers.0.self_attn.q_proj"]);
    // k/16 for k < 16 is exact in bf16.
    expect(adapter.weights.get("model.layers.0.self_attn.q_proj")!.a).toEqual(a);
  });

  it("refuses pickles and folders that are not adapters, naming the folder", async () => {
    await expect(loadAdapter(dir)).rejects.toThrow(/no adapter_config\.json; not a PEFT adapter folder/);
    await writeFile(join(dir, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"] }));
    await writeFile(join(dir, "adapter_model.bin"), "pickle");
    await expect(loadAdapter(dir)).rejects.toThrow(/adapter_model\.bin \(a PyTorch pickle\).*does not load pickles/);
  });
});
