import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INDEX_FILE_NAME, openCheckpoint } from "./checkpoint.js";
import { writeSafetensors } from "./write.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-ckpt-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const vec = (...values: number[]) => ({ dtype: "F32" as const, shape: [values.length], data: Float32Array.from(values) });

async function shardedFolder(name: string, weightMap: Record<string, unknown>, extraIndex: Record<string, unknown> = {}) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), { "model.embed_tokens.weight": vec(1, 2), "model.norm.weight": vec(3) });
  await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), { "lm_head.weight": vec(4, 5, 6) });
  await writeFile(join(dir, INDEX_FILE_NAME), JSON.stringify({ metadata: { total_size: 24 }, weight_map: weightMap, ...extraIndex }));
  return dir;
}

const goodMap = {
  "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
  "model.norm.weight": "model-00001-of-00002.safetensors",
  "lm_head.weight": "model-00002-of-00002.safetensors",
};

describe("openCheckpoint", () => {
  it("merges shards listed in the index and reads each tensor from its own file", async () => {
    const dir = await shardedFolder("sharded", goodMap);
    const checkpoint = await openCheckpoint(dir);
    expect(checkpoint.indexPath).toBe(join(dir, INDEX_FILE_NAME));
    expect(checkpoint.files).toHaveLength(2);
    expect(checkpoint.names()).toEqual(["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"]);
    expect(checkpoint.has("model.norm.weight")).toBe(true);
    expect(checkpoint.has("norm.weight")).toBe(false);
    expect(checkpoint.entry("lm_head.weight").path).toBe(join(dir, "model-00002-of-00002.safetensors"));
    expect([...(await checkpoint.readTensor("lm_head.weight")).data as Float32Array]).toEqual([4, 5, 6]);
    expect([...(await checkpoint.readTensor("model.embed_tokens.weight")).data as Float32Array]).toEqual([1, 2]);
    await expect(checkpoint.readTensor("missing")).rejects.toThrow(/model.safetensors.index.json: tensor "missing" is not in this checkpoint/);
  });

  it("opens a single-file folder, a bare-model checkpoint, and a .safetensors path", async () => {
    const dir = join(root, "single");
    await mkdir(dir);
    await writeSafetensors(join(dir, "model.safetensors"), { "embed_tokens.weight": vec(1), "norm.weight": vec(2) });
    const checkpoint = await openCheckpoint(dir);
    expect(checkpoint.indexPath).toBeUndefined();
    expect(checkpoint.names()).toEqual(["embed_tokens.weight", "norm.weight"]);
    expect((await openCheckpoint(join(dir, "model.safetensors"))).has("norm.weight")).toBe(true);
  });

  const failures: [string, () => Promise<string>, RegExp][] = [
    ["a mapped shard that is missing", () => shardedFolder("no-shard", { ...goodMap, "x.weight": "model-00003-of-00003.safetensors" }), /shard "model-00003-of-00003.safetensors" is listed but .* does not exist/],
    ["a tensor absent from its mapped shard", () => shardedFolder("wrong-shard", { ...goodMap, "lm_head.weight": "model-00001-of-00002.safetensors" }), /tensor "lm_head.weight" is mapped to .*model-00001-of-00002.safetensors, which does not hold it/],
    ["a shard path outside the folder", () => shardedFolder("escape", { ...goodMap, "model.norm.weight": "../single/model.safetensors" }), /weight_map\["model.norm.weight"\] must be a file name inside/],
    ["an index without weight_map", () => shardedFolder("no-map", goodMap, { weight_map: [] }), /expected an object with a "weight_map" object/],
  ];
  it.each(failures)("rejects %s, naming the index", async (_label, make, message) => {
    const dir = await make();
    await expect(openCheckpoint(dir)).rejects.toThrow(message);
    await expect(openCheckpoint(dir)).rejects.toThrow(INDEX_FILE_NAME);
  });

  it("says what it looked for when a folder has no weights, and refuses pickles", async () => {
    const dir = join(root, "empty");
    await mkdir(dir);
    await writeFile(join(dir, "pytorch_model.bin"), "not read");
    await writeFile(join(dir, "adapter_model.safetensors"), "not read");
    await expect(openCheckpoint(dir)).rejects.toThrow(
      /empty: no weights found \(looked for model.safetensors and model.safetensors.index.json\). Other .safetensors files here: adapter_model.safetensors .* Found pytorch_model.bin: dembed never loads pickled weights/,
    );
    await expect(openCheckpoint(join(root, "nowhere"))).rejects.toThrow(/nowhere: no such folder or file/);
  });

  it("reports a corrupt shard by its file name", async () => {
    const dir = await shardedFolder("corrupt", goodMap);
    await writeFile(join(dir, "model-00002-of-00002.safetensors"), Buffer.alloc(4));
    await expect(openCheckpoint(dir)).rejects.toThrow(/model-00002-of-00002.safetensors: file is 4 bytes/);
  });
});
