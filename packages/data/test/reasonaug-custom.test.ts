import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NULL_NEGATIVE, openCustomJsonl, openReasonAug, openSource } from "../src/index.js";
import { collect, CUSTOM_JSONL, FIXTURES, REASONAUG_JSONL, tempDir } from "./support/fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
}

describe("openReasonAug", () => {
  it("uses task as the instruction and by-task key, and skips the record with a null negative", async () => {
    const records = await jsonl(REASONAUG_JSONL);
    const source = await openReasonAug(join(FIXTURES, "reasonaug"));
    expect(records.length).toBe(23);
    expect(source.size).toBe(22);
    expect(source.report.skipped).toEqual({ [NULL_NEGATIVE]: 1 });
    const kept = records.filter((r) => r.hard_negative_document !== null);
    const samples = await collect(source);
    expect(samples).toEqual(
      kept.map((r) => ({ id: r.id, source: "reasonaug", task: r.task, instruction: r.task, query: r.user_query, positive: r.positive_document, negatives: [r.hard_negative_document] })),
    );
    expect(source.taskNames.length).toBe(4);
    expect(samples.map((s, i) => source.taskNames[source.taskOf(i)])).toEqual(samples.map((s) => s.task));
    await source.close();
  });

  it("names the line and field of a malformed record; lenient mode counts it", async () => {
    const records = (await jsonl(REASONAUG_JSONL)).slice(0, 4);
    const { user_query: _dropped, ...noQuery } = records[1]!;
    const lines = [records[0], noQuery, { ...records[2], hard_negative_document: 3 }, records[3]].map((r) => JSON.stringify(r));
    const path = join(dir, "reasonaug.jsonl");
    await writeFile(path, lines.join("\n") + "\n");
    await expect(openReasonAug(path)).rejects.toThrow(`${path} line 2, field "user_query": expected string, got missing`);
    const lenient = await openReasonAug(path, { lenient: true });
    expect(lenient.report).toMatchObject({ records: 4, kept: 2, invalid: 2 });
    expect(lenient.report.examples[1]).toBe(`${path} line 3, field "hard_negative_document": expected string, got a number (3)`);
    await lenient.close();
  });
});

describe("openCustomJsonl", () => {
  it("reads {query, positive, negatives, instruction?, task?, id?} with a default instruction", async () => {
    const records = await jsonl(CUSTOM_JSONL);
    const source = await openCustomJsonl(CUSTOM_JSONL, { instruction: "Retrieve the matching text" });
    const samples = await collect(source);
    expect(samples.length).toBe(records.length);
    for (const [i, sample] of samples.entries()) {
      const r = records[i]!;
      expect(sample).toEqual({
        id: r.id ?? `train:${i + 1}`,
        source: "custom",
        ...(r.task === undefined ? {} : { task: r.task }),
        instruction: r.instruction ?? "Retrieve the matching text",
        query: r.query,
        positive: r.positive,
        negatives: r.negatives,
      });
    }
    expect(samples.some((s) => s.instruction === "Retrieve the matching text")).toBe(true);
    await source.close();
  });

  it("can require a fixed number of negatives, and rejects non-array negatives", async () => {
    await expect(openCustomJsonl(CUSTOM_JSONL, { negatives: 3 })).rejects.toThrow(/line 1, field "negatives": expected exactly 3 negatives/);
    const path = join(dir, "custom.jsonl");
    await writeFile(path, '{"query":"q","positive":"p","negatives":"n"}\n');
    await expect(openCustomJsonl(path)).rejects.toThrow(`${path} line 1, field "negatives": expected array, got a string ("n")`);
  });

  it("opens through a spec, as a config file would name it", async () => {
    const source = await openSource({ kind: "custom", path: CUSTOM_JSONL, maxSamples: 3 });
    expect(source.size).toBe(3);
    await source.close();
  });
});

describe("empty texts", () => {
  it("are bad records at their file:line, in custom JSONL and ReasonAug alike", async () => {
    const path = join(dir, "empty.jsonl");
    await writeFile(path, [{ query: "q", positive: "p", negatives: ["n"] }, { query: "q2", positive: "  ", negatives: ["n"] }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    await expect(openCustomJsonl(path)).rejects.toThrow(`${path} line 2, field "positive": the text is empty`);
    const records = (await jsonl(REASONAUG_JSONL)).slice(0, 3);
    const raPath = join(dir, "empty-reasonaug.jsonl");
    await writeFile(raPath, [records[0], { ...records[1], user_query: "" }, records[2]].map((r) => JSON.stringify(r)).join("\n") + "\n");
    await expect(openReasonAug(raPath)).rejects.toThrow(`${raPath} line 2, field "user_query": the text is empty`);
  });
});
