import { HardNegativeNLL, RepLlama } from "@dembed/losses";
import { describe, expect, it } from "vitest";
import { ToyEncoder, toyPairs } from "../test/toy-encoder.js";
import { chunkByRole, layOutBatch } from "./batch-layout.js";
import { chunkItems, gradCacheStep, type ChunkEncoder } from "./gradcache.js";
import type { NamedTensors } from "./tensors.js";

const { queries, docs } = toyPairs(6, 5, 1);
const examples = queries.map((q, i) => ({
  query: q,
  positive: docs[i] as Float32Array,
  negatives: [docs[(i + 1) % docs.length] as Float32Array],
  positiveKey: `d${i}`,
  negativeKeys: [`d${(i + 1) % docs.length}`],
}));

async function run(encoder: ChunkEncoder<Float32Array[]>, chunkSize: number, lossKind: "nll" | "rep" = "nll") {
  const batch = layOutBatch(examples, lossKind === "nll" ? new HardNegativeNLL({ scale: 5 }) : new RepLlama({ inBatchNegatives: true }));
  const chunks = chunkByRole(batch.texts, chunkSize).map((c) => c.map((t) => t.text));
  return gradCacheStep({ chunks, chunkSizes: chunks.map((c) => c.length), encoder, loss: batch.loss, seeds: chunks.map((_, i) => 1000 + i) });
}

function maxAbsDiff(a: NamedTensors, b: NamedTensors): number {
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = a[name] as Float32Array;
    const y = b[name] as Float32Array;
    for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs((x[k] as number) - (y[k] as number)));
  }
  return worst;
}

/** Central differences of the batch loss w.r.t. every parameter, with pass 1 evaluated as gradCacheStep does. */
async function numericGrads(encoder: ToyEncoder, chunkSize: number, h = 1e-3): Promise<NamedTensors> {
  const out: NamedTensors = {};
  for (const [name, p] of Object.entries(encoder.params)) {
    const g = new Float32Array(p.length);
    for (let k = 0; k < p.length; k++) {
      const orig = p[k] as number;
      p[k] = orig + h;
      const plus = (await run(encoder, chunkSize)).loss;
      p[k] = orig - h;
      const minus = (await run(encoder, chunkSize)).loss;
      p[k] = orig;
      g[k] = (plus - minus) / (2 * h);
    }
    out[name] = g;
  }
  return out;
}

describe("gradCacheStep", () => {
  it("gives the same loss and gradients for every chunk size as one un-chunked pass", async () => {
    const encoder = new ToyEncoder(5, 4, 3);
    for (const kind of ["nll", "rep"] as const) {
      const whole = await run(encoder, 1000, kind);
      for (const size of [1, 2, 4, 5]) {
        const chunked = await run(encoder, size, kind);
        expect(chunked.loss).toBeCloseTo(whole.loss, 10);
        expect(maxAbsDiff(chunked.grads, whole.grads)).toBeLessThan(1e-6);
      }
    }
  });

  it("returns the gradient of the loss (finite differences)", async () => {
    const encoder = new ToyEncoder(5, 4, 3);
    const analytic = await run(encoder, 2);
    const numeric = await numericGrads(encoder, 2);
    expect(maxAbsDiff(analytic.grads, numeric)).toBeLessThan(2e-4);
    expect(Math.max(...Object.values(analytic.grads).flatMap((t) => Array.from(t, Math.abs)))).toBeGreaterThan(1e-2);
  });

  it("replays each chunk's dropout seed in pass 2, so gradients match the function pass 1 evaluated", async () => {
    const encoder = new ToyEncoder(5, 4, 3, 0.3);
    const analytic = await run(encoder, 3);
    expect(maxAbsDiff(analytic.grads, await numericGrads(encoder, 3))).toBeLessThan(2e-4);
    // The same step with pass 2 on a different seed is measurably wrong: the check above can fail.
    const mismatched: ChunkEncoder<Float32Array[]> = {
      encodeNoGrad: (c, s) => encoder.encodeNoGrad(c, s),
      backwardChunk: (c, d, s) => encoder.backwardChunk(c, d, s + 1),
    };
    expect(maxAbsDiff((await run(mismatched, 3)).grads, analytic.grads)).toBeGreaterThan(1e-3);
  });

  it("runs one encode and one VJP per chunk, never mixing queries and documents in a chunk", async () => {
    const encoder = new ToyEncoder(5, 4, 3);
    await run(encoder, 4);
    // 6 queries → chunks of 4 + 2; 12 documents → 4 + 4 + 4.
    expect(encoder.calls).toEqual({ encode: 5, backward: 5 });
  });

  it("rejects an encoder that returns the wrong number of embeddings, naming the chunk", async () => {
    const encoder = new ToyEncoder(5, 4, 3);
    const short: ChunkEncoder<Float32Array[]> = {
      encodeNoGrad: async (c, s) => (await encoder.encodeNoGrad(c, s)).slice(1),
      backwardChunk: (c, d, s) => encoder.backwardChunk(c, d, s),
    };
    await expect(run(short, 4)).rejects.toThrow(/chunk 0 has 4 texts but the encoder returned 3 embeddings/);
  });

  it("chunkItems splits in order", () => {
    expect(chunkItems([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(() => chunkItems([1], 0)).toThrow(/chunk size must be an integer ≥ 1/);
  });
});
