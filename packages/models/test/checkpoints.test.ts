// The same weights laid out as HF writes them in other ways — sharded with an index, or a bare model without the
// "model." prefix — give the same hidden states.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, type LoadedModel } from "../src/model.js";
import { openCheckpoint, writeSafetensors, type TensorToWrite } from "../src/safetensors/index.js";
import { batchFromRows } from "../src/session/batch.js";
import { DecoderSession } from "../src/session/decoder.js";
import { copyTokenizerFiles } from "../src/tokenizer/index.js";
import { tempDir, tinyModel } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
let model: LoadedModel;
let tensors: Record<string, TensorToWrite>;
beforeAll(async () => {
  root = await tempDir("checkpoints");
  model = await tinyModel("llama", root.dir, { config: { vocab_size: 1024 } });
  const checkpoint = await openCheckpoint(model.dir);
  tensors = {};
  for (const name of checkpoint.names()) {
    const t = await checkpoint.readTensor(name);
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: t.data };
  }
});
afterAll(async () => root?.cleanup());

async function hidden(dir: string): Promise<Float32Array> {
  const session = new DecoderSession(await loadModel(dir), { threads: 1 });
  try {
    return (await session.run(batchFromRows([[1, 50, 700, 3], [0, 0, 9, 10]], [[1, 1, 1, 1], [0, 0, 1, 1]]))).data;
  } finally {
    await session.release();
  }
}

async function folderWith(name: string, write: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root.dir, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(model.spec.config.raw));
  await copyTokenizerFiles("llama", dir);
  await write(dir);
  return dir;
}

describe("checkpoint layouts", () => {
  it("sharded checkpoints (model.safetensors.index.json) and bare-model names give the same outputs", async () => {
    const expected = await hidden(model.dir);
    const names = Object.keys(tensors).sort();
    const sharded = await folderWith("sharded", async (dir) => {
      const files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
      const weightMap: Record<string, string> = {};
      const halves = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
      for (const [i, part] of halves.entries()) {
        await writeSafetensors(join(dir, files[i]!), Object.fromEntries(part.map((n) => [n, tensors[n]!])));
        for (const n of part) weightMap[n] = files[i]!;
      }
      await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    });
    const bare = await folderWith("bare", (dir) =>
      writeSafetensors(join(dir, "model.safetensors"), Object.fromEntries(names.map((n) => [n.replace(/^model\./, ""), tensors[n]!]))),
    );
    expect((await loadModel(bare)).weights.bare).toBe(true);
    expect(await hidden(sharded)).toEqual(expected);
    expect(await hidden(bare)).toEqual(expected);
  });
});
