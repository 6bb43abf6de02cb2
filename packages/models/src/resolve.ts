/**
 * Model references: a folder path, or a Hugging Face id `org/name[@revision]` looked up in the local hub cache
 * (the layout huggingface_hub writes: models--org--name/refs/<revision> holds a commit hash, and
 * models--org--name/snapshots/<hash>/ holds the files). The network is touched only when the caller allows a download
 * and HF_HUB_OFFLINE does not forbid it; the download lands in that same cache (./download.ts).
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { DEFAULT_HUB_URL, downloadToHubCache } from "./download.js";
import { dembedCacheDir, ensureTinyModel, parseTinyRef } from "./tiny-ref.js";

export interface ResolveOptions {
  /** Branch, tag or commit hash; also accepted as `org/name@revision`. Default "main". */
  readonly revision?: string;
  /**
   * Permission to download a model missing from the cache (config, tokenizer and safetensors weights only) through
   * @huggingface/hub into the hub cache. Without it no request is ever made; HF_HUB_OFFLINE=1 overrides it.
   */
  readonly allowDownload?: boolean;
  /** Hub cache folder; overrides the environment. */
  readonly cacheDir?: string;
  /** Environment to read HF_HUB_CACHE / HF_HOME / HF_HUB_OFFLINE / HF_TOKEN / HF_ENDPOINT from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the global fetch for download requests (tests, proxies). */
  readonly fetch?: typeof fetch;
  /** Called as each downloaded (or already cached) file is put in place. */
  readonly onDownload?: (file: string, bytes: number, cached: boolean) => void;
}

export interface ResolvedModel {
  /** Absolute folder holding config.json, the weights and the tokenizer files. */
  readonly dir: string;
  /** "hf-download": it was missing from the cache and has just been downloaded into it. */
  readonly source: "path" | "hf-cache" | "hf-download" | "tiny";
  /** For cache hits: the repo id, the revision asked for and the commit it resolved to. */
  readonly repoId?: string;
  readonly revision?: string;
  readonly commit?: string;
}

export class ModelNotFoundError extends Error {
  override readonly name = "ModelNotFoundError";
  constructor(
    readonly ref: string,
    /** Every place that was checked, in order, with what was found there. */
    readonly looked: readonly string[],
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(`model "${ref}" not found. Looked in:\n${looked.map((l) => `  - ${l}`).join("\n")}\n${hint}`, options);
  }
}

const COMMIT_HASH = /^[0-9a-f]{40}$/;
const REPO_PART = /^[A-Za-z0-9][\w.-]*$/;

/** The hub cache folder, chosen the way huggingface_hub chooses it, with the variable that chose it. */
export function hubCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): { dir: string; from: string } {
  if (env.HF_HUB_CACHE) return { dir: env.HF_HUB_CACHE, from: "$HF_HUB_CACHE" };
  if (env.HUGGINGFACE_HUB_CACHE) return { dir: env.HUGGINGFACE_HUB_CACHE, from: "$HUGGINGFACE_HUB_CACHE" };
  if (env.HF_HOME) return { dir: join(env.HF_HOME, "hub"), from: "$HF_HOME/hub" };
  if (env.XDG_CACHE_HOME) return { dir: join(env.XDG_CACHE_HOME, "huggingface", "hub"), from: "$XDG_CACHE_HOME/huggingface/hub" };
  return { dir: join(homedir(), ".cache", "huggingface", "hub"), from: "~/.cache/huggingface/hub" };
}

async function kind(path: string): Promise<"dir" | "file" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/** Splits `org/name@revision` into parts; undefined when the ref cannot be a hub id. */
export function parseRepoRef(ref: string): { repoId: string; folder: string; revision?: string } | undefined {
  const at = ref.indexOf("@");
  const id = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? undefined : ref.slice(at + 1);
  const parts = id.split("/");
  if (parts.length > 2 || !parts.every((p) => REPO_PART.test(p) && !p.endsWith("."))) return undefined;
  if (revision !== undefined && !isSafeRevision(revision)) return undefined;
  return { repoId: id, folder: `models--${parts.join("--")}`, ...(revision === undefined ? {} : { revision }) };
}

function isSafeRevision(revision: string): boolean {
  // Revisions become path segments under refs/: keep them from climbing out of the cache.
  return revision.length > 0 && !isAbsolute(revision) && !revision.includes("\\") && revision.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** Finds the folder a model reference points at, or throws a ModelNotFoundError listing every place it looked. */
export async function resolveModel(ref: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  if (typeof ref !== "string" || ref.trim() === "") throw new TypeError("resolveModel: the model reference is empty");
  const env = options.env ?? process.env;
  const looked: string[] = [];
  const tiny = parseTinyRef(ref);
  if (tiny !== undefined) return { dir: await ensureTinyModel(tiny, dembedCacheDir(env)), source: "tiny" };

  const expanded = ref === "~" || ref.startsWith("~/") ? join(homedir(), ref.slice(1)) : ref;
  const asPath = resolve(expanded);
  const pathKind = await kind(asPath);
  if (pathKind === "dir") return { dir: asPath, source: "path" };
  looked.push(pathKind === "file" ? `${asPath}: a file, not a model folder` : `${asPath}: no such folder`);

  const parsed = parseRepoRef(ref);
  if (parsed === undefined) {
    throw new ModelNotFoundError(ref, looked, "It is not a Hugging Face id either (expected org/name or org/name@revision).");
  }
  if (parsed.revision !== undefined && options.revision !== undefined && parsed.revision !== options.revision) {
    throw new TypeError(`resolveModel: "${ref}" names revision ${parsed.revision} but options.revision is ${options.revision}`);
  }
  const revision = parsed.revision ?? options.revision ?? "main";
  if (!isSafeRevision(revision)) throw new TypeError(`resolveModel: revision ${JSON.stringify(revision)} is not a valid revision`);

  const cache = options.cacheDir === undefined ? hubCacheDir(env) : { dir: options.cacheDir, from: "options.cacheDir" };
  const repoDir = join(cache.dir, parsed.folder);
  const found = await findInCache(repoDir, revision, looked, cache.from);
  // With permission to download, a snapshot an interrupted download left without weights is completed, not used.
  if (found !== undefined && options.allowDownload && !(await looksComplete(found.dir))) {
    looked.push(`${found.dir}: no config.json or no safetensors weights (an interrupted download?)`);
  } else if (found !== undefined) {
    return { dir: found.dir, source: "hf-cache", repoId: parsed.repoId, revision, commit: found.commit };
  }

  if (!options.allowDownload) {
    const hint = `Downloading was not allowed. Fetch it first (e.g. \`huggingface-cli download ${parsed.repoId}\`), allow downloads (--allow-download), or pass a folder path.`;
    throw new ModelNotFoundError(ref, looked, hint);
  }
  if (isOffline(env)) throw new ModelNotFoundError(ref, looked, `Downloading is disabled by HF_HUB_OFFLINE=${env.HF_HUB_OFFLINE}.`);
  const hubUrl = env.HF_ENDPOINT || DEFAULT_HUB_URL;
  const accessToken = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  try {
    const got = await downloadToHubCache({
      repoId: parsed.repoId,
      revision,
      cacheDir: cache.dir,
      hubUrl,
      ...(accessToken === undefined ? {} : { accessToken }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.onDownload === undefined ? {} : { onFile: options.onDownload }),
    });
    return { dir: got.dir, source: "hf-download", repoId: parsed.repoId, revision, commit: got.commit };
  } catch (e) {
    throw new ModelNotFoundError(ref, looked, `Downloading from ${hubUrl} into ${cache.dir} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** As huggingface_hub reads HF_HUB_OFFLINE: 1, on, yes or true, in any case. */
function isOffline(env: Readonly<Record<string, string | undefined>>): boolean {
  return /^(1|on|yes|true)$/i.test(env.HF_HUB_OFFLINE?.trim() ?? "");
}

async function looksComplete(dir: string): Promise<boolean> {
  const has = async (file: string) => (await kind(join(dir, file))) === "file";
  return (await has("config.json")) && ((await has("model.safetensors")) || (await has("model.safetensors.index.json")));
}

async function findInCache(repoDir: string, revision: string, looked: string[], cacheFrom: string) {
  if ((await kind(repoDir)) !== "dir") {
    looked.push(`${repoDir} (hub cache from ${cacheFrom}): no such folder`);
    return undefined;
  }
  let commit = revision;
  if (!COMMIT_HASH.test(revision)) {
    const refFile = join(repoDir, "refs", revision);
    try {
      commit = (await readFile(refFile, "utf8")).trim();
    } catch {
      looked.push(`${refFile}: no such ref`);
      return undefined;
    }
    if (!COMMIT_HASH.test(commit)) {
      looked.push(`${refFile}: holds ${JSON.stringify(commit.slice(0, 60))}, not a commit hash`);
      return undefined;
    }
  }
  const snapshot = join(repoDir, "snapshots", commit);
  if ((await kind(snapshot)) !== "dir") {
    looked.push(`${snapshot}: no such snapshot`);
    return undefined;
  }
  return { dir: snapshot, commit };
}
