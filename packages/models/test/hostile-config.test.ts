// Sizes in config.json are checked before anything is sized from them: a typo fails in one line, fast.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model.js";
import { createTinyModel } from "../src/tiny.js";
import { tempDir } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("hostile-config");
});
afterAll(async () => root?.cleanup());

async function withConfig(name: string, edit: Record<string, unknown>): Promise<string> {
  const dir = await createTinyModel("qwen2", join(root.dir, name), { seed: 1, config: { vocab_size: 512 } });
  const file = join(dir, "config.json");
  await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, "utf8")) as object), ...edit }));
  return dir;
}

describe("hostile config.json sizes", () => {
  it.each([
    ["num_hidden_layers", 1e9, "must be at most 1024"],
    ["hidden_size", 2 ** 40, "must be at most 65536"],
    ["vocab_size", 1e12, "must be at most 4194304"],
    ["num_attention_heads", 1e6, "must be at most 1024"],
  ])("%s = %d is refused naming the field", async (field, value, rule) => {
    const dir = await withConfig(`big-${field}`, { [field]: value });
    await expect(loadModel(dir)).rejects.toThrow(`field '${field}': ${rule}`);
  });

  it("a config that describes more parameters than the checkpoint holds fails before binding tensors", async () => {
    const dir = await withConfig("more-layers", { num_hidden_layers: 900 });
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: describes ≈ .* parameters \(num_hidden_layers 900.*one of those fields is wrong/);
  });

  it("a quantized torch_dtype is refused instead of read as floats", async () => {
    const dir = await withConfig("int4", { torch_dtype: "int4" });
    await expect(loadModel(dir)).rejects.toThrow(/field 'torch_dtype': expected float32, float16 or bfloat16/);
  });
});
