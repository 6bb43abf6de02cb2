import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MSMARCO_INSTRUCTION, openMsmarcoInstructions, readParquetRows, type TrainingSource } from "../src/index.js";
import { MSMARCO_ARROW_TYPES, writeArrowRows } from "./support/arrow-writer.js";
import { collect, MSMARCO_DIR, MSMARCO_PARQUET, tempDir } from "./support/fixtures.js";
import { writeMsmarcoParquet, type MsmarcoRow, type Passage } from "./support/parquet-writer.js";

let dir: string;
let cleanup: () => Promise<void>;
let rows: MsmarcoRow[];
let source: TrainingSource;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  rows = (await collect(readParquetRows(MSMARCO_PARQUET))).map((r) => ({ ...r.value, new_negatives: r.value.new_negatives ?? null }) as MsmarcoRow);
  source = await openMsmarcoInstructions(MSMARCO_DIR);
});
afterAll(async () => {
  await source.close();
  await cleanup();
});

// The reference's `title + " " + text`, written out here: an empty title leaves a leading space.
const text = (p: Passage) => `${p.title ?? ""} ${p.text}`;
const all = (s: TrainingSource) => Array.from({ length: s.size }, (_, i) => i);

describe("openMsmarcoInstructions", () => {
  it("makes one sample per row: the instruction, the query, the first positive as title + text", async () => {
    expect(source.size).toBe(32);
    const samples = await source.read(all(source));
    expect(samples.map((s) => [s.id, s.source, s.instruction, s.query, s.positive])).toEqual(
      rows.map((r) => [r.query_id, "msmarco-w-instructions", MSMARCO_INSTRUCTION, r.query, text(r.positive_passages[0]!)]),
    );
    expect(MSMARCO_INSTRUCTION).toBe("Retrieve text based on user query");
  });

  it("gives 15 negatives: at most 3 new_negatives first, then negative_passages, repeating only when too few exist", async () => {
    const samples = await source.read(all(source), { seed: 11 });
    for (const [i, sample] of samples.entries()) {
      const row = rows[i]!;
      const fresh = (row.new_negatives ?? []).map(text).slice(0, 3);
      expect(sample.negatives.length).toBe(15);
      expect(sample.negatives.slice(0, fresh.length)).toEqual(fresh);
      const drawn = sample.negatives.slice(fresh.length);
      const pool = row.negative_passages.map(text);
      expect(drawn.every((t) => pool.includes(t))).toBe(true);
      const distinctPool = new Set(pool.filter((t) => !fresh.includes(t))).size;
      // without replacement while the pool lasts
      expect(new Set(drawn).size).toBe(Math.min(drawn.length, distinctPool));
    }
    expect(rows[6]!.new_negatives!.length).toBe(18); // the fixture's row with more new negatives than 15
    expect(rows[3]!.negative_passages.length).toBe(3); // and its row that needs replacement
    expect(new Set(samples[3]!.negatives).size).toBe(3);
  });

  it("is deterministic for a seed and epoch, and differs for another", async () => {
    const a = await source.read(all(source), { seed: 1, epoch: 0 });
    expect(await source.read(all(source), { seed: 1, epoch: 0 })).toEqual(a);
    const otherSeed = await source.read(all(source), { seed: 2, epoch: 0 });
    const otherEpoch = await source.read(all(source), { seed: 1, epoch: 1 });
    expect(otherSeed.map((s) => s.negatives)).not.toEqual(a.map((s) => s.negatives));
    expect(otherEpoch.map((s) => s.negatives)).not.toEqual(a.map((s) => s.negatives));
    // reading one record alone gives what it got in a batch
    expect((await source.read([17], { seed: 1, epoch: 0 }))[0]).toEqual(a[17]);
  });

  it("respects the sample cap and the negatives count", async () => {
    const capped = await openMsmarcoInstructions(MSMARCO_PARQUET, { maxSamples: 12, negatives: 4 });
    expect(capped.size).toBe(12);
    expect(capped.report.capped).toBe(true);
    expect((await collect(capped)).every((s) => s.negatives.length === 4)).toBe(true);
    await capped.close();
  });

  it("reads the same rows from a datasets-library Arrow cache, with the same samples", async () => {
    const cache = join(dir, "datasets");
    const hashDir = join(cache, "samaya-ai___msmarco-w-instructions", "default", "0.0.0", "0123abcd");
    await writeArrowRows(join(hashDir, "msmarco-w-instructions-train.arrow"), MSMARCO_ARROW_TYPES, rows, { batchRows: 7 });
    const fromArrow = await openMsmarcoInstructions("samaya-ai/msmarco-w-instructions", { env: { HF_HOME: join(dir, "none"), HF_DATASETS_CACHE: cache } });
    expect(fromArrow.files).toEqual([join(hashDir, "msmarco-w-instructions-train.arrow")]);
    expect(await fromArrow.read(all(fromArrow), { seed: 4 })).toEqual(await source.read(all(source), { seed: 4 }));
    await fromArrow.close();
  });

  it("names the row and field of a malformed row; lenient mode skips it", async () => {
    const bad = rows.slice(0, 5).map((r) => ({ ...r }));
    bad[1] = { ...bad[1]!, positive_passages: [] };
    bad[3] = { ...bad[3]!, negative_passages: [], new_negatives: null };
    const path = join(dir, "bad", "train-00000-of-00001.parquet");
    await writeMsmarcoParquet(path, bad, { rowGroupSize: 2 });
    await expect(openMsmarcoInstructions(path)).rejects.toThrow(`${path} row 1, field "positive_passages": needs at least one positive passage (got an array of 0)`);
    const lenient = await openMsmarcoInstructions(path, { lenient: true });
    expect(lenient.size).toBe(3);
    expect(lenient.report.examples[1]).toBe(
      `${path} row 3, field "negative_passages": needs at least one negative (negative_passages and new_negatives are both empty) (got an array of 0)`,
    );
    expect((await collect(lenient)).map((s) => s.id)).toEqual([0, 2, 4].map((i) => rows[i]!.query_id));
    await lenient.close();
  });
});
