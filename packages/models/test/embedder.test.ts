import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "../src/embedder.js";
import { referenceForward } from "../src/reference.js";
import { createTinyModel } from "../src/tiny.js";
import { referenceWeights, relativeError, tempDir } from "./helpers.js";

const TEXTS = [
  "The grass is green.",
  "A much longer passage about diffusion language models used as text embedders, with bidirectional attention.",
  "Short.",
  "What is the pass key for Alice?",
  "Qwen and Dream share one tokenizer.",
];
const INSTRUCTION = "Retrieve text based on user query:";

let root: { dir: string; cleanup: () => Promise<void> };
let dir: string;
let embedder: Embedder;
beforeAll(async () => {
  root = await tempDir("embedder");
  dir = await createTinyModel("Dream", `${root.dir}/dream`, { seed: 3 });
  embedder = await Embedder.load(dir, { maxLength: 64, threads: 1 });
});
afterAll(async () => {
  await embedder?.dispose();
  await root?.cleanup();
});

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("Embedder", () => {
  it("uses the architecture's default attention (Dream: bidirectional)", () => {
    expect(embedder.attention).toBe("bidirectional");
    expect(embedder.dimension).toBe(64);
  });

  it("returns rows in input order, the same whatever the batching and padding", async () => {
    const batched = await embedder.encode(TEXTS, { instruction: INSTRUCTION, batchSize: 3 });
    expect(batched).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      const [alone] = await embedder.encode([TEXTS[i]!], { instruction: INSTRUCTION, batchSize: 1 });
      expect(relativeError(batched[i]!, alone!)).toBeLessThan(1e-5);
      expect(norm(batched[i]!)).toBeCloseTo(1, 5);
    }
    expect(relativeError(batched[0]!, batched[2]!)).toBeGreaterThan(1e-2);
  });

  it("mean-pools only the text's tokens, as the float64 reference does", async () => {
    const [embedding] = await embedder.encode([TEXTS[3]!], { instruction: INSTRUCTION, normalize: false });
    const { rows } = embedder.tokenize([TEXTS[3]!], INSTRUCTION);
    const row = rows[0]!;
    expect(row.textStart).toBeGreaterThan(3); // the instruction's tokens come first and are not pooled
    const ref = referenceForward(embedder.model.spec, await referenceWeights(embedder.model), { inputIds: [[...row.ids]], attentionMask: [row.ids.map(() => 1)] }, "bidirectional");
    const h = embedder.dimension;
    const expected = new Float64Array(h);
    for (let t = row.textStart; t < row.ids.length; t++) for (let k = 0; k < h; k++) expected[k]! += ref[t * h + k]! / (row.ids.length - row.textStart);
    expect(relativeError(embedding!, expected)).toBeLessThan(1e-4);
    expect(norm(embedding!)).not.toBeCloseTo(1, 2);
  });

  it("counts truncated inputs", async () => {
    const short = await Embedder.load(dir, { maxLength: 8, threads: 1, pooling: "last_token", tokenizer: embedder.tokenizer });
    try {
      const started = performance.now();
      const result = await short.encodeDetailed(TEXTS, { batchSize: 2 });
      const wall = (performance.now() - started) / 1000;
      // Budget: 8 tokens minus the appended EOS.
      const expected = TEXTS.flatMap((t, i) => (short.tokenizer.encode(t).length > 7 ? [i] : []));
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(TEXTS.length);
      expect(result.truncatedIndices).toEqual(expected);
      expect(result.truncated).toBe(expected.length);
      // Where the call's time went: each step took some time, and together no more than the whole call.
      expect(result.seconds.tokenize).toBeGreaterThan(0);
      expect(result.seconds.model).toBeGreaterThan(0);
      expect(result.seconds.pooling).toBeGreaterThan(0);
      expect(result.seconds.tokenize + result.seconds.model + result.seconds.pooling).toBeLessThanOrEqual(wall);
      // last_token pooling appends the EOS after truncation, so it is always there to pool.
      const { rows, profile } = short.tokenize(TEXTS);
      expect(rows.every((r) => r.ids.at(-1) === profile.eosId && r.ids.length <= 8)).toBe(true);
    } finally {
      await short.dispose();
    }
  });

  it("rejects empty texts and reports progress", async () => {
    await expect(embedder.encode(["fine", ""])).rejects.toThrow(/text 1 is empty/);
    expect(await embedder.encode([])).toEqual([]);
    const seen: [number, number][] = [];
    await embedder.encode(TEXTS, { batchSize: 2, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([[2, 5], [4, 5], [5, 5]]);
  });

  it("takes rows tokenized ahead and gives the vectors it gives when it tokenizes itself", async () => {
    const options = { instruction: INSTRUCTION, batchSize: 2 };
    const itself = await embedder.encodeDetailed(TEXTS, options);
    const given = await embedder.encodeDetailed(TEXTS, { ...options, tokenized: embedder.tokenize(TEXTS, INSTRUCTION) });
    expect(given.embeddings).toEqual(itself.embeddings);
    const rows = embedder.tokenize(TEXTS.slice(1), INSTRUCTION);
    await expect(embedder.encodeDetailed(TEXTS, { ...options, tokenized: rows })).rejects.toThrow(/4 tokenized rows given for 5 inputs/);
  });

  it("with ORT in a worker thread, starts opening the session while loading the tokenizer; vectors unchanged", async () => {
    const notices: string[] = [];
    const early = await Embedder.load(dir, { maxLength: 64, threads: 1, worker: true, onNotice: (m) => notices.push(m), tokenizer: embedder.tokenizer });
    try {
      expect(notices.some((m) => /^loading 2 layers into ONNX Runtime \(flash:bidirectional/.test(m))).toBe(true); // before any encode
      expect(await early.encode(TEXTS, { instruction: INSTRUCTION })).toEqual(await embedder.encode(TEXTS, { instruction: INSTRUCTION }));
      expect(notices.filter((m) => /^loading/.test(m))).toHaveLength(1); // encode used the session opened at load
    } finally {
      await early.dispose();
    }
    const lazy: string[] = [];
    const onFirstEncode = await Embedder.load(dir, { maxLength: 64, threads: 1, onNotice: (m) => lazy.push(m), tokenizer: embedder.tokenizer });
    expect(lazy.some((m) => /^loading/.test(m))).toBe(false);
    await onFirstEncode.dispose();
  });
});
