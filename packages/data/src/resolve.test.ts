import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../test/support/fixtures.js";
import { findSplitFiles, hfCacheLocations, resolveHfDataset, resolveHfDatasetDir } from "./resolve.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function touch(path: string, text = "x"): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
}

/** A Hub cache entry as huggingface_hub lays it out: blobs, refs/main, snapshots/<rev> of symlinks. */
async function hubDataset(hub: string, repo: string, rev: string, files: string[]): Promise<string> {
  const repoDir = join(hub, `datasets--${repo.replace("/", "--")}`);
  await touch(join(repoDir, "refs", "main"), `${rev}\n`);
  for (const [i, file] of files.entries()) {
    const blob = join(repoDir, "blobs", `blob${i}`);
    await touch(blob);
    await mkdir(join(repoDir, "snapshots", rev, file, ".."), { recursive: true });
    await symlink(blob, join(repoDir, "snapshots", rev, file));
  }
  return join(repoDir, "snapshots", rev);
}

describe("hfCacheLocations", () => {
  it("follows HF_HUB_CACHE, HF_HOME and HF_DATASETS_CACHE", () => {
    expect(hfCacheLocations({ HF_HOME: "/h" })).toEqual({ hub: ["/h/hub"], datasets: ["/h/datasets"] });
    expect(hfCacheLocations({ HF_HUB_CACHE: "/a", HF_HOME: "/h", HF_DATASETS_CACHE: "/d" })).toEqual({ hub: ["/a", "/h/hub"], datasets: ["/d", "/h/datasets"] });
    expect(hfCacheLocations({ XDG_CACHE_HOME: "/x" }).hub).toEqual(["/x/huggingface/hub"]);
  });
});

describe("resolveHfDataset", () => {
  it("finds the split's shards of an org/name in the Hub cache, through refs/main", async () => {
    const hub = join(dir, "hf", "hub");
    const snapshot = await hubDataset(hub, "samaya-ai/msmarco-w-instructions", "abc123", [
      "README.md",
      "data/train-00001-of-00002.parquet",
      "data/train-00000-of-00002.parquet",
      "data/dev-00000-of-00001.parquet",
    ]);
    const env = { HF_HOME: join(dir, "hf") };
    const found = await resolveHfDataset("samaya-ai/msmarco-w-instructions", { env });
    expect(found).toMatchObject({ via: "hub-cache", root: snapshot, format: "parquet", split: "train" });
    expect(found.files.map((f) => f.slice(snapshot.length + 1))).toEqual(["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    // "dev" and "val" name the validation split too
    const validation = await resolveHfDataset("samaya-ai/msmarco-w-instructions", { env, split: "validation" });
    expect(validation.files).toEqual([join(snapshot, "data/dev-00000-of-00001.parquet")]);
    expect((await resolveHfDatasetDir("samaya-ai/msmarco-w-instructions", { env })).root).toBe(snapshot);
  });

  it("needs a config when a split exists in several folders, and uses it", async () => {
    const root = join(dir, "bright");
    for (const f of ["examples/biology-00000-of-00001.parquet", "documents/biology-00000-of-00001.parquet", "documents/leetcode-00000-of-00001.parquet"]) await touch(join(root, f));
    await expect(resolveHfDataset(root, { split: "biology" })).rejects.toThrow(/several configs \(documents, examples\); pass a config/);
    const docs = await resolveHfDataset(root, { split: "biology", config: "documents" });
    expect(docs.files).toEqual([join(root, "documents/biology-00000-of-00001.parquet")]);
  });

  it("treats files that name no split as train, and takes a file path as is", async () => {
    const root = join(dir, "plain");
    await touch(join(root, "reasonaug.jsonl"));
    expect((await resolveHfDataset(root)).files).toEqual([join(root, "reasonaug.jsonl")]);
    expect(await resolveHfDataset(join(root, "reasonaug.jsonl"))).toMatchObject({ via: "path", format: "jsonl" });
  });

  it("finds the Arrow files the datasets library caches", async () => {
    const cache = join(dir, "dscache");
    const hashDir = join(cache, "siyue___reason-aug", "default", "0.0.0", "f00d");
    await touch(join(hashDir, "reason-aug-train-00000-of-00002.arrow"));
    await touch(join(hashDir, "reason-aug-train-00001-of-00002.arrow"));
    await touch(join(hashDir, "reason-aug-test.arrow"));
    const found = await resolveHfDataset("siyue/reason-aug", { env: { HF_HOME: join(dir, "nothing"), HF_DATASETS_CACHE: cache } });
    expect(found).toMatchObject({ via: "datasets-cache", format: "arrow", config: "default" });
    expect(found.files.map((f) => f.slice(hashDir.length + 1))).toEqual(["reason-aug-train-00000-of-00002.arrow", "reason-aug-train-00001-of-00002.arrow"]);
  });

  it("reads a pinned commit's snapshot, and names both revisions when the cache holds another", async () => {
    const hub = join(dir, "pinned", "hub");
    const [held, other] = ["a".repeat(40), "b".repeat(40)];
    const snapshot = await hubDataset(hub, "org/pinned", held, ["data/train-00000-of-00001.parquet"]);
    const env = { HF_HOME: join(dir, "pinned") };
    expect((await resolveHfDataset("org/pinned", { env, revision: held })).root).toBe(snapshot);
    const error = await resolveHfDataset("org/pinned", { env, revision: other }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(new RegExp(`revision ${other} asked for; the cache holds ${held}`));
  });

  it("says everywhere it looked when nothing is found", async () => {
    const env = { HF_HOME: join(dir, "empty-home") };
    const error = await resolveHfDataset("nobody/nothing", { env }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/Dataset "nobody\/nothing" \(split "train"\) not found\. Looked in:/);
    expect((error as Error).message).toContain(join(dir, "empty-home", "hub", "datasets--nobody--nothing"));
    expect((error as Error).message).toContain(join(dir, "empty-home", "datasets", "nobody___nothing"));
    expect((error as Error).message).toMatch(/nothing: does not exist/);
  });

  it("reports a folder without the asked split", async () => {
    const root = join(dir, "onlytrain");
    await touch(join(root, "data", "train-00000-of-00001.parquet"));
    await expect(findSplitFiles(root, "test")).resolves.toEqual({ problem: expect.stringMatching(/no file names split "test"/) });
  });
});
