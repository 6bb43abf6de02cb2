// The exported folder works in another ONNX client: transformers.js's feature-extraction pipeline, offline, gives
// the Embedder's embeddings. Mean pooling on purpose: transformers.js's last_token pooling ignores the mask (wrong
// with right padding, which its tokenizer uses), and Llama's BOS is pooled there but not by llm2vec-style embed masks,
// so the check uses the two Qwen-tokenizer architectures.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { AutoModel, AutoTokenizer, env, pipeline } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "../src/embedder.js";
import { exportModel } from "../src/export.js";
import { padBatch } from "../src/tokenizer/index.js";
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

// Every architecture, Llama 3 (whose tokenizer.json adds no BOS by itself) included: a client reading only the exported
// folder gets dembed's token ids, and the graph gives dembed's hidden states for them at every position.
describe.each(["llama", "qwen2", "Dream", "qwen3"] as const)("export %s tokenizer", (arch) => {
  it("gives other clients dembed's token ids and hidden states", async () => {
    const source = await createTinyModel(arch, join(root.dir, `${arch}-tok-src`), { seed: 9 });
    const out = join(root.dir, `${arch}-tok-onnx`);
    await exportModel(source, out);
    const tokenizer = await AutoTokenizer.from_pretrained(out, { local_files_only: true });
    const model = await AutoModel.from_pretrained(out, { local_files_only: true, dtype: "fp32" });
    // The text alone: the profile's BOS/EOS but not its prompt template, which is text a caller chooses.
    const embedder = await Embedder.load(source, { pooling: "mean", threads: 1, promptTemplate: "{input}" });
    try {
      for (const text of TEXTS) {
        const rows = embedder.tokenize([text]);
        const ours = [...rows.rows[0]!.ids];
        const theirIds = tokenizer(text);
        expect(Array.from(theirIds.input_ids.data as BigInt64Array, Number)).toEqual(ours);
        const hidden = await embedder.forward(padBatch([rows.rows[0]!], rows.profile));
        const theirs = (await model(theirIds)).last_hidden_state;
        expect(theirs.dims).toEqual([1, ours.length, embedder.dimension]);
        expect(relativeError(theirs.data as Float32Array, hidden.data)).toBeLessThan(1e-5);
      }
    } finally {
      await embedder.dispose();
      await model.dispose();
    }
  });
});

describe.each(["int4", "int8"] as const)("export --weights %s", (format) => {
  // int8 also carries the per-token down projections (MatMulIntegerToFloat).
  it("writes quantized weights that transformers.js runs with dembed's embeddings at that format", async () => {
    process.env.DEMBED_CACHE = join(root.dir, "cache");
    const source = await createTinyModel("qwen2", join(root.dir, `${format}-src`), { seed: 6, dtype: "BF16" });
    const out = join(root.dir, `${format}-onnx`);
    const exported = await exportModel(source, out, { weights: format });
    expect(exported.weights).toBe(format);
    const extractor = await pipeline("feature-extraction", out, { local_files_only: true, dtype: "fp32" });
    const theirs = await extractor(TEXTS, { pooling: "mean", normalize: true });
    const embedder = await Embedder.load(source, { pooling: "mean", threads: 1, weights: format });
    try {
      const ours = await embedder.encode(TEXTS, { normalize: true });
      const h = embedder.dimension;
      ours.forEach((row, i) => expect(relativeError((theirs.data as Float32Array).subarray(i * h, (i + 1) * h), row)).toBeLessThan(1e-4));
    } finally {
      await embedder.dispose();
      await extractor.dispose();
    }
  });
});
