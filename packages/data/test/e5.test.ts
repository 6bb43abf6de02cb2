import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, openE5 } from "../src/index.js";
import { collect, E5_DIR, tempDir } from "./support/fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

// Instruction texts from REFERENCE.md, written out here so the table in src/ is checked, not echoed.
const NLI = ["Given a premise, retrieve a hypothesis that is entailed by the premise", "Retrieve semantically similar text"];
const QUORA = ["Given a question, retrieve questions that are semantically equivalent to the given question", "Find questions that have the same meaning as the input question"];
const FEVER = "Given a claim, retrieve documents that support or refute the claim";
const NQ = "Given a question, retrieve Wikipedia passages that answer the question";

async function lines(name: string): Promise<Record<string, string>[]> {
  return (await readFile(join(E5_DIR, `${name}.jsonl`), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
}

describe("openE5", () => {
  it("reads every fixture file with its instruction; allnli and quora alternate by line", async () => {
    const source = await openE5(E5_DIR);
    expect(source.size).toBe(34);
    expect(source.sourceNames).toEqual(["allnli", "fever", "hotpot_qa", "msmarco_passage", "nq", "quora_duplicates"]);
    const samples = await collect(source);
    const of = (name: string) => samples.filter((s) => s.source === name);
    expect(of("allnli").map((s) => s.instruction)).toEqual([NLI[0], NLI[1], NLI[0], NLI[1], NLI[0], NLI[1]]);
    expect(of("quora_duplicates").map((s) => s.instruction)).toEqual([QUORA[0], QUORA[1], QUORA[0], QUORA[1], QUORA[0], QUORA[1]]);
    expect(new Set(of("fever").map((s) => s.instruction))).toEqual(new Set([FEVER]));
    expect(new Set(of("nq").map((s) => s.instruction))).toEqual(new Set([NQ]));
    const nq = await lines("nq");
    expect(of("nq").map((s) => [s.id, s.query, s.positive, s.negatives])).toEqual(nq.map((l, i) => [`nq:${i + 1}`, l.query, l.positive, [l.negative]]));
    expect(source.report).toMatchObject({ records: 34, kept: 34, invalid: 0, capped: false });
    await source.close();
  });

  it("keeps the first N records of each file", async () => {
    const source = await openE5(E5_DIR, { maxPerFile: 2 });
    const samples = await collect(source);
    expect(samples.length).toBe(12);
    expect(samples.filter((s) => s.source === "fever").map((s) => s.id)).toEqual(["fever:1", "fever:2"]);
    expect(source.report.capped).toBe(true);
    await source.close();
  });

  it("reads only the reference's files by default and reports the rest; named files need an instruction", async () => {
    const root = join(dir, "unknown");
    await cp(E5_DIR, root, { recursive: true });
    await writeFile(join(root, "my_pairs.jsonl"), '{"query":"q","positive":"p","negative":"n"}\n');
    const byDefault = await openE5(root);
    expect(byDefault.size).toBe(34);
    expect(byDefault.report.skippedFiles).toContain(`${join(root, "my_pairs.jsonl")} (not an E5 file the reference reads (no instruction known))`);
    await expect(openE5(root, { files: ["my_pairs"] })).rejects.toThrow(/no instruction for my_pairs\.jsonl\. Known E5 files: allnli, /);
    const given = await openE5(root, { instructions: { my_pairs: "Find the matching pair" }, files: ["my_pairs", "fever"] });
    const mine = (await collect(given)).find((s) => s.source === "my_pairs");
    expect(mine).toEqual({ id: "my_pairs:1", source: "my_pairs", instruction: "Find the matching pair", query: "q", positive: "p", negatives: ["n"] });
    const logged: string[] = [];
    const skipped = await openE5(root, { files: ["my_pairs", "fever"], unknownFiles: "skip", log: (line) => logged.push(line) });
    expect(skipped.report.skippedFiles).toEqual([`${join(root, "my_pairs.jsonl")} (no instruction known)`]);
    expect(logged[0]).toMatch(/skipped file .*my_pairs\.jsonl \(no instruction known\)/);
    await Promise.all([byDefault.close(), given.close(), skipped.close()]);
  });

  it("on a folder with the real 18 file names, reads the reference's 12 and reports the other 6", async () => {
    const root = join(dir, "real-names");
    await mkdir(root);
    const line = '{"query":"q","positive":"p","negative":"n"}\n';
    const reference = ["allnli", "eli5_question_answer", "fever", "hotpot_qa", "miracl", "mrtydi", "msmarco_document", "msmarco_passage", "nq", "quora_duplicates", "squad", "trivia_qa"];
    const others = ["allnli_split1", "allnli_split2", "quora_duplicates_split1", "quora_duplicates_split2", "dureader", "t2ranking"];
    for (const name of [...reference, ...others]) await writeFile(join(root, `${name}.jsonl`), line);
    const source = await openE5(root);
    expect([...source.sourceNames].sort()).toEqual([...reference].sort());
    expect(source.size).toBe(12);
    const reasons = source.report.skippedFiles.map((f) => f.slice(root.length + 1));
    expect(reasons.sort()).toEqual([
      "allnli_split1.jsonl (duplicates allnli.jsonl (the older split layout))",
      "allnli_split2.jsonl (duplicates allnli.jsonl (the older split layout))",
      "dureader.jsonl (Chinese; the reference training excluded it)",
      "quora_duplicates_split1.jsonl (duplicates quora_duplicates.jsonl (the older split layout))",
      "quora_duplicates_split2.jsonl (duplicates quora_duplicates.jsonl (the older split layout))",
      "t2ranking.jsonl (Chinese; the reference training excluded it)",
    ]);
    await source.close();
  });

  it("reads llm2vec's split files under one source when named, each half with its instruction", async () => {
    const root = join(dir, "split");
    await cp(join(E5_DIR, "allnli.jsonl"), join(root, "allnli_split1.jsonl"));
    await cp(join(E5_DIR, "allnli.jsonl"), join(root, "allnli_split2.jsonl"));
    const source = await openE5(root, { files: ["allnli_split1", "allnli_split2"] });
    const samples = await collect(source);
    expect(source.sourceNames).toEqual(["allnli"]);
    expect(samples.map((s) => s.instruction)).toEqual([...Array(6).fill(NLI[0]), ...Array(6).fill(NLI[1])]);
    await source.close();
  });

  it("names file, line and field of a malformed record; lenient mode counts and skips it", async () => {
    const root = join(dir, "bad");
    const good = '{"query":"q","positive":"p","negative":"n"}';
    await mkdir(root);
    await writeFile(join(root, "fever.jsonl"), [good, '{"query":"q","positive":"p"}', '{"query":"q","positive":7,"negative":"n"}', "{oops", good].join("\n"));
    const path = join(root, "fever.jsonl");
    await expect(openE5(root)).rejects.toThrow(`${path} line 2, field "negative": expected string, got missing`);
    const lenient = await openE5(root, { lenient: true, files: ["fever"] });
    expect(lenient.size).toBe(2);
    expect(lenient.report).toMatchObject({ records: 5, kept: 2, invalid: 3 });
    expect(lenient.report.examples[1]).toBe(`${path} line 3, field "positive": expected string, got a number (7)`);
    expect(lenient.report.examples[2]).toMatch(new RegExp(`${path} line 4: invalid JSON`));
    expect(formatReport("e5", lenient.report)).toMatch(/^e5: kept 2 of 5 records read\ndropped 3 malformed/);
    await lenient.close();
  });
});
