// The Embedder's training-facing settings: pooling the instruction too, a prompt template, a per-call token limit.
import { pool, rows } from "@dembed/pooling";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "../src/embedder.js";
import { createTinyModel } from "../src/tiny.js";
import { padBatch } from "../src/tokenizer/encode.js";
import { tempDir } from "./helpers.js";

const TEXTS = ["The grass is green.", "A longer passage about diffusion language models used as text embedders."];
const INSTRUCTION = "Retrieve text based on user query:";

let root: { dir: string; cleanup: () => Promise<void> };
let dir: string;
let textOnly: Embedder;
let everything: Embedder;
beforeAll(async () => {
  root = await tempDir("embedder-settings");
  dir = await createTinyModel("llama", `${root.dir}/llama`, { seed: 4 });
  textOnly = await Embedder.load(dir, { maxLength: 64, threads: 1, attention: "bidirectional" });
  everything = await Embedder.load(dir, { maxLength: 64, threads: 1, attention: "bidirectional", skipInstruction: false, tokenizer: textOnly.tokenizer });
});
afterAll(async () => {
  await Promise.all([textOnly?.dispose(), everything?.dispose()]);
  await root?.cleanup();
});

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe("Embedder settings", () => {
  it("skipInstruction: false pools every real token (BOS and instruction too), as pooling without an embed mask does", async () => {
    expect([textOnly.skipInstruction, everything.skipInstruction]).toEqual([true, false]);
    const encoded = textOnly.tokenize(TEXTS, INSTRUCTION);
    const batch = padBatch(encoded.rows, encoded.profile);
    const hidden = await textOnly.forward(batch);
    const expected = rows(pool(hidden, { data: batch.attentionMask, dims: batch.dims }, { mode: "mean", normalize: true }));
    const got = await everything.encode(TEXTS, { instruction: INSTRUCTION, batchSize: 2 });
    const skipped = await textOnly.encode(TEXTS, { instruction: INSTRUCTION, batchSize: 2 });
    TEXTS.forEach((_, i) => {
      expect(maxAbsDiff(got[i]!, expected[i]!)).toBeLessThan(1e-6);
      expect(maxAbsDiff(skipped[i]!, expected[i]!)).toBeGreaterThan(1e-3);
    });
    // Without an instruction the two differ only by BOS (Llama 3 prepends one, never pooled with skipInstruction).
    const [a, b] = [await everything.encode(TEXTS), await textOnly.encode(TEXTS)];
    expect(maxAbsDiff(a[0]!, b[0]!)).toBeGreaterThan(1e-4);
  });

  it("wraps inputs in the prompt template, and rejects one without {input}", async () => {
    const templated = await Embedder.load(dir, { maxLength: 64, threads: 1, promptTemplate: "Passage: {input}", tokenizer: textOnly.tokenizer });
    try {
      expect(templated.profile.template).toEqual({ prefix: "Passage: ", suffix: "" });
      const ids = templated.tokenize(["hello"]).rows[0]!.ids;
      expect(templated.tokenizer.decode(ids)).toBe("<|begin_of_text|>Passage: hello");
      const [plain, wrapped] = [await textOnly.encode(["hello"]), await templated.encode(["hello"])];
      expect(maxAbsDiff(plain[0]!, wrapped[0]!)).toBeGreaterThan(1e-4);
    } finally {
      await templated.dispose();
    }
    await expect(Embedder.load(dir, { promptTemplate: "Passage:", tokenizer: textOnly.tokenizer })).rejects.toThrow(/must contain \{input\} exactly once/);
  });

  it("takes a per-call maxLength, counting what it cuts", async () => {
    const long = await textOnly.encodeDetailed(TEXTS, { maxLength: 5 });
    expect(long.truncatedIndices).toEqual([0, 1]);
    const whole = await textOnly.encodeDetailed(TEXTS);
    expect(whole.truncated).toBe(0);
    expect(maxAbsDiff(long.embeddings[1]!, whole.embeddings[1]!)).toBeGreaterThan(1e-4);
  });
});
