/**
 * Downloads the files an embedder needs from the Hugging Face Hub into the hub cache, in the layout huggingface_hub
 * writes (blobs/<etag>, snapshots/<commit>/<file> → ../../blobs/<etag>, refs/<revision>), so later offline runs and
 * the Python tools find them. The hub API calls, authentication and Xet downloads are @huggingface/hub's; the cache
 * writing is ours, because its downloadFileToCacheDir prints to stdout, fetches everything with snapshotDownload
 * (pickles included) and checks no content hash.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { HubApiError, downloadFile, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";

export const DEFAULT_HUB_URL = "https://huggingface.co";
/** Files fetched when the repo has them; config.json and tokenizer.json are required. */
export const EMBEDDER_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] as const;
const REQUIRED_FILES = new Set(["config.json", "tokenizer.json"]);
const SINGLE_WEIGHTS = "model.safetensors";
const WEIGHTS_INDEX = "model.safetensors.index.json";
const COMMIT_HASH = /^[0-9a-f]{40}$/;
const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface HubDownloadOptions {
  /** "org/name" (or a bare legacy name like "gpt2"). */
  readonly repoId: string;
  /** Branch, tag or commit hash. */
  readonly revision: string;
  /** The hub cache root (the folder holding models--org--name). */
  readonly cacheDir: string;
  readonly hubUrl?: string;
  /** For gated or private repos ("hf_…"). */
  readonly accessToken?: string;
  /** Replaces the global fetch for every request (tests, proxies). */
  readonly fetch?: typeof fetch;
  /** Called after each file is in place, with its size in bytes and whether it was already cached. */
  readonly onFile?: (file: string, bytes: number, cached: boolean) => void;
}

export interface HubDownload {
  /** snapshots/<commit>: the model folder. */
  readonly dir: string;
  readonly commit: string;
  readonly files: readonly string[];
  /** Bytes actually transferred (cached blobs are not counted). */
  readonly bytesDownloaded: number;
}

export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    readonly repoId: string,
    readonly file: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${repoId}${file === undefined ? "" : `: ${file}`}: ${detail}`, options);
  }
}

/** Downloads config, tokenizer and safetensors weights of `repoId@revision` into the hub cache; returns the snapshot. */
export async function downloadToHubCache(options: HubDownloadOptions): Promise<HubDownload> {
  const { repoId, revision, cacheDir } = options;
  const hub = {
    hubUrl: options.hubUrl ?? DEFAULT_HUB_URL,
    ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  };
  const repo = { type: "model" as const, name: repoId };
  const repoDir = join(cacheDir, `models--${repoId.split("/").join("--")}`);

  const commit = COMMIT_HASH.test(revision) ? revision : await headCommit(repoId, revision, hub);
  const listing = new Map<string, ListFileEntry>();
  try {
    for await (const entry of listFiles({ ...hub, repo, revision: commit })) if (entry.type === "file") listing.set(entry.path, entry);
  } catch (e) {
    throw new DownloadError(repoId, undefined, `listing files at ${commit} failed: ${describe(e)}`, { cause: e });
  }

  const wanted = EMBEDDER_FILES.filter((f) => listing.has(f));
  for (const f of REQUIRED_FILES) {
    if (!listing.has(f)) throw new DownloadError(repoId, f, `not in the repo at ${commit} (files: ${[...listing.keys()].join(", ") || "none"})`);
  }
  const snapshot = join(repoDir, "snapshots", commit);
  let bytesDownloaded = 0;
  const fetchOne = async (path: string) => {
    const entry = listing.get(path);
    if (entry === undefined) throw new DownloadError(repoId, path, `not in the repo at ${commit}`);
    bytesDownloaded += await placeFile(repoDir, snapshot, entry, { ...hub, repo, revision: commit, repoId, onFile: options.onFile });
  };

  if (!listing.has(SINGLE_WEIGHTS) && !listing.has(WEIGHTS_INDEX)) {
    const pickles = [...listing.keys()].filter((f) => /\.(bin|pt|pth|ckpt)$/.test(f));
    throw new DownloadError(
      repoId,
      undefined,
      `no safetensors weights at ${commit} (expected ${SINGLE_WEIGHTS} or ${WEIGHTS_INDEX})` +
        (pickles.length > 0 ? `; pickled weights (${pickles.join(", ")}) are never downloaded or loaded` : ""),
    );
  }

  for (const f of wanted) await fetchOne(f);
  const weights: string[] = [];
  if (listing.has(SINGLE_WEIGHTS)) {
    weights.push(SINGLE_WEIGHTS);
  } else {
    await fetchOne(WEIGHTS_INDEX);
    weights.push(WEIGHTS_INDEX, ...(await shardNames(join(snapshot, WEIGHTS_INDEX), listing, repoId)));
  }
  for (const f of weights) if (f !== WEIGHTS_INDEX) await fetchOne(f);

  // The ref moves last: until every file is in place, `org/name@revision` does not resolve to this snapshot.
  if (revision !== commit) await writeAtomic(join(repoDir, "refs", revision), commit);
  return { dir: snapshot, commit, files: [...wanted, ...weights], bytesDownloaded };
}

type HubParams = { hubUrl: string; accessToken?: string; fetch?: typeof fetch };

async function headCommit(repoId: string, revision: string, hub: HubParams): Promise<string> {
  let sha: unknown;
  try {
    sha = (await modelInfo({ ...hub, name: repoId, revision, additionalFields: ["sha"] })).sha;
  } catch (e) {
    throw new DownloadError(repoId, undefined, `looking up revision "${revision}" failed: ${describe(e)}`, { cause: e });
  }
  if (typeof sha !== "string" || !COMMIT_HASH.test(sha)) {
    throw new DownloadError(repoId, undefined, `the hub answered revision "${revision}" with sha ${JSON.stringify(sha)}, not a 40-hex commit hash`);
  }
  return sha;
}

/** The shard files a safetensors index maps tensors to; each must be a plain file name present in the repo. */
async function shardNames(indexPath: string, listing: ReadonlyMap<string, ListFileEntry>, repoId: string): Promise<string[]> {
  let map: unknown;
  try {
    map = (JSON.parse(await readFile(indexPath, "utf8")) as { weight_map?: unknown }).weight_map;
  } catch (e) {
    throw new DownloadError(repoId, WEIGHTS_INDEX, `not valid JSON (${describe(e)})`, { cause: e });
  }
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new DownloadError(repoId, WEIGHTS_INDEX, "field 'weight_map' must be an object");
  const shards = [...new Set(Object.values(map))].sort();
  for (const shard of shards) {
    if (typeof shard !== "string" || !/^[\w.-]+\.safetensors$/.test(shard)) {
      throw new DownloadError(repoId, WEIGHTS_INDEX, `weight_map names ${JSON.stringify(shard)}, expected a *.safetensors file name in the same folder`);
    }
    if (!listing.has(shard)) throw new DownloadError(repoId, WEIGHTS_INDEX, `weight_map names ${shard}, which is not in the repo`);
  }
  return shards as string[];
}

interface PlaceParams extends HubParams {
  repo: { type: "model"; name: string };
  revision: string;
  repoId: string;
  onFile: HubDownloadOptions["onFile"];
}

/** Puts one file into blobs/ (downloaded and verified unless already there) and links it from the snapshot. */
async function placeFile(repoDir: string, snapshot: string, entry: ListFileEntry, params: PlaceParams): Promise<number> {
  const { repoId, onFile } = params;
  // Blob names follow huggingface_hub: the LFS sha256 for LFS (and Xet) files, the git blob oid otherwise.
  const etag = entry.lfs ? entry.lfs.oid : entry.oid;
  if (etag === undefined || !ETAG.test(etag)) throw new DownloadError(repoId, entry.path, `the hub listed no usable hash for it (oid ${JSON.stringify(etag)})`);
  const expected = { etag, size: entry.lfs ? entry.lfs.size : entry.size, kind: entry.lfs ? ("sha256" as const) : ("git-sha1" as const) };
  const blob = join(repoDir, "blobs", expected.etag);
  const pointer = join(snapshot, entry.path);
  await mkdir(dirname(blob), { recursive: true });
  await mkdir(dirname(pointer), { recursive: true });

  const cached = (await sizeOf(blob)) === expected.size;
  if (!cached) await downloadBlob(blob, entry.path, expected, params);
  await linkAtomic(blob, pointer);
  onFile?.(entry.path, expected.size, cached);
  return cached ? 0 : expected.size;
}

async function downloadBlob(blob: string, path: string, expected: { etag: string; size: number; kind: "sha256" | "git-sha1" }, params: PlaceParams) {
  const { repoId } = params;
  const tmp = `${blob}.${process.pid}.${randomBytes(4).toString("hex")}.incomplete`;
  try {
    const body = await downloadFile({ ...params, path });
    if (body === null) throw new DownloadError(repoId, path, "the hub says it does not exist");
    const hash = createHash(expected.kind === "sha256" ? "sha256" : "sha1");
    // Git hashes a blob with a "blob <size>\0" header: that is the oid the hub lists for non-LFS files.
    if (expected.kind === "git-sha1") hash.update(`blob ${expected.size}\0`);
    let bytes = 0;
    await pipeline(Readable.fromWeb(body.stream() as NodeReadableStream<Uint8Array>), counting(hash, (n) => (bytes += n)), createWriteStream(tmp));
    if (bytes !== expected.size) throw new DownloadError(repoId, path, `got ${bytes} bytes, the hub listed ${expected.size}`);
    const digest = hash.digest("hex");
    if (digest !== expected.etag) throw new DownloadError(repoId, path, `content ${expected.kind} is ${digest}, the hub listed ${expected.etag}`);
    await rename(tmp, blob);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof DownloadError) throw e;
    throw new DownloadError(repoId, path, `download failed: ${describe(e)}`, { cause: e });
  }
}

function counting(hash: Hash, count: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      count(chunk.length);
      done(null, chunk);
    },
  });
}

/** snapshots/<commit>/<file> → a relative symlink to the blob (a copy where symlinks are refused), swapped in by rename. */
async function linkAtomic(blob: string, pointer: string): Promise<void> {
  const tmp = `${pointer}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    try {
      await symlink(relative(dirname(pointer), blob), tmp);
    } catch {
      await copyFile(blob, tmp);
    }
    await rename(tmp, pointer);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function describe(e: unknown): string {
  if (e instanceof HubApiError) {
    const hint = e.statusCode === 401 || e.statusCode === 403 ? " (gated or private: set HF_TOKEN to a token with access)" : e.statusCode === 404 ? " (no such repo, revision or file)" : "";
    return `${e.message}${hint}`;
  }
  return e instanceof Error ? e.message : String(e);
}
