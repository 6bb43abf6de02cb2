import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSampler, openCustomJsonl, openE5, openMsmarcoInstructions, openReasonAug, type TrainingSample, type TrainingSource } from "../src/index.js";
import { collect, CUSTOM_JSONL, E5_DIR, FIXTURES, MSMARCO_DIR } from "./support/fixtures.js";

let e5: TrainingSource;
let reasonAug: TrainingSource;
let msmarco: TrainingSource;
let custom: TrainingSource;
beforeAll(async () => {
  [e5, reasonAug, msmarco, custom] = await Promise.all([openE5(E5_DIR), openReasonAug(join(FIXTURES, "reasonaug")), openMsmarcoInstructions(MSMARCO_DIR), openCustomJsonl(CUSTOM_JSONL)]);
});
afterAll(() => Promise.all([e5, reasonAug, msmarco, custom].map((s) => s.close())));

const ids = (batches: TrainingSample[][]) => batches.map((b) => b.map((s) => `${s.source}/${s.id}`));

async function take(sampler: BatchSampler, n: number): Promise<TrainingSample[][]> {
  const out: TrainingSample[][] = [];
  if (n === 0) return out;
  for await (const batch of sampler) {
    out.push(batch);
    if (out.length === n) break;
  }
  return out;
}

describe("BatchSampler", () => {
  it("by-source: every E5 batch comes from one file; short tails are dropped", async () => {
    const sampler = new BatchSampler(e5, { batchSize: 2, seed: 1, batching: "by-source" });
    // allnli 6, fever 5, hotpot_qa 5, msmarco_passage 6, nq 6, quora_duplicates 6
    expect(sampler.batchesPerEpoch).toBe(3 + 2 + 2 + 3 + 3 + 3);
    expect(sampler.samplesPerEpoch).toBe(32);
    const batches = await collect(sampler);
    expect(batches.length).toBe(16);
    for (const batch of batches) expect(new Set(batch.map((s) => s.source)).size).toBe(1);
    // batches of different files are interleaved, not file after file (which would switch source 5 times)
    const switches = batches.filter((b, i) => i > 0 && b[0]!.source !== batches[i - 1]![0]!.source).length;
    expect(switches).toBeGreaterThan(5);
  });

  it("by-task: every ReasonAug batch holds one task", async () => {
    const sampler = new BatchSampler(reasonAug, { batchSize: 3, seed: 5, batching: "by-task" });
    // p2ps 6, i2ps 6 (the null-negative record is skipped), ps2ps 4, p2i 6
    expect(sampler.batchesPerEpoch).toBe(2 + 2 + 1 + 2);
    for (const batch of await collect(sampler)) expect(new Set(batch.map((s) => s.task)).size).toBe(1);
  });

  it("is deterministic for a seed and differs across seeds and epochs", async () => {
    const run = (seed: number) => collect(new BatchSampler(e5, { batchSize: 2, seed, batching: "by-source", epochs: 2 }));
    const a = ids(await run(7));
    expect(ids(await run(7))).toEqual(a);
    expect(ids(await run(8))).not.toEqual(a);
    expect(a.slice(16)).not.toEqual(a.slice(0, 16));
  });

  it("shuffled without dropping covers every record once per epoch", async () => {
    const sampler = new BatchSampler(msmarco, { batchSize: 5, seed: 3, dropLast: false, epochs: 2 });
    expect(sampler.batchesPerEpoch).toBe(7);
    const batches = await collect(sampler);
    const epoch = (e: number) => batches.slice(e * 7, (e + 1) * 7).flat().map((s) => s.id);
    expect([...epoch(0)].sort()).toEqual((await collect(msmarco)).map((s) => s.id).sort());
    expect([...epoch(1)].sort()).toEqual([...epoch(0)].sort());
    expect(epoch(1)).not.toEqual(epoch(0));
    expect(batches[6]!.length).toBe(2);
  });

  it("shuffles parquet rows within windows of row groups, decoding each group in one stretch", async () => {
    const sampler = new BatchSampler(msmarco, { batchSize: 4, seed: 9, shuffleWindowBlocks: 1 });
    const order = Array.from({ length: sampler.batchesPerEpoch }, (_, b) => [...sampler.batchIndices(0, b)]).flat();
    const blocks = order.map((i) => msmarco.blockOf(i));
    const switches = blocks.filter((b, i) => i > 0 && b !== blocks[i - 1]).length;
    expect(switches).toBeLessThanOrEqual(3); // 4 row groups: each is one contiguous stretch of the epoch
    expect(order.slice(0, 10)).not.toEqual([...order.slice(0, 10)].sort((x, y) => x - y));
  });

  it("resumes mid-epoch from a JSON state with exactly the same batches, for every source", async () => {
    const cases = [
      { source: () => msmarco, options: { batchSize: 4, seed: 21, epochs: 2 } },
      { source: () => e5, options: { batchSize: 2, seed: 4, epochs: 2, batching: "by-source" } },
      { source: () => reasonAug, options: { batchSize: 3, seed: 8, epochs: 2, batching: "by-task" } },
      { source: () => custom, options: { batchSize: 5, seed: 2, epochs: 2, dropLast: false } },
    ] as const;
    for (const { source, options } of cases) {
      const reference = await collect(new BatchSampler(source(), options));
      const perEpoch = reference.length / 2;
      for (const stop of [0, 3, perEpoch, perEpoch + 1, reference.length - 1]) {
        const first = new BatchSampler(source(), options);
        const seen = await take(first, stop);
        const saved = JSON.parse(JSON.stringify(first.state()));
        const rest = await collect(BatchSampler.resume(source(), saved));
        // same samples, msmarco negatives included: they are seeded per (seed, epoch, record)
        expect([...seen, ...rest]).toEqual(reference);
      }
    }
  });

  it("refuses a state saved over different data, and a malformed state", async () => {
    const sampler = new BatchSampler(e5, { batchSize: 2, seed: 1, batching: "by-source" });
    await take(sampler, 2);
    const state = sampler.state();
    expect(state).toMatchObject({ format: "dembed.sampler/1", epoch: 0, batch: 2, epochs: 1 });
    const capped = await openE5(E5_DIR, { maxPerFile: 4 });
    expect(() => BatchSampler.resume(capped, state)).toThrow(/the sources differ from those the sampler state was saved with/);
    await capped.close();
    expect(() => BatchSampler.resume(e5, { ...state, batch: -1 })).toThrow(/not a sampler state: field "batch"/);
    expect(() => BatchSampler.resume(e5, { ...state, batch: 99 })).toThrow(/past the 16 batches/);
  });

  it("draws from several sources at once", async () => {
    const sampler = new BatchSampler([reasonAug, custom], { batchSize: 2, seed: 2, batching: "by-source" });
    const batches = await collect(sampler);
    expect(batches.flat().length).toBe(22 + 12);
    for (const batch of batches) expect(new Set(batch.map((s) => s.source)).size).toBe(1);
  });

  it("says when no full batch can be made", () => {
    expect(() => new BatchSampler(reasonAug, { batchSize: 7, seed: 0, batching: "by-task" })).toThrow(/no full batch of 7: 22 records, largest by-task group 6/);
  });
});
