import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { storedVector } from "@dembed/retrieval";
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

/** Hashing vectors scaled by an irrational step, so fp16 and int8 storage really round them. */
class FractionalEncoder extends HashingEncoder {
  override async encode(texts: string[], options: EncodeOptions): Promise<EncodeResult> {
    const result = await super.encode(texts, options);
    return { ...result, embeddings: result.embeddings.map((v) => v.map((x, d) => x * Math.PI + Math.sin(d) * 1e-3)) };
  }
}

describe("narrower corpus storage", () => {
  const texts = Array.from({ length: 10 }, (_, i) => `text number ${i} about topic ${i % 3}`);

  for (const storage of ["f16", "int8"] as const) {
    it(`${storage}: shards hold ${storage} codes; fresh, cached and resumed runs return the same rounded vectors`, async () => {
      const cacheDir = tempDir();
      const uncached = await embedTexts(new FractionalEncoder({ dim: 16 }), texts, { role: "document", storage });
      const exact = await embedTexts(new FractionalEncoder({ dim: 16 }), texts, { role: "document" });
      uncached.vectors.forEach((v, i) => expect([...v]).toEqual([...storedVector(exact.vectors[i]!, storage)]));
      expect(uncached.vectors.some((v, i) => v.some((x, d) => x !== exact.vectors[i]![d]))).toBe(true); // really rounded

      const failing = new (class extends FractionalEncoder {
        override async encode(t: string[], o: EncodeOptions): Promise<EncodeResult> {
          if (this.calls === 2) throw new Error("interrupted");
          return super.encode(t, o);
        }
      })({ dim: 16 });
      await expect(embedTexts(failing, texts, { role: "document", batchSize: 3, cacheDir, storage })).rejects.toThrow("interrupted");
      const resumed = await embedTexts(new FractionalEncoder({ dim: 16 }), texts, { role: "document", batchSize: 3, cacheDir, storage });
      expect(resumed).toMatchObject({ cached: 6, encoded: 4 });
      const cached = await embedTexts(new FractionalEncoder({ dim: 16 }), texts, { role: "document", batchSize: 3, cacheDir: `${cacheDir}/`, storage });
      expect(cached).toMatchObject({ cached: 10, encoded: 0 });
      for (const run of [resumed, cached]) expect(run.vectors.map((v) => [...v])).toEqual(uncached.vectors.map((v) => [...v]));

      const [folder] = readdirSync(cacheDir);
      const shard = readdirSync(join(cacheDir, folder!)).find((f) => f.endsWith(".arrow"))!;
      const table = tableFromIPC(readFileSync(join(cacheDir, folder!, shard)));
      const columns = table.schema.fields.map((f) => `${f.name}:${f.type}`);
      expect(columns).toEqual(
        storage === "f16"
          ? ["id:Utf8", "embedding:FixedSizeList[16]<Float16>", "truncated:Bool"]
          : ["id:Utf8", "embedding:FixedSizeList[16]<Int8>", "scale:Float32", "truncated:Bool"],
      );
      expect(JSON.parse(readFileSync(join(cacheDir, folder!, "key.json"), "utf8")).key.storage).toBe(storage);
    });
  }

  it("keeps each width in its own folder, with fp32's folder unchanged, and moves aside a shard of another width", async () => {
    const cacheDir = tempDir();
    const encoder = new FractionalEncoder({ dim: 16 });
    await embedTexts(encoder, texts, { role: "document", cacheDir });
    const [f32Folder] = readdirSync(cacheDir);
    expect(EmbeddingCache.open(cacheDir, { encoder: encoder.cacheKey, role: "document", instruction: "" }).dir).toBe(join(cacheDir, f32Folder!));
    expect(await embedTexts(encoder, texts, { role: "document", cacheDir, storage: "int8" })).toMatchObject({ cached: 0, encoded: 10 });
    const int8Folder = readdirSync(cacheDir).find((f) => f !== f32Folder)!;
    const f32Shard = readdirSync(join(cacheDir, f32Folder!)).find((f) => f.endsWith(".arrow"))!;
    writeFileSync(join(cacheDir, int8Folder, "shard-stray.arrow"), readFileSync(join(cacheDir, f32Folder!, f32Shard)));
    const warnings: string[] = [];
    const cache = EmbeddingCache.open(cacheDir, { encoder: encoder.cacheKey, role: "document", instruction: "", storage: "int8" }, { onWarning: (m) => warnings.push(m) });
    expect(warnings.join("\n")).toMatch(/shard-stray\.arrow is damaged \(its embeddings are Float32 where this cache stores Int8 \(--corpus-storage int8\)\); moved to/);
    expect(cache.size).toBe(10);
  });

  it("names the text whose vector cannot be stored", async () => {
    const nan = new (class extends HashingEncoder {
      override async encode(t: string[], o: EncodeOptions): Promise<EncodeResult> {
        const result = await super.encode(t, o);
        return { ...result, embeddings: result.embeddings.map((v, i) => (t[i] === "bad one" ? v.map(() => NaN) : v)) };
      }
    })({ dim: 4 });
    await expect(embedTexts(nan, ["fine", "bad one"], { role: "document", storage: "int8" })).rejects.toThrow('vector storage: vector of text "bad one" has NaN at index 0');
  });
});
