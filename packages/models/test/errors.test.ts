// Bad input of every kind named in the issue gives an error that names the file or tensor and what was expected.
import { readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model.js";
import { openCheckpoint, writeSafetensors, type TensorToWrite } from "../src/safetensors/index.js";
import { batchFromRows } from "../src/session/batch.js";
import { DecoderSession } from "../src/session/decoder.js";
import { createTinyModel } from "../src/tiny.js";
import { tempDir } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("errors");
});
afterAll(async () => root?.cleanup());

/** A fresh small model folder per case, so each mutation stays local. */
async function model(name: string): Promise<string> {
  return createTinyModel("qwen2", join(root.dir, name), { seed: 1, config: { vocab_size: 512 } });
}

async function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): Promise<void> {
  const file = join(dir, "config.json");
  const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  edit(config);
  await writeFile(file, JSON.stringify(config));
}

/** Rewrites model.safetensors with `change` applied to the tensor list. */
async function rewriteWeights(dir: string, change: (tensors: Record<string, TensorToWrite>) => void): Promise<void> {
  const checkpoint = await openCheckpoint(dir);
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of checkpoint.names()) {
    const t = await checkpoint.readTensor(name);
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: t.data };
  }
  change(tensors);
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
}

describe("bad input", () => {
  it("missing or corrupt config.json", async () => {
    const dir = await model("no-config");
    await rm(join(dir, "config.json"));
    await expect(loadModel(dir)).rejects.toThrow(`${join(dir, "config.json")}: not found`);
    await writeFile(join(dir, "config.json"), "{ not json");
    await expect(loadModel(dir)).rejects.toThrow(/config.json: not valid JSON/);
  });

  it("unsupported model_type lists the supported ones", async () => {
    const dir = await model("gpt2");
    await editConfig(dir, (c) => (c.model_type = "gpt2"));
    await expect(loadModel(dir)).rejects.toThrow(/config.json: field 'model_type' is "gpt2"; supported model types: qwen2, Dream, llama, qwen3/);
  });

  it("missing or corrupt weights file", async () => {
    const dir = await model("no-weights");
    const file = join(dir, "model.safetensors");
    await truncate(file, 200);
    await expect(loadModel(dir)).rejects.toThrow(new RegExp(`${file}: .*`));
    await rm(file);
    await expect(loadModel(dir)).rejects.toThrow(/model.safetensors/);
  });

  it("weights whose shapes disagree with config.json name the tensor", async () => {
    const dir = await model("shape");
    await editConfig(dir, (c) => (c.intermediate_size = 96));
    await expect(loadModel(dir)).rejects.toThrow(/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape \[128,64\] but .*config.json .*intermediate 96.* implies \[96,64\]/);
  });

  it("a tensor the config needs is missing", async () => {
    const dir = await model("missing");
    await rewriteWeights(dir, (t) => delete t["model.layers.1.self_attn.k_proj.bias"]);
    await expect(loadModel(dir)).rejects.toThrow(/missing tensors required by .*config.json \(qwen2\): model.layers.1.self_attn.k_proj.bias/);
  });

  it("an unsupported weight dtype names the tensor", async () => {
    const dir = await model("dtype");
    await rewriteWeights(dir, (t) => (t["model.norm.weight"] = { dtype: "I32", shape: [64], data: new Int32Array(64) }));
    await expect(loadModel(dir)).rejects.toThrow(/tensor 'model.norm.weight' has dtype I32; weights must be one of F32, F16, BF16/);
  });

  it("token ids ≥ vocab size and empty inputs are refused before ORT runs", async () => {
    const session = new DecoderSession(await loadModel(await model("ids")), { threads: 1 });
    try {
      await expect(session.run(batchFromRows([[1, 2, 512]], [[1, 1, 1]]), { where: "in.json" })).rejects.toThrow(
        "in.json: input_ids[0][2] is 512, outside the model's vocabulary 0..511",
      );
      await expect(session.run(batchFromRows([[1, -1]], [[1, 1]]))).rejects.toThrow(/input_ids\[0\]\[1\] is -1/);
      await expect(session.run(batchFromRows([], []))).rejects.toThrow(/empty input/);
      await expect(session.run(batchFromRows([[1, 2]], [[1, 1]]), { attention: "sideways" as never })).rejects.toThrow(/attention must be/);
    } finally {
      await session.release();
    }
  });
});
