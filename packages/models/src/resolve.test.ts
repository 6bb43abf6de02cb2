import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ModelNotFoundError, hubCacheDir, parseRepoRef, resolveModel } from "./resolve.js";

const MAIN = "a".repeat(40);
const TAGGED = "b".repeat(40);
let root: string;
let cache: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-resolve-"));
  cache = join(root, "hub");
  const repo = join(cache, "models--org--tiny");
  for (const commit of [MAIN, TAGGED]) await mkdir(join(repo, "snapshots", commit), { recursive: true });
  await mkdir(join(repo, "refs"), { recursive: true });
  await writeFile(join(repo, "refs", "main"), `${MAIN}\n`);
  await writeFile(join(repo, "refs", "v1"), TAGGED);
  await writeFile(join(repo, "refs", "broken"), "not a hash");
  await mkdir(join(root, "local-model"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("hubCacheDir", () => {
  it("prefers HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
    expect(hubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/b" })).toEqual({ dir: "/a", from: "$HF_HUB_CACHE" });
    expect(hubCacheDir({ HF_HOME: "/b" })).toEqual({ dir: "/b/hub", from: "$HF_HOME/hub" });
    expect(hubCacheDir({}).dir).toMatch(/\.cache\/huggingface\/hub$/);
  });
});

describe("parseRepoRef", () => {
  it("splits ids and revisions and refuses paths", () => {
    expect(parseRepoRef("Qwen/Qwen2.5-0.5B@v1")).toEqual({ repoId: "Qwen/Qwen2.5-0.5B", folder: "models--Qwen--Qwen2.5-0.5B", revision: "v1" });
    expect(parseRepoRef("gpt2")).toEqual({ repoId: "gpt2", folder: "models--gpt2" });
    for (const path of ["./x", "/abs/x", "a/b/c", "../x", "org/name@../../etc"]) expect(parseRepoRef(path)).toBeUndefined();
  });
});

describe("resolveModel", () => {
  const env = () => ({ HF_HUB_CACHE: cache });

  it("takes an existing folder as is", async () => {
    expect(await resolveModel(join(root, "local-model"), { env: env() })).toEqual({ dir: join(root, "local-model"), source: "path" });
  });

  it("follows refs/<revision> to a snapshot, and accepts commit hashes directly", async () => {
    expect(await resolveModel("org/tiny", { env: env() })).toMatchObject({
      dir: join(cache, "models--org--tiny", "snapshots", MAIN),
      source: "hf-cache",
      repoId: "org/tiny",
      revision: "main",
      commit: MAIN,
    });
    expect((await resolveModel("org/tiny@v1", { env: env() })).commit).toBe(TAGGED);
    expect((await resolveModel("org/tiny", { env: env(), revision: "v1" })).commit).toBe(TAGGED);
    expect((await resolveModel(`org/tiny@${TAGGED}`, { env: env() })).dir).toBe(join(cache, "models--org--tiny", "snapshots", TAGGED));
    expect((await resolveModel("org/tiny", { env: { HF_HOME: root } })).commit).toBe(MAIN);
  });

  it("lists every place it looked when the model is missing", async () => {
    const error = await resolveModel("org/absent", { env: env() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    const { looked, message } = error as ModelNotFoundError;
    expect(looked).toEqual([`${join(process.cwd(), "org/absent")}: no such folder`, `${join(cache, "models--org--absent")} (hub cache from $HF_HUB_CACHE): no such folder`]);
    expect(message).toMatch(/Downloading was not allowed/);

    await expect(resolveModel("org/tiny@v2", { env: env() })).rejects.toThrow(/models--org--tiny\/refs\/v2: no such ref/);
    await expect(resolveModel("org/tiny@broken", { env: env() })).rejects.toThrow(/refs\/broken: holds "not a hash", not a commit hash/);
    await expect(resolveModel(`org/tiny@${"c".repeat(40)}`, { env: env() })).rejects.toThrow(/snapshots\/c{40}: no such snapshot/);
    await expect(resolveModel("./not/here", { env: env() })).rejects.toThrow(/no such folder[\s\S]*not a Hugging Face id either/);
    await expect(resolveModel("org/tiny@v1", { env: env(), revision: "main" })).rejects.toThrow(/names revision v1 but options.revision is main/);
  });

  it("never touches the network unless allowed, and not when HF_HUB_OFFLINE is set", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const injected = vi.fn<typeof fetch>();
    try {
      await expect(resolveModel("org/absent", { env: env(), fetch: injected })).rejects.toThrow(/Downloading was not allowed/);
      await expect(resolveModel("org/absent", { env: { ...env(), HF_HUB_OFFLINE: "1" }, allowDownload: true, fetch: injected })).rejects.toThrow(
        /disabled by HF_HUB_OFFLINE=1/,
      );
      // A cache hit makes no request either.
      expect((await resolveModel("org/tiny", { env: env(), fetch: injected })).source).toBe("hf-cache");
      expect(injected).not.toHaveBeenCalled();
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it("reports where it looked and why when an allowed download fails", async () => {
    const refused = vi.fn<typeof fetch>(async () => new Response("no", { status: 404 }));
    const error = await resolveModel("org/absent", { env: { ...env(), HF_ENDPOINT: "https://hub.test" }, allowDownload: true, fetch: refused }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toMatch(/models--org--absent \(hub cache from \$HF_HUB_CACHE\): no such folder/);
    expect((error as Error).message).toMatch(/Downloading from https:\/\/hub\.test into .* failed: org\/absent: looking up revision "main" failed: .*404.*no such repo/);
    expect(refused.mock.calls[0]![0]).toMatch(/^https:\/\/hub\.test\/api\/models\/org\/absent\/revision\/main/);
  });
});
