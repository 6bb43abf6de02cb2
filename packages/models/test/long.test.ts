// Long inputs go through the O(T)-memory kernels: a padded batch of 8k-token rows must not hold a [B, heads, T, T]
// score tensor (2 GiB here). The speed benchmark runs the 32k case on a full-size model; this keeps the test short.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../src/model.js";
import { referenceForward } from "../src/reference.js";
import { DecoderSession } from "../src/session/decoder.js";
import { referenceWeights, relativeError, tempDir, tinyModel } from "./helpers.js";

const T = 8192;
const SHORT = 5000;
const MIB = 1024 * 1024;

let root: { dir: string; cleanup: () => Promise<void> };
let model: LoadedModel;
let session: DecoderSession;
beforeAll(async () => {
  root = await tempDir("long");
  model = await tinyModel("qwen2", root.dir, { config: { vocab_size: 8192 } });
  session = new DecoderSession(model, { kernel: "auto" });
});
afterAll(async () => {
  await session?.release();
  await root?.cleanup();
});

/** Row 0: T tokens; row 1: SHORT tokens, left-padded. */
function batch() {
  const token = (i: number) => BigInt((i * 7919 + 13) % 8000);
  const inputIds = new BigInt64Array(2 * T);
  const attentionMask = new BigInt64Array(2 * T);
  for (let i = 0; i < T; i++) {
    inputIds[i] = token(i);
    attentionMask[i] = 1n;
  }
  for (let i = 0; i < SHORT; i++) {
    inputIds[T + (T - SHORT) + i] = token(i + 100);
    attentionMask[T + (T - SHORT) + i] = 1n;
  }
  return { dims: [2, T] as const, inputIds, attentionMask };
}

describe("long inputs", () => {
  it.each(["causal", "bidirectional"] as const)("%s: a padded 2×8192 batch runs without a T×T score tensor", async (mode) => {
    const input = batch();
    const rssBefore = process.memoryUsage().rss;
    const out = await session.run(input, { attention: mode });
    const growth = process.resourceUsage().maxRSS * 1024 - rssBefore;
    expect(growth).toBeLessThan(768 * MIB);
    expect(out.data.every(Number.isFinite)).toBe(true);
    const h = model.spec.config.hiddenSize;
    // Padded positions are zero; real ones are not.
    expect(out.data.subarray(T * h, (2 * T - SHORT) * h).every((x) => x === 0)).toBe(true);
    expect(out.data.subarray((2 * T - SHORT) * h).some((x) => x !== 0)).toBe(true);

    if (mode === "causal") {
      // Causal position t depends only on tokens ≤ t, so the first 12 positions of each row can be checked exactly.
      const weights = await referenceWeights(model);
      const heads = [Number(0), T - SHORT].map((start, row) => Array.from(input.inputIds.subarray(row * T + start, row * T + start + 12), Number));
      const ref = referenceForward(model.spec, weights, { inputIds: heads, attentionMask: heads.map((r) => r.map(() => 1)) }, "causal");
      const got = [0, T - SHORT].flatMap((start, row) => Array.from(out.data.subarray((row * T + start) * h, (row * T + start + 12) * h)));
      expect(relativeError(got, ref)).toBeLessThan(1e-4);
    }
  });
});
