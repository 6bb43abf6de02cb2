// The session cache through the Embedder: same embeddings with and without it, for fp32 and int4, and in a worker
// thread; int8 (MatMulNBits with int8 compute, which ORT restores wrongly) and bf16 (nothing pre-packed) are not
// cached, and say why. The notices say what it did. The cache's own rules (keys, damage, stale entries) are tested in
// @dembed/onnx.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder, sessionCacheFromEnv } from "../src/embedder.js";
import { createTinyModel } from "../src/tiny.js";
import { tempDir } from "./helpers.js";

const TEXTS = ["Hello world", "A longer sentence about embeddings, retrieval and padding.", "Dream"];

let root: { dir: string; cleanup: () => Promise<void> };
let saved: string | undefined;
beforeAll(async () => {
  root = await tempDir("session-cache");
  saved = process.env.DEMBED_CACHE;
  process.env.DEMBED_CACHE = join(root.dir, "cache");
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DEMBED_CACHE;
  else process.env.DEMBED_CACHE = saved;
  await root?.cleanup();
});

async function embed(dir: string, options: Parameters<typeof Embedder.load>[1]): Promise<{ vectors: Float32Array[]; notices: string[] }> {
  const notices: string[] = [];
  const embedder = await Embedder.load(dir, { threads: 1, ...options, onNotice: (m) => notices.push(m) });
  try {
    return { vectors: await embedder.encode(TEXTS), notices: notices.filter((m) => m.startsWith("session cache")) };
  } finally {
    await embedder.dispose();
  }
}

describe("Embedder with sessionCache", () => {
  it.each(["fp32", "int4"] as const)("%s: writes, then opens, and embeds exactly as without it", async (weights) => {
    const dir = await createTinyModel("Dream", join(root.dir, `dream-${weights}`), { seed: 4, dtype: "BF16" });
    const plain = await embed(dir, { weights });
    expect(plain.notices).toEqual([]);
    const first = await embed(dir, { weights, sessionCache: true });
    expect(first.notices).toEqual([expect.stringMatching(/^session cache: wrote .*sessions\/[0-9a-f]{16}-[0-9a-f]{16} \(\d+\.\d\d GiB\); the next run opens from it$/)]);
    const second = await embed(dir, { weights, sessionCache: true, worker: true });
    expect(second.notices).toEqual([expect.stringMatching(/^session cache: opened .*sessions\/[0-9a-f]{16}-[0-9a-f]{16}$/)]);
    expect(first.vectors).toEqual(plain.vectors);
    expect(second.vectors).toEqual(plain.vectors);
  });

  it.each([
    ["int8", /^session cache: not written \(ONNX Runtime [\d.]+ restores the pre-packed weights of MatMulNBits with accuracy_level 4 wrongly/],
    ["bf16", /^session cache: not used for --weights bf16 /],
  ] as const)("%s: not cached, and says why; embeds as without it", async (weights, said) => {
    const dir = await createTinyModel("Dream", join(root.dir, `dream-${weights}`), { seed: 4, dtype: "BF16" });
    const plain = await embed(dir, { weights });
    const asked = await embed(dir, { weights, sessionCache: true });
    expect(asked.notices).toEqual([expect.stringMatching(said)]);
    expect(asked.vectors).toEqual(plain.vectors);
  });

  it("an int4 and an fp32 session of one checkpoint are separate entries; nothing else was written", async () => {
    const entries = await readdir(join(root.dir, "cache", "sessions"));
    expect(entries.filter((e) => /^[0-9a-f]{16}-[0-9a-f]{16}$/.test(e))).toHaveLength(2);
  });

  it("DEMBED_SESSION_CACHE turns it on with 1, off with 0 or unset, and refuses anything else", () => {
    expect(sessionCacheFromEnv({})).toBe(false);
    expect(sessionCacheFromEnv({ DEMBED_SESSION_CACHE: "0" })).toBe(false);
    expect(sessionCacheFromEnv({ DEMBED_SESSION_CACHE: "1" })).toBe(true);
    expect(() => sessionCacheFromEnv({ DEMBED_SESSION_CACHE: "yes" })).toThrow('DEMBED_SESSION_CACHE must be 1 or 0, got "yes"');
  });
});
