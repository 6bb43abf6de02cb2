// The exported folder works in another ONNX client: transformers.js's feature-extraction pipeline, offline, gives
// the Embedder's embeddings. Mean pooling on purpose: transformers.js's last_token pooling ignores the mask (wrong
// with right padding, which its tokenizer uses), and Llama's BOS is pooled there but not by llm2vec-style embed masks,
// so the check uses the two Qwen-tokenizer architectures.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { env, pipeline } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "../src/embedder.js";
import { exportModel } from "../src/export.js";
import { createTinyModel } from "../src/tiny.js";
import { relativeError, tempDir } from "./helpers.js";

const TEXTS = ["Hello world", "A longer sentence about embeddings, retrieval and padding on the right.", "Dream"];

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("export");
  env.allowRemoteModels = false;
});
afterAll(async () => root?.cleanup());

describe.each([["qwen2", "causal"], ["Dream", "bidirectional"]] as const)("export %s", (arch, attention) => {
  it(`writes a folder transformers.js runs offline with the Embedder's ${attention} embeddings`, async () => {
    const source = await createTinyModel(arch, join(root.dir, `${arch}-src`), { seed: 5 });
    const out = join(root.dir, `${arch}-onnx`);
    const exported = await exportModel(source, out);
    expect(exported.attention).toBe(attention);
    for (const f of ["onnx/model.onnx", "onnx/model.onnx_data", "config.json", "tokenizer.json", "tokenizer_config.json"]) await access(join(out, f));

    const extractor = await pipeline("feature-extraction", out, { local_files_only: true, dtype: "fp32" });
    const theirs = await extractor(TEXTS, { pooling: "mean", normalize: true });
    const embedder = await Embedder.load(source, { pooling: "mean", threads: 1 });
    try {
      const ours = await embedder.encode(TEXTS, { normalize: true });
      const h = embedder.dimension;
      expect(theirs.dims).toEqual([TEXTS.length, h]);
      ours.forEach((row, i) => expect(relativeError((theirs.data as Float32Array).subarray(i * h, (i + 1) * h), row)).toBeLessThan(1e-5));
    } finally {
      await embedder.dispose();
      await extractor.dispose();
    }
  });
});
