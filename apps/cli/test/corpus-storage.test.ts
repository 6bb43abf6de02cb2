// `--corpus-storage`: document vectors kept at int8 in the embedding cache, stated in the report, and a run from the
// cache scoring exactly as the run that filled it.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as bench } from "../src/commands/bench.js";

let root: string;
beforeAll(async () => void (root = await mkdtemp(join(tmpdir(), "dembed-corpus-storage-"))));
afterAll(async () => rm(root, { recursive: true, force: true }));

async function dembed(...args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command("dembed").exitOverride().configureOutput({ writeErr: (s) => void (err += s) });
  bench(program);
  let out = "";
  let err = "";
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true)),
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true)),
  ];
  try {
    await program.parseAsync(["node", "dembed", ...args]);
  } catch (e) {
    err += String(e);
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return { out, err };
}

/** Every MTEB result file's scores under a results folder, by path below it. */
async function resultScores(dir: string): Promise<Record<string, unknown>> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".json") && !f.endsWith("model_meta.json"));
  expect(files.length).toBeGreaterThan(0);
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, JSON.parse(await readFile(join(dir, f), "utf8")).scores])));
}

describe("bench --corpus-storage", () => {
  it("writes int8 document shards, says so in the report, and scores the same from the cache", async () => {
    const cache = join(root, "cache");
    const args = ["longembed", "--model", "tiny", "--tasks", "passkey", "--lengths", "128", "--queries-per-length", "4", "--docs-per-length", "6", "--cache", cache, "--corpus-storage", "int8"];
    const first = await dembed("bench", ...args, "--out", join(root, "a"));
    expect(first.err).not.toMatch(/error/i);
    const report = await readFile(first.out.trim().split("\n")[0]!, "utf8");
    expect(report).toContain("Document vectors: stored as int8 with a scale per vector");
    const keys = await Promise.all((await readdir(cache)).map(async (d) => ({ d, key: JSON.parse(await readFile(join(cache, d, "key.json"), "utf8")).key })));
    const documents = keys.find((k) => k.key.role === "document")!;
    expect(documents.key.storage).toBe("int8");
    expect(keys.find((k) => k.key.role === "query")!.key.storage).toBeUndefined(); // queries stay fp32
    const shard = (await readdir(join(cache, documents.d))).find((f) => f.endsWith(".arrow"))!;
    expect(String(tableFromIPC(await readFile(join(cache, documents.d, shard))).getChild("embedding")!.type)).toBe("FixedSizeList[64]<Int8>");

    const second = await dembed("bench", ...args, "--out", join(root, "b"));
    expect(second.err).toMatch(/stage times: data [\d.]+ s, embedding cache/);
    expect(second.err).not.toMatch(/stage times:.*model/); // every vector came from the cache
    expect(await resultScores(join(root, "b"))).toEqual(await resultScores(join(root, "a")));
  }, 120_000);

  it("refuses a width it does not know", async () => {
    const { err } = await dembed("bench", "longembed", "--model", "tiny", "--corpus-storage", "bf16");
    expect(err).toMatch(/argument 'bf16' is invalid\. Allowed choices are f32, f16, int8/);
  });
});
