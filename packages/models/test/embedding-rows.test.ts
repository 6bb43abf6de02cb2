// Embedding rows gathered outside ORT (the default for float32 compute) give the in-graph Gather's hidden states bit
// for bit, read the rows the table stores, and fail on a short file or a bad id with the file and the row named.
import { copyFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDecoderGraph } from "../src/graph/build.js";
import { batchFromRows } from "../src/session/batch.js";
import { DecoderSession } from "../src/session/decoder.js";
import { EmbeddingRows, HELD_TABLE_BYTES } from "../src/session/embedding-rows.js";
import { readParameter } from "../src/weights.js";
import { paddedRows, tempDir, tinyModel } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => (root = await tempDir("embedding-rows")));
afterAll(async () => root?.cleanup());

describe.each(["F32", "F16", "BF16"] as const)("EmbeddingRows on a %s table", (dtype) => {
  it.each([["held whole", HELD_TABLE_BYTES], ["read by row", 0]] as const)("returns the stored rows, repeated ids included (%s)", async (_, held) => {
    const model = await tinyModel("Dream", root.dir, { dtype });
    const name = `${model.spec.modules.embed}.weight`;
    const table = await readParameter(model.weights, name);
    const hidden = model.spec.config.hiddenSize;
    const ids = BigInt64Array.of(5n, 0n, 5n, BigInt(model.spec.config.vocabSize - 1), 17n);
    const rows = await new EmbeddingRows(model.weights, held).gather(ids);
    expect(rows.length).toBe(ids.length * hidden);
    ids.forEach((id, i) => expect(Array.from(rows.subarray(i * hidden, (i + 1) * hidden))).toEqual(Array.from(table.subarray(Number(id) * hidden, (Number(id) + 1) * hidden))));
  });

  it("gives the in-graph Gather's hidden states exactly, both modes, left and right padding", async () => {
    const model = await tinyModel("qwen2", root.dir, { dtype });
    const host = new DecoderSession(model, { threads: 1 });
    const graph = new DecoderSession(model, { threads: 1, embeddings: "gather" });
    try {
      for (const attention of ["causal", "bidirectional"] as const) {
        for (const side of ["left", "right"] as const) {
          const { inputIds, attentionMask } = paddedRows([[3, 9, 27, 81, 243], [7, 7, 1]], 6, side);
          const batch = batchFromRows(inputIds, attentionMask);
          const a = await host.run(batch, { attention });
          const b = await graph.run(batch, { attention });
          expect(a.data).toEqual(b.data);
        }
      }
    } finally {
      await Promise.all([host.release(), graph.release()]);
    }
  });
});

describe("the graph with embeddings as input", () => {
  it("holds no embedding table", async () => {
    const model = await tinyModel("llama", root.dir);
    const embed = `${model.spec.modules.embed}.weight`;
    expect(buildDecoderGraph(model.weights, { kernel: "flash", attention: "causal" }).graph.initializers.has(embed)).toBe(true);
    const built = buildDecoderGraph(model.weights, { kernel: "flash", attention: "causal", embeddings: "input" });
    expect(built.graph.initializers.has(embed)).toBe(false);
    expect(built.tokens.name).toBe("inputs_embeds");
  });
});

describe("bad input", () => {
  // A table held whole is read by the checkpoint reader, which checks sizes itself (read.test).
  it("names the file and the row when the table's file is cut short, and refuses an id outside the table", async () => {
    const model = await tinyModel("Dream", root.dir, { dtype: "BF16" });
    const entry = model.weights.tensors.get(`${model.spec.modules.embed}.weight`)!;
    const copy = join(root.dir, "short.safetensors");
    await copyFile(entry.path, copy);
    const rowBytes = model.spec.config.hiddenSize * 2;
    await truncate(copy, entry.dataOffset + 10 * rowBytes + 3); // rows 0–9 whole, row 10 cut
    const name = entry.name.replace(/\./g, "\\.");
    const tensors = new Map(model.weights.tensors).set(`${model.spec.modules.embed}.weight`, { ...entry, path: copy });
    const byRow = new EmbeddingRows({ ...model.weights, tensors }, 0);
    expect((await byRow.gather(BigInt64Array.of(9n))).length).toBe(model.spec.config.hiddenSize);
    await expect(byRow.gather(BigInt64Array.of(10n))).rejects.toThrow(new RegExp(`short\\.safetensors: row 10 of '${name}' ends after 3 of its ${rowBytes} bytes`));
    await expect(byRow.gather(BigInt64Array.of(BigInt(model.spec.config.vocabSize)))).rejects.toThrow(/token id \d+ is outside/);
  });
});
