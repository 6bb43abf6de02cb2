import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evaluate, readQrels, readRun } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "dembed-metrics-bom-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};
const BOM = "\ufeff";

describe("text policy of qrels and run files", () => {
  it("drops a leading UTF-8 byte-order mark, so the first qid keeps its name and its score", async () => {
    const qrels = await readQrels(file("qrels.txt", `${BOM}q1 0 d1 1\nq2 0 d2 1\n`));
    const run = await readRun(file("run.txt", `${BOM}q1 Q0 d1 1 0.9 t\nq2 Q0 d2 1 0.9 t\n`));
    expect([...qrels.keys()]).toEqual(["q1", "q2"]);
    expect([...run.keys()]).toEqual(["q1", "q2"]);
    expect(evaluate(qrels, run, ["recip_rank"]).aggregate.recip_rank).toBe(1);
  });

  it("drops the BOM of JSON qrels too", async () => {
    const qrels = await readQrels(file("qrels.json", `${BOM}{"q1": {"d1": 1}}`));
    expect([...qrels.keys()]).toEqual(["q1"]);
  });

  it("rejects bytes that are not UTF-8 with file:line", async () => {
    const bad = Buffer.concat([Buffer.from("q1 0 d1 1\nq1 0 d"), Buffer.from([0xff, 0xfe]), Buffer.from("2 1\n")]);
    const path = file("latin.txt", bad);
    await expect(readQrels(path)).rejects.toThrow(`${path}:2: not valid UTF-8`);
  });
});
