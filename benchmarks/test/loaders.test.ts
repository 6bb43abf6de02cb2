import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterEach, describe, expect, it } from "vitest";
import { resolveDataset, RevisionMismatch } from "../src/data/resolve.js";
import { loadTask } from "../src/load.js";
import { loadBrightTask, looksLikeBright } from "../src/loaders/bright.js";
import { loadFollowIrTask } from "../src/loaders/followir.js";
import { loadMtebInstructionsTask } from "../src/loaders/followir-mteb.js";
import { loadLongEmbedTask, loadMtebLongEmbedTask } from "../src/loaders/longembed.js";
import { selectTasks } from "../src/tasks.js";
import type { FollowIrTaskData, RetrievalTaskData } from "../src/types.js";
import { cleanTempDirs, fixtureCopy, FIXTURES, tempDir } from "./helpers.js";

afterEach(cleanTempDirs);

const task = (benchmark: "longembed" | "bright" | "followir", id: string) => selectTasks(benchmark, [id])[0]!;
const local = (root: string, dataset: string) => ({ root, source: { kind: "local" as const, dataset, path: root, revision: null } });
const longEmbed = (root = join(FIXTURES, "dwzhu/LongEmbed")) => local(root, "dwzhu/LongEmbed");

describe("LongEmbed loader (dwzhu/LongEmbed layout)", () => {
  it("splits passkey by context length and keeps one judgement per query", async () => {
    const data = await loadLongEmbedTask(longEmbed(), task("longembed", "passkey"));
    expect(data.splits.map((s) => [s.split, s.contextLength, s.corpus.length, s.queries.length])).toEqual([
      ["test_64", 64, 3, 2],
      ["test_128", 128, 3, 2],
    ]);
    for (const s of data.splits) for (const q of s.queries) expect(Object.values(s.qrels[q.id]!)).toEqual([1]);
    expect(data.warnings).toEqual([]);
  });

  it("restricts to the requested lengths and names the ones that are absent", async () => {
    const data = await loadLongEmbedTask(longEmbed(), task("longembed", "needle"), { contextLengths: [128] });
    expect(data.splits.map((s) => s.split)).toEqual(["test_128"]);
    await expect(loadLongEmbedTask(longEmbed(), task("longembed", "needle"), { contextLengths: [256] })).rejects.toThrow(
      /needle\/corpus.jsonl has no rows with context_length 256 \(present: 64, 128\)/,
    );
  });

  it("reads the real tasks as one split each, SummScreenFD as validation", async () => {
    const sfd = await loadLongEmbedTask(longEmbed(), task("longembed", "summ_screen_fd"));
    expect(sfd.splits.map((s) => [s.split, s.corpus.length, s.queries.length])).toEqual([["validation", 4, 3]]);
    const wiki = await loadLongEmbedTask(longEmbed(), task("longembed", "2wikimqa"));
    expect(wiki.splits[0]!.split).toBe("test");
  });

  it("names the dataset, file, row and field of a missing field, and the file when one is missing", async () => {
    const root = join(fixtureCopy(), "dwzhu/LongEmbed");
    appendFileSync(join(root, "qmsum/queries.jsonl"), `${JSON.stringify({ id: "q9", text: "no qid here" })}\n`);
    await expect(loadLongEmbedTask(longEmbed(root), task("longembed", "qmsum"))).rejects.toThrow(
      /dwzhu\/LongEmbed \(qmsum\): .*qmsum\/queries\.jsonl row 4: field "qid" should be a string, it is missing/,
    );
    rmSync(join(root, "2wikimqa/qrels.jsonl"));
    await expect(loadLongEmbedTask(longEmbed(root), task("longembed", "2wikimqa"))).rejects.toThrow(/dwzhu\/LongEmbed \(2wikimqa\): file .*2wikimqa\/qrels\.jsonl not found/);
  });

  it("warns with counts when qrels name documents missing from the corpus", async () => {
    const root = join(fixtureCopy(), "dwzhu/LongEmbed");
    appendFileSync(join(root, "narrativeqa/qrels.jsonl"), `${JSON.stringify({ qid: "narrativeqa_q0", doc_id: "gone" })}\n`);
    const data = await loadLongEmbedTask(longEmbed(root), task("longembed", "narrativeqa"));
    expect(data.warnings).toEqual([expect.stringMatching(/1 of 4 qrels entries \(in 1 queries\) name documents missing from the corpus, e\.g\. gone/)]);
  });
});

describe("BRIGHT loader (xlangai/BRIGHT layout)", () => {
  const bright = (root = join(FIXTURES, "xlangai/BRIGHT")) => local(root, "xlangai/BRIGHT");

  it("reads examples and documents parquet, with gold ids as qrels and excluded ids apart (N/A dropped)", async () => {
    const data = await loadBrightTask(bright(), task("bright", "biology"));
    const split = data.splits[0]!;
    expect(split.split).toBe("standard");
    expect(split.corpus).toHaveLength(5);
    expect(split.qrels).toEqual({ "0": { "bio_photosynthesis.txt": 1, "bio_autumn.txt": 1 }, "1": { "bio_mitochondria.txt": 1 } });
    expect(split.excluded).toEqual({ "0": ["bio_duplicate_post.txt"] });
    expect(looksLikeBright(join(FIXTURES, "xlangai/BRIGHT"))).toBe(true);
  });

  it("names the dataset, split and folder when a task's file is missing", async () => {
    await expect(loadBrightTask(bright(), task("bright", "leetcode"))).rejects.toThrow(/xlangai\/BRIGHT \(leetcode\): no file .*documents\/leetcode-\*\.parquet \(split "leetcode" of "documents"\)/);
    await expect(loadBrightTask(bright(), task("bright", "pony"), { long: true })).rejects.toThrow(/folder .*long_documents not found/);
  });
});

describe("FollowIR loader (jhu-clsp/*-instructions layout)", () => {
  it("reads corpus (title + text), queries with both instructions, both qrels and top_ranked", async () => {
    const root = join(FIXTURES, "jhu-clsp/robust04-instructions");
    const data = await loadFollowIrTask(local(root, "jhu-clsp/robust04-instructions"), task("followir", "robust04"));
    expect(data.corpus[0]).toEqual({ id: "d1", text: expect.stringMatching(/^Dam project The Three Gorges dam/) });
    expect(data.queries.map((q) => q.id)).toEqual(["q1", "q2"]);
    expect(data.queries[0]!.instructionChanged).toMatch(/not relevant/);
    expect(data.qrelsOg.q1).toEqual({ d1: 1, d2: 1, d4: 0 });
    expect(data.qrelsChanged.q2).toEqual({ d5: 0, d6: 1 });
    expect(data.topRanked.q1).toHaveLength(6);
  });

  it("names the field missing from a qrels row", async () => {
    const root = join(fixtureCopy(), "jhu-clsp/core17-instructions");
    writeFileSync(join(root, "qrels_changed/test.jsonl"), `${JSON.stringify({ "query-id": "q1", "corpus-id": "d1" })}\n`);
    await expect(loadFollowIrTask(local(root, "jhu-clsp/core17-instructions"), task("followir", "core17"))).rejects.toThrow(
      /jhu-clsp\/core17-instructions: .*qrels_changed\/test\.jsonl row 1: field "score" should be a number, it is missing/,
    );
  });
});

describe("MTEB 2.x layouts give the same task data as the older ones", () => {
  const without = <T extends { source: unknown }>(data: T) => ({ ...data, source: undefined });

  it("mteb/LEMBPasskeyRetrieval (a parquet split per length) equals dwzhu/LongEmbed passkey", async () => {
    const older = await loadLongEmbedTask(longEmbed(), task("longembed", "passkey"));
    const newer = await loadMtebLongEmbedTask(local(join(FIXTURES, "mteb/LEMBPasskeyRetrieval"), "mteb/LEMBPasskeyRetrieval"), task("longembed", "passkey"));
    expect(newer.splits.map((s) => s.split)).toEqual(["test_64", "test_128"]);
    expect(without(newer)).toEqual(without(older));
    const one = await loadMtebLongEmbedTask(local(join(FIXTURES, "mteb/LEMBPasskeyRetrieval"), "mteb/LEMBPasskeyRetrieval"), task("longembed", "passkey"), { contextLengths: [128] });
    expect(one.splits).toEqual(older.splits.slice(1));
    await expect(
      loadMtebLongEmbedTask(local(join(FIXTURES, "mteb/LEMBPasskeyRetrieval"), "mteb/LEMBPasskeyRetrieval"), task("longembed", "passkey"), { contextLengths: [256] }),
    ).rejects.toThrow(/corpus has no split for context_length 256 \(present: 64, 128\)/);
  });

  it("mteb/LEMBNarrativeQARetrieval (one test split) equals dwzhu/LongEmbed narrativeqa", async () => {
    const older = await loadLongEmbedTask(longEmbed(), task("longembed", "narrativeqa"));
    const newer = await loadMtebLongEmbedTask(local(join(FIXTURES, "mteb/LEMBNarrativeQARetrieval"), "mteb/LEMBNarrativeQARetrieval"), task("longembed", "narrativeqa"));
    expect(without(newer)).toEqual(without(older));
  });

  it("jhu-clsp/robust04-instructions-mteb (-og/-changed queries, instruction and qrel_diff configs) equals jhu-clsp/robust04-instructions", async () => {
    const older = await loadFollowIrTask(local(join(FIXTURES, "jhu-clsp/robust04-instructions"), "jhu-clsp/robust04-instructions"), task("followir", "robust04"));
    const newer = await loadMtebInstructionsTask(local(join(FIXTURES, "jhu-clsp/robust04-instructions-mteb"), "jhu-clsp/robust04-instructions-mteb"), task("followir", "robust04"));
    expect(without(newer)).toEqual(without(older));
    expect(newer.queries[0]).toMatchObject({ id: "q1", instructionOg: expect.stringMatching(/social impact/) });
  });

  it("mteb/Robust04InstructionRetrieval (test-* files, id, instruction column, qrels/) equals jhu-clsp/robust04-instructions", async () => {
    const older = await loadFollowIrTask(local(join(FIXTURES, "jhu-clsp/robust04-instructions"), "jhu-clsp/robust04-instructions"), task("followir", "robust04"));
    const reupload = await loadMtebInstructionsTask(local(join(FIXTURES, "mteb/Robust04InstructionRetrieval"), "mteb/Robust04InstructionRetrieval"), task("followir", "robust04"));
    expect(without(reupload)).toEqual(without(older));
    const data = tempDir();
    cpSync(join(FIXTURES, "mteb/Robust04InstructionRetrieval"), join(data, "mteb/Robust04InstructionRetrieval"), { recursive: true });
    writeFileSync(join(data, "mteb/Robust04InstructionRetrieval/REVISION"), "0495a5cb69aa8fa5bca81bd56ac248911c19eeb6\n");
    const empty = tempDir();
    const loaded = (await loadTask("followir", task("followir", "robust04"), { dataDir: data, env: { HF_HUB_CACHE: join(empty, "hub"), HF_HOME: empty } })) as FollowIrTaskData;
    expect(loaded.source).toMatchObject({ dataset: "mteb/Robust04InstructionRetrieval", revisionPolicy: "pinned" });
    expect(loaded.warnings).toEqual([]);
  });

  it("loadTask reads the newer copy when only it is there, at its own pinned revision", async () => {
    const data = tempDir();
    cpSync(join(FIXTURES, "jhu-clsp/robust04-instructions-mteb"), join(data, "jhu-clsp/robust04-instructions-mteb"), { recursive: true });
    writeFileSync(join(data, "jhu-clsp/robust04-instructions-mteb/REVISION"), "0a3efedfcac0a7f859c46cff3a0fac0f8747b28f\n");
    const empty = tempDir();
    const loaded = (await loadTask("followir", task("followir", "robust04"), { dataDir: data, env: { HF_HUB_CACHE: join(empty, "hub"), HF_HOME: empty } })) as FollowIrTaskData;
    expect(loaded.source).toMatchObject({ dataset: "jhu-clsp/robust04-instructions-mteb", revisionPolicy: "pinned" });
    expect(loaded.queries.map((q) => q.id)).toEqual(["q1", "q2"]);
  });

  it("warns when qrel_diff disagrees with the judgements, since p-MRR is scored from the judgements", async () => {
    const root = join(fixtureCopy(), "jhu-clsp/robust04-instructions-mteb");
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: "query-id", data: ["q1", "q2"] },
        { name: "corpus-ids", data: [["d2", "d3"], ["d5"]] },
      ],
    });
    writeFileSync(join(root, "qrel_diff/qrel_diff-00000-of-00001.parquet"), new Uint8Array(buffer));
    const data = await loadMtebInstructionsTask(local(root, "jhu-clsp/robust04-instructions-mteb"), task("followir", "robust04"));
    expect(data.warnings).toEqual([expect.stringMatching(/qrel_diff differs from the og\/changed judgements for 1 queries \(e\.g\. q1\)/)]);
  });
});

describe("finding datasets", () => {
  it("finds <data>/<org>/<name> folders and, without one, generates passkey but not narrativeqa", async () => {
    const found = (await loadTask("longembed", task("longembed", "narrativeqa"), { dataDir: FIXTURES })) as RetrievalTaskData;
    expect(found.source).toMatchObject({ kind: "local", dataset: "dwzhu/LongEmbed" });
    const empty = tempDir();
    const env = { HF_HUB_CACHE: join(empty, "hub"), HF_HOME: empty, HF_DATASETS_CACHE: join(empty, "ds") };
    const generated = (await loadTask("longembed", task("longembed", "passkey"), { dataDir: empty, env, generator: { contextLengths: [128], docsPerLength: 3, queriesPerLength: 1 } })) as RetrievalTaskData;
    expect(generated.source.kind).toBe("generated");
    await expect(loadTask("longembed", task("longembed", "narrativeqa"), { dataDir: empty, env })).rejects.toThrow(/dataset dwzhu\/LongEmbed not found/);
  });

  /** A hub cache holding `dataset` at `rev` (its snapshot a link to `folder`), with refs/main naming it. */
  const hubWith = (dataset: string, rev: string, folder: string) => {
    const hub = tempDir();
    const repo = join(hub, `datasets--${dataset.replace("/", "--")}`);
    mkdirSync(join(repo, "snapshots"), { recursive: true });
    mkdirSync(join(repo, "refs"));
    writeFileSync(join(repo, "refs/main"), rev);
    symlinkSync(folder, join(repo, "snapshots", rev));
    return { HF_HUB_CACHE: hub, HF_HOME: hub };
  };
  const NEWS21_PIN = "e0144086b45fe31ac125e9ac1a83b6a409bb6ca6"; // MTEB 1.14.12's jhu-clsp/news21-instructions
  const OTHER = "0123456789abcdef0123456789abcdef01234567";

  it("reads the pinned snapshot from the Hugging Face hub cache and records it", async () => {
    const env = hubWith("jhu-clsp/news21-instructions", NEWS21_PIN, join(FIXTURES, "jhu-clsp/news21-instructions"));
    const resolved = await resolveDataset("jhu-clsp/news21-instructions", () => true, { env, pin: NEWS21_PIN });
    expect(resolved?.source).toMatchObject({ kind: "hf-cache", revision: NEWS21_PIN, pinnedRevision: NEWS21_PIN, revisionPolicy: "pinned" });
    const data = (await loadTask("followir", task("followir", "news21"), { env })) as FollowIrTaskData;
    expect(data.source.revision).toBe(NEWS21_PIN);
  });

  it("stops with one line naming the dataset, the pin and the revision found when only another snapshot is cached", async () => {
    const env = hubWith("jhu-clsp/news21-instructions", OTHER, join(FIXTURES, "jhu-clsp/news21-instructions"));
    const error = await loadTask("followir", task("followir", "news21"), { env }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RevisionMismatch);
    expect((error as Error).message).toBe(
      `jhu-clsp/news21-instructions: the Hugging Face cache holds revision ${OTHER} (main), but tasks.json pins ${NEWS21_PIN}; ` +
        "download the pinned revision or pass --revision any to use it",
    );
    // --revision any reads it, and says so.
    const data = (await loadTask("followir", task("followir", "news21"), { env, revision: "any" })) as FollowIrTaskData;
    expect(data.source).toMatchObject({ revision: OTHER, pinnedRevision: NEWS21_PIN, revisionPolicy: "any" });
    expect(data.queries.length).toBeGreaterThan(0);
  });

  it("a mismatch does not fall back to generated data", async () => {
    const dataDir = fixtureCopy();
    rmSync(join(dataDir, "mteb"), { recursive: true }); // no other passkey source to fall back on either
    writeFileSync(join(dataDir, "dwzhu/LongEmbed/REVISION"), `${OTHER}\n`);
    const empty = tempDir();
    const env = { HF_HUB_CACHE: join(empty, "hub"), HF_HOME: empty };
    await expect(loadTask("longembed", task("longembed", "passkey"), { dataDir, env })).rejects.toThrow(
      new RegExp(`^dwzhu/LongEmbed: .*dwzhu/LongEmbed/REVISION says revision ${OTHER}, but tasks.json pins 6e346642246bfb4928c560ee08640dc84d074e8c; .*--revision any`),
    );
    const data = await loadTask("longembed", task("longembed", "passkey"), { dataDir, env, revision: "any" });
    expect(data.source).toMatchObject({ kind: "local", revision: OTHER, revisionPolicy: "any" });
    // Without a REVISION file a local folder is read as before, and recorded as unverified.
    rmSync(join(dataDir, "dwzhu/LongEmbed/REVISION"));
    expect((await loadTask("longembed", task("longembed", "passkey"), { dataDir, env })).source).toMatchObject({ revision: null, revisionPolicy: "unverified" });
  });
});
