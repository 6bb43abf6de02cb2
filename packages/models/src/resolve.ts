/**
 * Model references: a folder path, or a Hugging Face id `org/name[@revision]` looked up in the local hub cache
 * (the layout huggingface_hub writes: models--org--name/refs/<revision> holds a commit hash, and
 * models--org--name/snapshots/<hash>/ holds the files). Nothing here touches the network.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

export interface ResolveOptions {
  /** Branch, tag or commit hash; also accepted as `org/name@revision`. Default "main". */
  readonly revision?: string;
  /**
   * Permission to download a missing model. Downloading is not built yet (it needs @huggingface/hub), so with
   * this set a missing model still fails, saying so; without it no download is ever attempted.
   */
  readonly allowDownload?: boolean;
  /** Hub cache folder; overrides the environment. */
  readonly cacheDir?: string;
  /** Environment to read HF_HUB_CACHE / HF_HOME from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedModel {
  /** Absolute folder holding config.json, the weights and the tokenizer files. */
  readonly dir: string;
  readonly source: "path" | "hf-cache";
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
  ) {
    super(`model "${ref}" not found. Looked in:\n${looked.map((l) => `  - ${l}`).join("\n")}\n${hint}`);
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
  if (found !== undefined) {
    return { dir: found.dir, source: "hf-cache", repoId: parsed.repoId, revision, commit: found.commit };
  }

  const offline = env.HF_HUB_OFFLINE === "1" || env.HF_HUB_OFFLINE === "true";
  const hint = !options.allowDownload
    ? `Downloading was not allowed. Fetch it first (e.g. \`huggingface-cli download ${parsed.repoId}\`) or pass a folder path.`
    : offline
      ? "Downloading is disabled by HF_HUB_OFFLINE."
      : `Downloading is not built into dembed yet (it needs @huggingface/hub); fetch it with \`huggingface-cli download ${parsed.repoId}\`.`;
  throw new ModelNotFoundError(ref, looked, hint);
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
