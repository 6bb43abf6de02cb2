import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evaluate, formatJson, formatQrels, formatRun, parseQrels, parseRun, readQrels, readRun, writeQrels, writeRun } from "./index.js";

const asObject = (nested: Map<string, Map<string, number>>) =>
  Object.fromEntries([...nested].map(([qid, docs]) => [qid, Object.fromEntries(docs)]));

describe("TREC and JSON text", () => {
  it("parses qrels and runs, skipping blank and # lines, ignoring the rank column", () => {
    const qrels = parseQrels("# judgements\nq1 0 d1 2\n\nq1 0 d2 0\r\nq2\tQ0\td3\t-1\n");
    expect(asObject(qrels)).toEqual({ q1: { d1: 2, d2: 0 }, q2: { d3: -1 } });
    const run = parseRun("q1 Q0 d1 7 0.5 tag\nq1 Q0 d2 1 -inf tag\nq2 Q0 d3 1 1e-3 tag");
    expect(asObject(run)).toEqual({ q1: { d1: 0.5, d2: -Infinity }, q2: { d3: 0.001 } });
  });

  it("reports malformed lines as file:line", () => {
    expect(() => parseQrels("q1 0 d1 1\nq1 0 d2\n", "qrels.txt")).toThrow(
      "qrels.txt:2: expected 4 fields \"qid iter docid relevance\", got 3 (a BEIR-style 'qid docid score' line?)",
    );
    expect(() => parseQrels("q1 0 d1 1.5\n", "qrels.txt")).toThrow('qrels.txt:1: relevance "1.5" is not an integer');
    expect(() => parseQrels("q1 0 d1 1\nq1 0 d1 0\n", "qrels.txt")).toThrow('qrels.txt:2: duplicate document "d1" for query "q1"');
    expect(() => parseRun("q1 Q0 d1 1 0.5 t\n\nq1 Q0 d2 2 NaN t\n", "run.trec")).toThrow('run.trec:3: score "NaN" is not a number');
    expect(() => parseRun("q1 Q0 d1 1 abc t\n", "run.trec")).toThrow('run.trec:1: score "abc" is not a number');
    expect(() => parseRun("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", "run.trec")).toThrow(
      'run.trec:2: duplicate document "d1" for query "q1"',
    );
    // trec_eval rejects extra fields too: a 7th column is a broken line, not something to ignore.
    expect(() => parseRun("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4 t extra\n", "run.trec")).toThrow(
      'run.trec:2: expected 6 fields "qid Q0 docid rank score tag", got more than 6',
    );
    expect(() => parseRun("q1 0 d1 1\n", "run.trec")).toThrow('run.trec:1: expected 6 fields "qid Q0 docid rank score tag", got 4 (a qrels file?)');
  });

  it("parses the JSON form strictly: duplicates, non-numbers and trailing garbage fail with their line", () => {
    expect(asObject(parseRun('{"q1": {"d1": 0.5, "d\\"2": -1e2}, "q2": {}}'))).toEqual({ q1: { d1: 0.5, 'd"2': -100 }, q2: {} });
    expect(() => parseRun('{\n  "q1": {"d1": 1,\n  "d1": 2}\n}', "run.json")).toThrow('run.json:3: duplicate document "d1" for query "q1"');
    expect(() => parseRun('{"q1": {}, \n"q1": {}}', "run.json")).toThrow('run.json:2: duplicate query "q1"');
    expect(() => parseRun('{"q1": {"d1": null}}', "run.json")).toThrow('run.json:1: score of "d1" in query "q1" must be a number, found "null}}"');
    expect(() => parseRun('{"q1": {"d1": NaN}}', "run.json")).toThrow("must be a number");
    expect(() => parseRun('{"q1": {"d1": 1}} x', "run.json")).toThrow('run.json:1: unexpected "x" after the closing "}"');
    expect(() => parseQrels('{"q1": {"d1": 0.5}}', "qrels.json")).toThrow('qrels.json:1: relevance 0.5 of "d1" in query "q1" is not an integer');
  });

  it("formats runs in rank order with scores that read back to the same ranking", () => {
    const run = { q2: { b: 1 / 3, a: 1 / 3, c: 1e-20 }, q1: { x: 2 } };
    expect(formatRun(run, "sys")).toBe(
      ["q1 Q0 x 1 2 sys", "q2 Q0 b 1 0.3333333333333333 sys", "q2 Q0 a 2 0.3333333333333333 sys", "q2 Q0 c 3 1e-20 sys", ""].join("\n"),
    );
    expect(asObject(parseRun(formatRun(run)))).toEqual({ q1: { x: 2 }, q2: { b: 1 / 3, a: 1 / 3, c: 1e-20 } });
    expect(asObject(parseRun(formatJson(run)))).toEqual(run);
    expect(formatQrels({ q: { d: 1 } })).toBe("q 0 d 1\n");
    expect(() => formatRun({ "q 1": { d: 1 } })).toThrow('query id "q 1" is empty or contains whitespace');
  });
});

describe("files", () => {
  const dir = mkdtempSync(join(tmpdir(), "dembed-metrics-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes atomically and reads back TREC and JSON files, detecting the format", async () => {
    const run = { q1: { d1: 0.9, d2: 0.1 }, q2: { d3: 0.5 } };
    await writeRun(join(dir, "run.trec"), run, { tag: "bm25" });
    await writeRun(join(dir, "run.json"), run);
    await writeQrels(join(dir, "qrels.txt"), { q1: { d1: 1 } });
    expect(readFileSync(join(dir, "run.trec"), "utf8").split("\n")[0]).toBe("q1 Q0 d1 1 0.9 bm25");
    expect(asObject(await readRun(join(dir, "run.trec")))).toEqual(run);
    expect(asObject(await readRun(join(dir, "run.json")))).toEqual(run);
    expect(asObject(await readQrels(join(dir, "qrels.txt")))).toEqual({ q1: { d1: 1 } });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("streams large TREC files across chunk boundaries and reports the failing line", async () => {
    const lines = Array.from({ length: 60_000 }, (_, i) => `q${i % 50} Q0 doc-${i} ${i} ${(i % 997) / 997} run`);
    const path = join(dir, "big.trec");
    writeFileSync(path, `${lines.join("\n")}\n`); // ~2.5 MB: several 1 MiB chunks
    const run = await readRun(path);
    expect(run.size).toBe(50);
    expect([...run.values()].reduce((n, docs) => n + docs.size, 0)).toBe(60_000);
    writeFileSync(path, `${lines.join("\n")}\nq1 Q0 doc-1 1 0.5 run\n`);
    await expect(readRun(path)).rejects.toThrow(`${path}:60001: duplicate document "doc-1" for query "q1"`);
    await expect(readRun(join(dir, "missing.trec"))).rejects.toThrow(/cannot read run file ".*missing\.trec": ENOENT/);
  });

  it("evaluates what it reads", async () => {
    writeFileSync(join(dir, "q.txt"), "q1 0 d1 2\nq1 0 d2 1\nq1 0 d3 0\nq1 0 d5 1\n");
    writeFileSync(join(dir, "r.txt"), "q1 Q0 d3 1 .9 x\nq1 Q0 d1 2 .8 x\nq1 Q0 d4 3 .8 x\nq1 Q0 d2 4 .5 x\nq1 Q0 d9 5 .1 x\n");
    const result = evaluate(await readQrels(join(dir, "q.txt")), await readRun(join(dir, "r.txt")), ["ndcg_cut.3"]);
    expect(result.aggregate.ndcg_cut_3!.toFixed(4)).toBe("0.3194");
  });
});
