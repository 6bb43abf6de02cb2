import { fileURLToPath } from "node:url";
import { openSource } from "@dembed/data";
import { describe, expect, it } from "vitest";
import { DataExampleSampler } from "./data-sampler.js";

const e5 = fileURLToPath(new URL("../../../datasets/fixtures/e5", import.meta.url));

describe("DataExampleSampler", () => {
  it("turns data batches into keyed examples and resumes from its state", async () => {
    const source = await openSource({ kind: "e5", path: e5 });
    const sampler = new DataExampleSampler(source, { batchSize: 4, seed: 3 });
    const first = await sampler.next(4);
    expect(first).toHaveLength(4);
    const ex = first[0]!;
    expect(ex.query.instruction.length).toBeGreaterThan(0);
    expect(ex.positive.instruction).toBe("");
    expect(ex.positiveKey).toBe(ex.positive.text);
    expect(ex.negativeKeys).toEqual(ex.negatives.map((n) => n.text));
    for (let i = 0; i < 4; i++) await sampler.next(4);
    const saved = JSON.parse(JSON.stringify(sampler.state()));
    const expected = [await sampler.next(4), await sampler.next(4), await sampler.next(4)];
    const resumed = new DataExampleSampler(source, { batchSize: 4, seed: 3 });
    resumed.restore(saved);
    expect([await resumed.next(4), await resumed.next(4), await resumed.next(4)]).toEqual(expected);
    await expect(resumed.next(3)).rejects.toThrow(/asked for 3 examples, but batches hold 4/);
    await source.close();
  });
});
