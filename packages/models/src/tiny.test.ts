import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../test/helpers.js";
import { loadModel } from "./model.js";
import { openCheckpoint } from "./safetensors/index.js";
import { createTinyModel, type TinyArchitecture } from "./tiny.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("tiny");
});
afterAll(async () => root?.cleanup());

describe("createTinyModel", () => {
  it.each(["qwen2", "Dream", "llama", "qwen3"] as TinyArchitecture[])("%s: an HF folder that loads, with the real vocab and tokenizer", async (arch) => {
    const dir = await createTinyModel(arch, join(root.dir, arch), { seed: 1 });
    const model = await loadModel(dir);
    expect(model.spec.modelType).toBe(arch);
    expect(model.spec.config).toMatchObject({ hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 128 });
    const tokenizer = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")) as { added_tokens: { id: number }[] };
    const maxId = Math.max(...tokenizer.added_tokens.map((t) => t.id));
    expect(maxId).toBeLessThan(model.spec.config.vocabSize);
  });

  it("is deterministic per seed and writes the dtype asked for", async () => {
    const a = await readFile(join(await createTinyModel("qwen2", join(root.dir, "a"), { seed: 4, config: { vocab_size: 256 } }), "model.safetensors"));
    const b = await readFile(join(await createTinyModel("qwen2", join(root.dir, "b"), { seed: 4, config: { vocab_size: 256 } }), "model.safetensors"));
    const c = await readFile(join(await createTinyModel("qwen2", join(root.dir, "c"), { seed: 5, config: { vocab_size: 256 } }), "model.safetensors"));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const bf16 = await openCheckpoint(await createTinyModel("llama", join(root.dir, "bf16"), { dtype: "BF16", config: { vocab_size: 256 } }));
    expect(new Set(bf16.entries.map((e) => e.dtype))).toEqual(new Set(["BF16"]));
  });
});
