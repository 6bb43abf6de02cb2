import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddingCache, textHash } from "./cache.js";
import { embedTexts } from "./embed.js";
import { HashingEncoder, type EncodeOptions, type EncodeResult } from "./encoder.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "dembed-cache-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const key = { encoder: { model: "m", maxLength: 8 }, role: "document" as const, instruction: "" };

describe("EmbeddingCache", () => {
  it("writes Arrow IPC shards with id, fixed-size-list embedding and truncated columns, and reads them back", () => {
    const root = tempDir();
    const cache = EmbeddingCache.open(root, key, { shardSize: 2 });
    cache.put(["a", "b", "c"], [Float32Array.of(1, 2), Float32Array.of(3, 4), Float32Array.of(5, 6)], [false, true, false]);
    const shards = readdirSync(cache.dir).filter((f) => f.endsWith(".arrow"));
    expect(shards).toHaveLength(1); // a full shard of 2; "c" waits for flush
    cache.flush();
    const bytes = readFileSync(join(cache.dir, readdirSync(cache.dir).filter((f) => f.endsWith(".arrow")).sort()[0]!));
    // The Arrow IPC file format (Feather v2) that pandas, polars and DuckDB open: "ARROW1" at both ends.
    expect(bytes.subarray(0, 6).toString("latin1")).toBe("ARROW1");
    expect(bytes.subarray(bytes.length - 6).toString("latin1")).toBe("ARROW1");
    const table = tableFromIPC(bytes);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(["id:Utf8", "embedding:FixedSizeList[2]<Float32>", "truncated:Bool"]);

    const reopened = EmbeddingCache.open(root, key);
    expect(reopened.size).toBe(3);
    expect(reopened.dim).toBe(2);
    const got = reopened.getMany(["c", "a", "zzz"]);
    expect([...got.keys()].sort()).toEqual(["a", "c"]);
    expect([...got.get("c")!.vector]).toEqual([5, 6]);
    expect(reopened.getMany(["b"]).get("b")!.truncated).toBe(true);
  });

  it("keeps different keys apart and refuses vectors of another size", () => {
    const root = tempDir();
    const a = EmbeddingCache.open(root, key);
    a.put(["x"], [Float32Array.of(1, 1)]);
    a.flush();
    const b = EmbeddingCache.open(root, { ...key, role: "query" });
    expect(b.has("x")).toBe(false);
    expect(() => a.put(["y"], [Float32Array.of(1, 2, 3)])).toThrow(/has 3 dims, the cache holds 2/);
  });

  it("ignores a half-written temp file left by a crash", () => {
    const root = tempDir();
    const cache = EmbeddingCache.open(root, key);
    writeFileSync(join(cache.dir, "shard-x.arrow.tmp-1-abcd"), "garbage");
    expect(EmbeddingCache.open(root, key).size).toBe(0);
  });

  it("removes a temp file whose writer is gone, and keeps a live writer's", () => {
    const root = tempDir();
    const cache = EmbeddingCache.open(root, key);
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    writeFileSync(join(cache.dir, `shard-x.arrow.tmp-${dead}-abcd`), "garbage");
    writeFileSync(join(cache.dir, `shard-y.arrow.tmp-${process.pid}-abcd`), "in the making");
    EmbeddingCache.open(root, key);
    expect(readdirSync(cache.dir).filter((f) => f.includes(".tmp-"))).toEqual([`shard-y.arrow.tmp-${process.pid}-abcd`]);
  });

  it("reports a damaged shard, moves it aside and embeds its texts again", async () => {
    const cacheDir = tempDir();
    const texts = ["alpha", "beta", "gamma"];
    // Written through another root spelling: the next embedTexts then opens the folder afresh, as a new process would.
    await embedTexts(new HashingEncoder({ dim: 8 }), texts, { role: "document", batchSize: 8, cacheDir: `${cacheDir}/` });
    const dir = readdirSync(cacheDir).map((d) => join(cacheDir, d))[0]!;
    const shard = readdirSync(dir).find((f) => f.endsWith(".arrow"))!;
    truncateSync(join(dir, shard), 40);
    const warnings: string[] = [];
    const cache = EmbeddingCache.open(cacheDir, { encoder: new HashingEncoder({ dim: 8 }).cacheKey, role: "document", instruction: "" }, { onWarning: (m) => warnings.push(m) });
    expect(warnings.join("\n")).toMatch(new RegExp(`shard .*${shard} is damaged .*moved to .*${shard}\\.damaged`));
    expect(cache.size).toBe(0);
    const again = await embedTexts(new HashingEncoder({ dim: 8 }), texts, { role: "document", batchSize: 8, cacheDir });
    expect(again).toMatchObject({ cached: 0, encoded: 3 });
  });
});

/** Fails on the n-th call, as a process killed mid-run would stop. */
class FailingEncoder extends HashingEncoder {
  constructor(private readonly failOnCall: number) {
    super({ dim: 16 });
  }
  override async encode(texts: string[], options: EncodeOptions): Promise<EncodeResult> {
    if (this.calls + 1 === this.failOnCall) throw new Error("interrupted");
    return super.encode(texts, options);
  }
}

describe("embedTexts with the cache", () => {
  const texts = Array.from({ length: 10 }, (_, i) => `text number ${i} about topic ${i % 3}`);

  it("misses, then hits: a second run encodes nothing and returns the same vectors", async () => {
    const cacheDir = tempDir();
    const first = new HashingEncoder({ dim: 16 });
    const a = await embedTexts(first, [...texts, texts[0]!], { role: "document", batchSize: 3, cacheDir });
    expect(a).toMatchObject({ cached: 0, encoded: 10 });
    expect(first.textsEncoded).toBe(10); // the duplicate was embedded once
    const second = new HashingEncoder({ dim: 16 });
    const b = await embedTexts(second, texts, { role: "document", batchSize: 3, cacheDir });
    expect(b).toMatchObject({ cached: 10, encoded: 0 });
    expect(second.calls).toBe(0);
    expect(b.vectors.map((v) => [...v])).toEqual(a.vectors.slice(0, 10).map((v) => [...v]));
  });

  it("a different instruction or max length is a different key", async () => {
    const cacheDir = tempDir();
    await embedTexts(new HashingEncoder({ dim: 16 }), texts, { role: "query", cacheDir });
    const other = new HashingEncoder({ dim: 16 });
    expect(await embedTexts(other, texts, { role: "query", instruction: "Retrieve:", cacheDir })).toMatchObject({ cached: 0 });
    const shorter = new HashingEncoder({ dim: 16, maxLength: 2 });
    const r = await embedTexts(shorter, texts, { role: "query", cacheDir });
    expect(r).toMatchObject({ cached: 0, encoded: 10, truncated: 10 });
    expect(await embedTexts(shorter, texts, { role: "query", cacheDir })).toMatchObject({ cached: 10, truncated: 10, truncationUnknown: 0 });
  });

  it("resumes after an interrupt, embedding only what is missing", async () => {
    const cacheDir = tempDir();
    const failing = new FailingEncoder(3);
    await expect(embedTexts(failing, texts, { role: "document", batchSize: 3, cacheDir })).rejects.toThrow("interrupted");
    // What the two finished batches embedded is on disk, as a fresh process would find it.
    expect(EmbeddingCache.open(cacheDir, { encoder: failing.cacheKey, role: "document", instruction: "" }).size).toBe(6);
    const resumed = new HashingEncoder({ dim: 16 });
    const r = await embedTexts(resumed, texts, { role: "document", batchSize: 3, cacheDir });
    expect(r).toMatchObject({ cached: 6, encoded: 4 });
    expect(resumed.textsEncoded).toBe(4);
    const fresh = await embedTexts(new HashingEncoder({ dim: 16 }), texts, { role: "document" });
    expect(r.vectors.map((v) => [...v])).toEqual(fresh.vectors.map((v) => [...v]));
  });

  it("hashes texts with SHA-256", () => {
    expect(textHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
