// ONNX hidden states vs the independent float64 reference, for every architecture, both attention modes, left and
// right padding, and every kernel; plus the invariances the issue asks to be shown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttentionMode } from "../src/config.js";
import type { LoadedModel } from "../src/model.js";
import { referenceForward, type ReferenceWeights } from "../src/reference.js";
import { batchFromRows } from "../src/session/batch.js";
import { DecoderSession, type KernelChoice } from "../src/session/decoder.js";
import type { TinyArchitecture } from "../src/tiny.js";
import { paddedRows, realTokenStates, referenceWeights, relativeError, tempDir, tinyModel } from "./helpers.js";

const BOUND = 1e-4;
const ROWS = [
  [791, 4, 3011, 88, 1205, 17, 9, 4410],
  [64, 2500, 12, 7],
  [5, 1999, 333, 42, 61],
];
const WIDTH = 8;

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("forward");
});
afterAll(async () => root?.cleanup());

// llama is stored in BF16 so the in-graph cast is checked against the reference reading the same bf16 values.
const CASES: [TinyArchitecture, "F32" | "BF16"][] = [["qwen2", "F32"], ["Dream", "F32"], ["llama", "BF16"], ["qwen3", "F32"]];

describe.each(CASES)("%s (%s weights)", (arch, dtype) => {
  let model: LoadedModel;
  let weights: ReferenceWeights;
  const sessions = new Map<KernelChoice, DecoderSession>();
  const session = (kernel: KernelChoice) => {
    let s = sessions.get(kernel);
    if (!s) sessions.set(kernel, (s = new DecoderSession(model, { kernel, threads: 1 })));
    return s;
  };
  beforeAll(async () => {
    // A small vocab keeps the float64 copy of the embedding table cheap; ids above stay below it.
    model = await tinyModel(arch, root.dir, { dtype, config: { vocab_size: 8192 } });
    weights = await referenceWeights(model);
  });
  afterAll(async () => {
    for (const s of sessions.values()) await s.release();
  });

  const hidden = () => model.spec.config.hiddenSize;

  it.each([
    ["masked", "causal"],
    ["masked", "bidirectional"],
    ["auto", "causal"],
    ["auto", "bidirectional"],
  ] as [KernelChoice, AttentionMode][])("matches the float64 reference: %s kernel, %s, left and right padding", async (kernel, mode) => {
    const perSide = new Map<string, Float32Array>();
    for (const side of ["left", "right"] as const) {
      const rows = paddedRows(ROWS, WIDTH, side);
      const out = await session(kernel).run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: mode });
      expect(out.dims).toEqual([3, WIDTH, hidden()]);
      expect(out.data.every(Number.isFinite)).toBe(true);
      const ref = referenceForward(model.spec, weights, rows, mode);
      expect(relativeError(out.data, ref)).toBeLessThan(BOUND);
      perSide.set(side, out.data);
    }
    // Padding side changes nothing in real tokens.
    const left = paddedRows(ROWS, WIDTH, "left").attentionMask;
    const right = paddedRows(ROWS, WIDTH, "right").attentionMask;
    for (let r = 0; r < ROWS.length; r++) {
      const a = realTokenStates(perSide.get("left")!, left, r, hidden());
      const b = realTokenStates(perSide.get("right")!, right, r, hidden());
      expect(relativeError(a, b)).toBeLessThan(1e-5);
    }
  });

  it("gives a row the same outputs alone as inside a padded batch", async () => {
    const rows = paddedRows(ROWS, WIDTH, "left");
    const batched = await session("masked").run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: "bidirectional" });
    const alone = await session("masked").run(batchFromRows([ROWS[1]!], [ROWS[1]!.map(() => 1)]), { attention: "bidirectional" });
    expect(relativeError(realTokenStates(batched.data, rows.attentionMask, 1, hidden()), alone.data)).toBeLessThan(1e-5);
  });

  it("differs between causal and bidirectional, and causal position t ignores later tokens", async () => {
    const ids = [ROWS[0]!];
    const mask = [ROWS[0]!.map(() => 1)];
    const causal = await session("masked").run(batchFromRows(ids, mask), { attention: "causal" });
    const bidirectional = await session("masked").run(batchFromRows(ids, mask), { attention: "bidirectional" });
    expect(relativeError(causal.data, bidirectional.data)).toBeGreaterThan(1e-2);

    const changedIds = [[...ROWS[0]!.slice(0, 5), 1, 2, 3]];
    const changed = await session("masked").run(batchFromRows(changedIds, mask), { attention: "causal" });
    const h = hidden();
    expect(relativeError(changed.data.subarray(0, 5 * h), causal.data.subarray(0, 5 * h))).toBeLessThan(1e-6);
    expect(relativeError(changed.data.subarray(5 * h), causal.data.subarray(5 * h))).toBeGreaterThan(1e-2);
    // Bidirectional position 0 does see the change.
    const changedBi = await session("masked").run(batchFromRows(changedIds, mask), { attention: "bidirectional" });
    expect(relativeError(changedBi.data.subarray(0, h), bidirectional.data.subarray(0, h))).toBeGreaterThan(1e-3);
  });
});

describe("primitive (training) kernel and fp16 compute", () => {
  it("matches the reference in both modes with left padding", async () => {
    const model = await tinyModel("qwen2", root.dir, { config: { vocab_size: 8192 } });
    const weights = await referenceWeights(model);
    const session = new DecoderSession(model, { kernel: "primitive", threads: 1 });
    try {
      const rows = paddedRows(ROWS, WIDTH, "left");
      for (const mode of ["causal", "bidirectional"] as const) {
        const out = await session.run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: mode });
        expect(relativeError(out.data, referenceForward(model.spec, weights, rows, mode))).toBeLessThan(BOUND);
      }
    } finally {
      await session.release();
    }
  });

  it("computes in float16 on CPU within fp16 precision, and refuses bf16 compute without CUDA", async () => {
    const model = await tinyModel("qwen2", root.dir, { config: { vocab_size: 8192 } });
    const weights = await referenceWeights(model);
    const session = new DecoderSession(model, { computeDtype: "float16", threads: 1 });
    try {
      const rows = paddedRows(ROWS, WIDTH, "right");
      const out = await session.run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: "causal" });
      const error = relativeError(out.data, referenceForward(model.spec, weights, rows, "causal"));
      expect(error).toBeLessThan(1e-2);
      expect(error).toBeGreaterThan(1e-5); // it really ran in half precision
    } finally {
      await session.release();
    }
    expect(() => new DecoderSession(model, { computeDtype: "bfloat16" })).toThrow(/bfloat16 compute needs device "cuda"/);
  });
});
