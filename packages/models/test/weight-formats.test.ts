// --weights on tiny models: bf16 keeps the checkpoint's bytes and gives the fp32 path's numbers exactly; int8/int4
// stay inside stated bounds for every architecture; the memory plan refuses before any weight is read.
import { readFile, readdir, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "../src/embedder.js";
import { loadModel } from "../src/model.js";
import { prepareWeights } from "../src/load-weights.js";
import { DecoderSession } from "../src/session/decoder.js";
import { batchFromRows } from "../src/session/batch.js";
import { createTinyModel } from "../src/tiny.js";
import { HELD_TABLE_BYTES } from "../src/session/embedding-rows.js";
import { MemoryPlanError, estimateMemory } from "../src/weight-format.js";
import type { DecoderConfig } from "../src/config.js";
import { relativeError, tempDir } from "./helpers.js";

const TEXTS = ["Hello world", "A longer sentence about embeddings, retrieval and padding on either side.", "Dream", "bidirectional attention"];

/**
 * The bounds this suite holds the formats to (tiny random models; real checkpoints have smoother weights).
 * Hidden states: largest absolute error over the largest absolute value in the batch; embeddings: the lowest cosine
 * to fp32 over the texts. int8 measured over seeds 8–10 of the four architectures: hidden ≤ 0.032 with the down
 * projection per token (≤ 0.024 with every weight on MatMulNBits), cosine ≥ 0.99977.
 */
export const INT_BOUNDS = { int8: { hidden: 0.05, cosine: 0.9995 }, int4: { hidden: 0.25, cosine: 0.97 } } as const;

let root: { dir: string; cleanup: () => Promise<void> };
let cacheDir: string;
beforeAll(async () => {
  root = await tempDir("formats");
  cacheDir = join(root.dir, "cache");
  process.env.DEMBED_CACHE = cacheDir;
});
afterAll(async () => root?.cleanup());

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
};

describe.each(["BF16", "F16"] as const)("bf16-resident on a %s checkpoint", (dtype) => {
  it("equals the fp32 path exactly, both attention modes, left and right padding, flash and masked kernels", async () => {
    const model = await loadModel(await createTinyModel("qwen2", join(root.dir, `qwen2-${dtype}`), { seed: 3, dtype }));
    const ids = [[11, 12, 13, 14, 15], [21, 22, 23, 0, 0], [0, 0, 31, 32, 33]];
    const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]];
    const batch = batchFromRows(ids, mask);
    for (const kernel of ["auto", "masked"] as const) {
      const fp32 = new DecoderSession(model, { kernel, threads: 1, weights: { format: "fp32" } });
      const bf16 = new DecoderSession(model, { kernel, threads: 1, weights: { format: "bf16" } });
      try {
        for (const attention of ["causal", "bidirectional"] as const) {
          const a = await fp32.run(batch, { attention });
          const b = await bf16.run(batch, { attention });
          expect(b.data).toEqual(a.data);
        }
      } finally {
        await fp32.release();
        await bf16.release();
      }
    }
  });
});

describe.each(["llama", "qwen2", "Dream", "qwen3"] as const)("int8 and int4 on %s", (arch) => {
  it("stay within the stated bounds of fp32 (hidden states and pooled embeddings)", async () => {
    const dir = await createTinyModel(arch, join(root.dir, `${arch}-int`), { seed: 8, dtype: "BF16" });
    const fp32 = await Embedder.load(dir, { weights: "fp32", threads: 1 });
    const reference = await fp32.encode(TEXTS);
    const rows = fp32.tokenize(TEXTS);
    const { padBatch } = await import("../src/tokenizer/index.js");
    const batch = padBatch(rows.rows, rows.profile);
    const hidden = await fp32.forward(batch);
    await fp32.dispose();
    for (const format of ["int8", "int4"] as const) {
      const quantized = await Embedder.load(dir, { weights: format, threads: 1 });
      try {
        expect(quantized.weightFormat).toBe(format);
        const err = relativeError((await quantized.forward(batch)).data, hidden.data);
        const embeddings = await quantized.encode(TEXTS);
        const worst = Math.min(...embeddings.map((e, i) => cosine(e, reference[i]!)));
        expect(err).toBeLessThan(INT_BOUNDS[format].hidden);
        expect(worst).toBeGreaterThan(INT_BOUNDS[format].cosine);
      } finally {
        await quantized.dispose();
      }
    }
  });
});

describe("quantized weights cache", () => {
  it("is written once, reused, and made again when the checkpoint changes", async () => {
    const dir = await createTinyModel("qwen2", join(root.dir, "qwen2-cache"), { seed: 2 });
    const model = await loadModel(dir);
    const cacheDir = join(root.dir, "own-cache");
    const first = await prepareWeights(model, "int4", { maxLength: 64, cacheDir });
    const folders = await readdir(join(cacheDir, "quantized"));
    const mine = folders.find((f) => f.startsWith("qwen2-int4-"))!;
    expect(await readdir(join(cacheDir, "quantized", mine))).toEqual(["manifest.json", "weights.bin"]);
    const manifest = join(cacheDir, "quantized", mine, "manifest.json");
    const written = (await stat(manifest)).mtimeMs;
    const sourceTime = async () => (JSON.parse(await readFile(manifest, "utf8")) as { sources: { mtimeMs: number }[] }).sources[0]!.mtimeMs;
    const again = await prepareWeights(model, "int4", { maxLength: 64, cacheDir });
    expect([...again.quantized!.values()][0]).toEqual([...first.quantized!.values()][0]);
    expect((await stat(manifest)).mtimeMs).toBe(written);
    const later = new Date(Date.now() + 5000);
    await utimes(join(dir, "model.safetensors"), later, later);
    await prepareWeights(model, "int4", { maxLength: 64, cacheDir });
    expect(Math.abs((await sourceTime()) - later.getTime())).toBeLessThan(1);
  });
});

describe.each(["int8", "int4"] as const)("%s layouts", (format) => {
  it("runs the down projections as int8 per token on CPU and keeps every weight on MatMulNBits for CUDA, cached apart", async () => {
    const model = await loadModel(await createTinyModel("llama", join(root.dir, `llama-layouts-${format}`), { seed: 4 }));
    const cacheDir = join(root.dir, `layout-cache-${format}`);
    const cpu = await prepareWeights(model, format, { maxLength: 64, cacheDir });
    const cuda = await prepareWeights(model, format, { maxLength: 64, cacheDir, device: "cuda" });
    const bits = format === "int8" ? 8 : 4;
    const kinds = (q: typeof cpu.quantized) => [...q!].map(([name, l]) => `${name.replace(/^model\.layers\.\d+\./, "")}:${l.kind}:${l.bits}`);
    const blocks = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj"].map((m) => `${m}.weight:blocks:${bits}`);
    expect(new Set(kinds(cpu.quantized))).toEqual(new Set([...blocks, "mlp.down_proj.weight:channels:8"]));
    expect(new Set(kinds(cuda.quantized))).toEqual(new Set([...blocks, `mlp.down_proj.weight:blocks:${bits}`]));
    expect((await readdir(join(cacheDir, "quantized"))).filter((f) => f.startsWith(`llama-${format}-`))).toHaveLength(2);
  });
});

describe("quantized weights cache, unwritable", () => {
  it("says which folder it cannot write and what to set", async () => {
    const dir = await createTinyModel("qwen2", join(root.dir, "qwen2-ro"), { seed: 2 });
    const model = await loadModel(dir);
    const cacheDir = join(dir, "config.json", "cache"); // under a file: mkdir fails
    await expect(prepareWeights(model, "int8", { maxLength: 64, cacheDir })).rejects.toThrow(
      /^cannot write the quantized weights cache .*config\.json\/cache\/quantized\/qwen2-int8-[0-9a-f]+ \(ENOTDIR\); set DEMBED_CACHE to a writable folder$/,
    );
  });
});

describe("memory plan", () => {
  it("refuses in one line, before any weight is read, naming the need, what is free and what would fit", async () => {
    const dir = await createTinyModel("qwen2", join(root.dir, "qwen2-plan"), { seed: 2, dtype: "BF16" });
    const model = await loadModel(dir);
    const need = (format: "fp32" | "int8") => prepareWeights(model, format, { maxLength: 64, availableBytes: Number.POSITIVE_INFINITY });
    const fp32 = (await need("fp32")).plan.estimate.total;
    const int8 = (await need("int8")).plan.estimate.total;
    const budget = Math.floor((fp32 + int8) / 2);
    const error = await Embedder.load(dir, { weights: "fp32", memoryBytes: budget, maxLength: 64 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(MemoryPlanError);
    expect((error as Error).message).toMatch(/^qwen2-plan needs ≈ [\d.]+ GiB at --weights fp32 \([\d.]+ GiB free\); --weights (bf16|int8|int4) needs ≈ [\d.]+ GiB$/);
    const notices: string[] = [];
    const auto = await Embedder.load(dir, { weights: "auto", memoryBytes: budget, maxLength: 64, threads: 1, onNotice: (m) => notices.push(m) });
    await auto.dispose();
    expect(auto.weightFormat).not.toBe("fp32");
    // Quantizing is the first read of a weight: a refused int8 plan leaves no quantized copy behind.
    process.env.DEMBED_CACHE = join(root.dir, "plan-cache");
    await expect(Embedder.load(dir, { weights: "int8", memoryBytes: 1 })).rejects.toThrow(/^qwen2-plan needs ≈ [\d.]+ GiB at --weights int8 \(0\.00 GiB free\); no --weights format fits$/);
    expect(await readdir(join(root.dir, "plan-cache", "quantized")).catch(() => [])).toEqual([]);
    process.env.DEMBED_CACHE = cacheDir;
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^--weights auto: ${auto.weightFormat}, ≈ [\\d.]+ GiB of [\\d.]+ GiB free \\(fp32 needs ≈ [\\d.]+ GiB`))]);
  });

  it("counts the embedding table only where the process holds it", () => {
    // Rows read outside ORT come through the page cache into the activations; ORT's Gather maps the table whole.
    const config = (vocabSize: number) => ({ hiddenSize: 3584, intermediateSize: 18944, numLayers: 2, numHeads: 28, numKvHeads: 4, headDim: 128, vocabSize }) as DecoderConfig;
    const plan = (vocabSize: number, embeddings: "gather" | "input") => estimateMemory("int4", { config: config(vocabSize), storedBytes: 2, batch: 2, length: 512, embeddings });
    const bigTable = 152064 * 3584 * 2;
    expect(bigTable).toBeGreaterThan(HELD_TABLE_BYTES);
    expect(plan(152064, "gather").weights - plan(152064, "input").weights).toBe(bigTable);
    expect(plan(152064, "input").activations - plan(152064, "gather").activations).toBe(2 * 512 * 3584 * 4);
    // A table small enough to be read once is kept whole, so it counts either way.
    const smallVocab = Math.floor(HELD_TABLE_BYTES / (3584 * 2));
    expect(plan(smallVocab, "input").weights).toBe(plan(smallVocab, "gather").weights);
  });

  it("lowers a batch that would not fit, and says so", async () => {
    const dir = await createTinyModel("qwen2", join(root.dir, "qwen2-batch"), { seed: 2 });
    const notices: string[] = [];
    const probe = await prepareWeights(await loadModel(dir), "fp32", { maxLength: 512, embeddings: "input", availableBytes: Number.POSITIVE_INFINITY });
    // Room for the weights and about one row's activations.
    const embedder = await Embedder.load(dir, { weights: "fp32", memoryBytes: probe.plan.estimate.total + 1, threads: 1, onNotice: (m) => notices.push(m) });
    try {
      const texts = Array.from({ length: 8 }, (_, i) => `${"word ".repeat(200)} ${i}`);
      const lowered = await embedder.encode(texts, { batchSize: 8 });
      expect(notices.some((n) => /^batch size 8 → [1-4]: 8 × \d+ tokens would not fit/.test(n))).toBe(true);
      const whole = await (await Embedder.load(dir, { weights: "fp32", threads: 1 })).encode(texts, { batchSize: 8 });
      lowered.forEach((e, i) => expect(relativeError(e, whole[i]!)).toBeLessThan(1e-5));
    } finally {
      await embedder.dispose();
    }
  });

  it("refuses --weights bf16 on an F32 checkpoint and an unknown format, in words", async () => {
    const dir = await createTinyModel("qwen2", join(root.dir, "qwen2-f32"), { seed: 2 });
    await expect(Embedder.load(dir, { weights: "bf16" })).rejects.toThrow(/--weights bf16 keeps a BF16 or F16 checkpoint's weights as stored; .* stores F32/);
    const { parseWeightChoice } = await import("../src/weight-format.js");
    expect(() => parseWeightChoice("int3")).toThrow('--weights: "int3" is not a weight format; expected one of auto, fp32, bf16, int8, int4');
  });
});
