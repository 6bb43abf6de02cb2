import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DownloadError, downloadToHubCache } from "./download.js";
import { Embedder } from "./embedder.js";
import { ModelNotFoundError, resolveModel } from "./resolve.js";
import { openCheckpoint } from "./safetensors/index.js";
import { createTinyModel } from "./tiny.js";

const HUB = "https://hub.test";
const REPO = "org/tiny";
const COMMIT = "c".repeat(40);
const LFS = new Set(["model.safetensors", "model-00001-of-00001.safetensors", "tokenizer.json", "pytorch_model.bin"]);

interface FakeRepo {
  files: Map<string, Buffer>;
  /** Required bearer token, as a gated repo wants. */
  token?: string;
  /** Files whose body breaks off halfway, or arrives with one byte changed. */
  breakBody?: Set<string>;
  corrupt?: Set<string>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitOid = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

/** Answers the four hub requests @huggingface/hub makes (revision info, tree, size probe, file body), logging each URL. */
function fakeHub(repo: FakeRepo) {
  const calls: string[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    calls.push(url.pathname);
    const headers = new Headers(init?.headers);
    if (repo.token !== undefined && headers.get("authorization") !== `Bearer ${repo.token}`) {
      return Response.json({ error: "Access to model org/tiny is restricted." }, { status: 401 });
    }
    const api = url.pathname.match(/^\/api\/models\/org\/tiny\/(revision|tree)\/([^/]+)$/);
    if (api?.[1] === "revision") return Response.json({ _id: "x", id: REPO, sha: api[2] === "main" ? COMMIT : "not-a-sha", private: false });
    if (api?.[1] === "tree" && api[2] === COMMIT) {
      return Response.json(
        [...repo.files].map(([path, body]) => ({
          type: "file",
          path,
          size: LFS.has(path) ? 135 : body.length,
          oid: gitOid(Buffer.from(`pointer ${path}`)),
          ...(LFS.has(path) ? { lfs: { oid: sha256(body), size: body.length, pointerSize: 135 } } : { oid: gitOid(body) }),
        })),
      );
    }
    const file = url.pathname.match(/^\/org\/tiny\/resolve\/c{40}\/(.+)$/)?.[1];
    const body = file === undefined ? undefined : repo.files.get(file);
    if (file === undefined || body === undefined) return new Response("not found", { status: 404, headers: { "X-Error-Code": "EntryNotFound" } });
    if (headers.get("range") === "bytes=0-0") {
      return new Response(body.subarray(0, 1), { status: 206, headers: { "Content-Range": `bytes 0-0/${body.length}`, ETag: `"${sha256(body)}"` } });
    }
    if (repo.corrupt?.has(file)) return new Response(Buffer.concat([body.subarray(0, 10), Buffer.from([body[10]! ^ 1]), body.subarray(11)]));
    if (repo.breakBody?.has(file)) {
      const half = body.subarray(0, body.length >> 1);
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (half.length > 0 && !(this as { sent?: boolean }).sent) {
            (this as { sent?: boolean }).sent = true;
            controller.enqueue(new Uint8Array(half));
          } else controller.error(new Error("connection reset"));
        },
      });
      return new Response(stream);
    }
    return new Response(new Uint8Array(body));
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls, spy: fetch };
}

let root: string;
let source: string;
let files: Map<string, Buffer>;
const caches: string[] = [];
const newCache = async () => {
  const dir = await mkdtemp(join(root, "hub-"));
  caches.push(dir);
  return dir;
};
const repoDir = (cache: string) => join(cache, "models--org--tiny");
const snapshotOf = (cache: string) => join(repoDir(cache), "snapshots", COMMIT);

/** Every path under dir, relative, with temp and partial files easy to spot. */
async function tree(dir: string): Promise<string[]> {
  try {
    return ((await readdir(dir, { recursive: true })) as string[]).sort();
  } catch {
    return [];
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-download-"));
  source = await createTinyModel("qwen2", join(root, "source"), { seed: 3 });
  files = new Map();
  for (const name of await readdir(source)) files.set(name, await readFile(join(source, name)));
  files.set("README.md", Buffer.from("# tiny\n"));
  files.set("pytorch_model.bin", Buffer.from("a pickle that must never be fetched"));
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("resolveModel with allowDownload", () => {
  it("downloads config, tokenizer and weights into the hub cache layout, which later offline runs find", async () => {
    const cache = await newCache();
    const hub = fakeHub({ files });
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: HUB };
    const got = await resolveModel(REPO, { env, allowDownload: true, fetch: hub.fetch });
    expect(got).toEqual({ dir: snapshotOf(cache), source: "hf-download", repoId: REPO, revision: "main", commit: COMMIT });

    expect((await readdir(got.dir)).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    for (const name of ["config.json", "model.safetensors"]) {
      const link = join(got.dir, name);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      const etag = LFS.has(name) ? sha256(files.get(name)!) : gitOid(files.get(name)!);
      expect(await readlink(link)).toBe(join("..", "..", "blobs", etag));
      expect((await readFile(link)).equals(files.get(name)!)).toBe(true);
    }
    expect((await readFile(join(repoDir(cache), "refs", "main"), "utf8")).trim()).toBe(COMMIT);
    expect(hub.calls.some((c) => c.endsWith("pytorch_model.bin") || c.endsWith("README.md"))).toBe(false);
    expect((await tree(repoDir(cache))).filter((p) => /\.(tmp|incomplete)$/.test(p))).toEqual([]);

    const offline = { ...env, HF_HUB_OFFLINE: "1" };
    expect(await resolveModel(REPO, { env: offline })).toMatchObject({ dir: got.dir, source: "hf-cache", commit: COMMIT });
    const fromCache = await Embedder.load(REPO, { resolve: { env: offline }, maxLength: 32 });
    const fromSource = await Embedder.load(source, { maxLength: 32 });
    try {
      const [a] = await fromCache.encode(["a downloaded model embeds"]);
      const [b] = await fromSource.encode(["a downloaded model embeds"]);
      expect(a!.length).toBe(64);
      expect(Array.from(a!)).toEqual(Array.from(b!));
    } finally {
      await fromCache.dispose();
      await fromSource.dispose();
    }
  }, 60_000);

  it("never calls fetch without allowDownload, nor with HF_HUB_OFFLINE set", async () => {
    const cache = await newCache();
    const hub = fakeHub({ files });
    const global = vi.spyOn(globalThis, "fetch");
    try {
      await expect(resolveModel(REPO, { env: { HF_HUB_CACHE: cache }, fetch: hub.fetch })).rejects.toThrow(/Downloading was not allowed/);
      for (const value of ["1", "true", "ON"]) {
        await expect(resolveModel(REPO, { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: value }, allowDownload: true, fetch: hub.fetch })).rejects.toThrow(
          new RegExp(`disabled by HF_HUB_OFFLINE=${value}`),
        );
      }
      expect(hub.spy).not.toHaveBeenCalled();
      expect(global).not.toHaveBeenCalled();
      expect(await tree(cache)).toEqual([]);
    } finally {
      global.mockRestore();
    }
  });

  it("leaves nothing partial in snapshots/ and no ref when a download breaks off, and a retry completes it", async () => {
    const cache = await newCache();
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: HUB };
    for (const fault of ["breakBody", "corrupt"] as const) {
      const broken = fakeHub({ files, [fault]: new Set(["model.safetensors"]) });
      const error = await resolveModel(REPO, { env, allowDownload: true, fetch: broken.fetch }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelNotFoundError);
      expect((error as Error).cause).toBeInstanceOf(DownloadError);
      expect((error as Error).message).toMatch(
        fault === "corrupt" ? /model\.safetensors: content sha256 is [0-9a-f]{64}, the hub listed/ : /model\.safetensors: (download failed|got \d+ bytes)/,
      );
      expect(await tree(snapshotOf(cache))).toEqual(["config.json", "tokenizer.json", "tokenizer_config.json"]);
      expect((await tree(join(repoDir(cache), "blobs"))).filter((p) => !/^[0-9a-f]+$/.test(p))).toEqual([]);
      expect(await tree(join(repoDir(cache), "refs"))).toEqual([]);
      await expect(resolveModel(REPO, { env })).rejects.toThrow(/refs\/main: no such ref/);
    }

    const progress: [string, boolean][] = [];
    const hub = fakeHub({ files });
    const got = await resolveModel(REPO, { env, allowDownload: true, fetch: hub.fetch, onDownload: (file, _bytes, cached) => progress.push([file, cached]) });
    expect(got.source).toBe("hf-download");
    expect(progress).toEqual([
      ["config.json", true],
      ["tokenizer.json", true],
      ["tokenizer_config.json", true],
      ["model.safetensors", false],
    ]);
    // Cached blobs are reused, not fetched again.
    expect(hub.calls.filter((c) => c.includes("/resolve/")).every((c) => c.endsWith("model.safetensors"))).toBe(true);
  }, 60_000);

  it("completes a cached snapshot that has no weights instead of using it", async () => {
    const cache = await newCache();
    await mkdir(snapshotOf(cache), { recursive: true });
    await writeFile(join(snapshotOf(cache), "config.json"), files.get("config.json")!);
    await mkdir(join(repoDir(cache), "refs"));
    await writeFile(join(repoDir(cache), "refs", "main"), COMMIT);
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: HUB };
    expect((await resolveModel(REPO, { env })).source).toBe("hf-cache");
    const got = await resolveModel(REPO, { env, allowDownload: true, fetch: fakeHub({ files }).fetch });
    expect(got.source).toBe("hf-download");
    expect(await tree(got.dir)).toContain("model.safetensors");
  });

  it("sends HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) for gated repos, and says so when it is missing", async () => {
    const token = "hf_fake_test_token";
    const hub = fakeHub({ files, token });
    const cache = await newCache();
    await expect(resolveModel(REPO, { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: HUB }, allowDownload: true, fetch: hub.fetch })).rejects.toThrow(
      /restricted[\s\S]*gated or private: set HF_TOKEN/,
    );
    for (const variable of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]) {
      const env = { HF_HUB_CACHE: await newCache(), HF_ENDPOINT: HUB, [variable]: token };
      expect((await resolveModel(REPO, { env, allowDownload: true, fetch: hub.fetch })).source).toBe("hf-download");
    }
  });
});

describe("downloadToHubCache", () => {
  it("follows a safetensors index to its shards and opens them as one checkpoint", async () => {
    const shard = "model-00001-of-00001.safetensors";
    const checkpoint = await openCheckpoint(source);
    const weightMap = Object.fromEntries(checkpoint.names().map((n) => [n, shard]));
    const sharded = new Map(files);
    sharded.delete("model.safetensors");
    sharded.set(shard, files.get("model.safetensors")!);
    sharded.set("model.safetensors.index.json", Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })));
    const cache = await newCache();
    const got = await downloadToHubCache({ repoId: REPO, revision: COMMIT, cacheDir: cache, hubUrl: HUB, fetch: fakeHub({ files: sharded }).fetch });
    expect(got.files).toEqual(["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json", shard]);
    // A commit hash needs no ref.
    expect(await tree(join(repoDir(cache), "refs"))).toEqual([]);
    expect((await openCheckpoint(got.dir)).names()).toEqual(checkpoint.names());
  });

  it("refuses repos with only pickled weights, a shard outside the listing, and a bad commit answer", async () => {
    const cache = await newCache();
    const pickled = new Map(files);
    pickled.delete("model.safetensors");
    const options = { repoId: REPO, cacheDir: cache, hubUrl: HUB };
    await expect(downloadToHubCache({ ...options, revision: "main", fetch: fakeHub({ files: pickled }).fetch })).rejects.toThrow(
      /no safetensors weights at c{40} .*pickled weights \(pytorch_model\.bin\) are never downloaded/,
    );
    const badIndex = new Map(pickled);
    badIndex.set("model.safetensors.index.json", Buffer.from(JSON.stringify({ weight_map: { "a.weight": "../escape.safetensors" } })));
    await expect(downloadToHubCache({ ...options, revision: "main", fetch: fakeHub({ files: badIndex }).fetch })).rejects.toThrow(
      /model\.safetensors\.index\.json: weight_map names "\.\.\/escape\.safetensors", expected a \*\.safetensors file name/,
    );
    await expect(downloadToHubCache({ ...options, revision: "v2", fetch: fakeHub({ files }).fetch })).rejects.toThrow(
      /revision "v2" with sha "not-a-sha", not a 40-hex commit hash/,
    );
    const noTokenizer = new Map(files);
    noTokenizer.delete("tokenizer.json");
    await expect(downloadToHubCache({ ...options, revision: "main", fetch: fakeHub({ files: noTokenizer }).fetch })).rejects.toThrow(
      /org\/tiny: tokenizer\.json: not in the repo at c{40}/,
    );
  });
});
