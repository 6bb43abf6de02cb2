import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, extname, join, relative, resolve, sep } from "node:path";

// Finds the files of a dataset reference: a local folder in Hugging Face layout, an `org/name` in the
// local Hub cache (datasets--org--name/snapshots/<rev>), or the Arrow files that the Python `datasets`
// library leaves in its cache (org___name/<config>/<version>/<hash>/<name>-<split>*.arrow). No network.

export type DataFormat = "parquet" | "jsonl" | "arrow";

export interface ResolveOptions {
  /** Split to find (default "train"). "validation" also matches valid/dev/val, "test" also testing/eval. */
  split?: string;
  /** Config (subset): a folder name in the dataset, or the config folder of the `datasets` cache. */
  config?: string;
  /** Hub revision: a ref name (default "main") or a 40-hex commit. */
  revision?: string;
  /** Environment to read HF_HOME, HF_HUB_CACHE, HF_DATASETS_CACHE, XDG_CACHE_HOME from (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface ResolvedDataset {
  ref: string;
  via: "path" | "hub-cache" | "datasets-cache";
  /** The folder the files were found in. */
  root: string;
  format: DataFormat;
  /** Absolute paths, sorted (shard order). */
  files: string[];
  split: string;
  config?: string;
}

export class DatasetNotFoundError extends Error {
  override readonly name = "DatasetNotFoundError";
  constructor(
    readonly ref: string,
    readonly looked: string[],
    what: string,
  ) {
    super(`${what} not found. Looked in:\n${looked.map((l) => `  - ${l}`).join("\n")}`);
  }
}

const FORMAT_BY_EXTENSION: Record<string, DataFormat> = { ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".arrow": "arrow" };
const FORMAT_PREFERENCE: readonly DataFormat[] = ["parquet", "arrow", "jsonl"];
const SPLIT_SYNONYMS: Record<string, string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};

export function formatOfFile(path: string): DataFormat | undefined {
  return FORMAT_BY_EXTENSION[extname(path).toLowerCase()];
}

/** Where the Hub cache and the `datasets` cache may live, in the order huggingface_hub and datasets look. */
export function hfCacheLocations(env: Record<string, string | undefined> = process.env): { hub: string[]; datasets: string[] } {
  const base = join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  const home = env.HF_HOME ?? base;
  const unique = (paths: (string | undefined)[]) => [...new Set(paths.filter((p): p is string => p !== undefined && p !== ""))];
  return {
    hub: unique([env.HF_HUB_CACHE, env.HUGGINGFACE_HUB_CACHE, join(home, "hub")]),
    datasets: unique([env.HF_DATASETS_CACHE, join(home, "datasets")]),
  };
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function subdirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  const dirs: string[] = [];
  for (const entry of entries) if (entry.isDirectory() || (entry.isSymbolicLink() && (await isDir(join(path, entry.name))))) dirs.push(entry.name);
  return dirs.sort();
}

/** Data files under `root` (snapshot files are symlinks to blobs, so links are followed). */
async function listDataFiles(root: string, depth = 5): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(root, entry.name);
    const info = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (info === undefined) continue;
    if (info.isDirectory() && depth > 0) out.push(...(await listDataFiles(path, depth - 1)));
    else if (info.isFile() && formatOfFile(path) !== undefined) out.push(path);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// A split keyword counts when delimited like the `datasets` default patterns: by a path separator,
// "-", ".", "_", " " or a digit (so data/train-00000-of-00002.parquet and train/0000.parquet are "train").
function splitPattern(split: string): RegExp {
  const words = (SPLIT_SYNONYMS[split] ?? [split]).map(escapeRegExp).join("|");
  return new RegExp(`(^|[/\\-._ 0-9])(${words})($|[/\\-._ 0-9])`, "i");
}

function noExt(rel: string): string {
  return rel.slice(0, rel.length - extname(rel).length);
}

/** The files of one split (and config) in a folder laid out like a Hugging Face dataset repository. */
export async function findSplitFiles(root: string, split: string, config?: string): Promise<{ format: DataFormat; files: string[] } | { problem: string }> {
  let candidates = (await listDataFiles(root)).map((path) => ({ path, rel: relative(root, path).split(sep).join("/") }));
  if (candidates.length === 0) return { problem: "no .parquet, .jsonl or .arrow files" };
  if (config !== undefined) {
    candidates = candidates.filter((c) => c.rel.split("/").slice(0, -1).includes(config));
    if (candidates.length === 0) return { problem: `no data files in a folder named "${config}"` };
  }
  const pattern = splitPattern(split);
  let matched = candidates.filter((c) => pattern.test(noExt(c.rel)));
  if (matched.length === 0 && split === "train") {
    // the Hub's rule: files that name no split at all form the train split
    const named = Object.keys(SPLIT_SYNONYMS).map(splitPattern);
    matched = candidates.filter((c) => !named.some((p) => p.test(noExt(c.rel))));
  }
  if (matched.length === 0) return { problem: `no file names split "${split}" (files: ${candidates.slice(0, 8).map((c) => c.rel).join(", ")}${candidates.length > 8 ? ", …" : ""})` };
  const format = FORMAT_PREFERENCE.find((f) => matched.some((c) => formatOfFile(c.path) === f))!;
  matched = matched.filter((c) => formatOfFile(c.path) === format);
  if (config === undefined) {
    // files of one split in several folders are several configs: the caller must pick one
    const folders = new Set(matched.map((c) => c.rel.split("/").slice(0, -1).filter((seg) => !pattern.test(`/${seg}/`)).join("/")));
    if (folders.size > 1) return { problem: `split "${split}" exists in several configs (${[...folders].map((f) => f || ".").join(", ")}); pass a config` };
  }
  return { format, files: matched.map((c) => c.path).sort() };
}

function looksLikeRepoId(ref: string): boolean {
  return /^[\w.-]+(\/[\w.-]+)?$/.test(ref) && !ref.startsWith(".");
}

/** The snapshot folder of a dataset in the local Hub cache, or a reason it is not there. */
async function hubSnapshot(hubRoot: string, ref: string, revision: string): Promise<{ dir: string } | { problem: string }> {
  const repoDir = join(hubRoot, `datasets--${ref.split("/").join("--")}`);
  if (!(await isDir(repoDir))) return { problem: `${repoDir}: missing` };
  let rev = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    const refFile = join(repoDir, "refs", revision);
    const fromRef = await readFile(refFile, "utf8").catch(() => undefined);
    if (fromRef !== undefined) rev = fromRef.trim();
    else {
      const snapshots = await subdirs(join(repoDir, "snapshots"));
      if (snapshots.length !== 1) return { problem: `${refFile}: missing, and ${snapshots.length} snapshots to choose from` };
      rev = snapshots[0]!;
    }
  }
  const dir = join(repoDir, "snapshots", rev);
  if (await isDir(dir)) return { dir };
  const present = await subdirs(join(repoDir, "snapshots"));
  return { problem: `${dir}: missing (revision ${rev} asked for; the cache holds ${present.length > 0 ? present.join(", ") : "no snapshot"})` };
}

/** The folder of a dataset reference: the path itself, or its snapshot in the Hub cache. */
export async function resolveHfDatasetDir(ref: string, options: Pick<ResolveOptions, "revision" | "env"> = {}): Promise<{ root: string; via: "path" | "hub-cache" }> {
  const looked: string[] = [];
  const local = resolve(ref);
  if (await isDir(local)) return { root: local, via: "path" };
  looked.push(`${local}: not a folder`);
  if (looksLikeRepoId(ref)) {
    for (const hub of hfCacheLocations(options.env).hub) {
      const found = await hubSnapshot(hub, ref, options.revision ?? "main");
      if ("dir" in found) return { root: found.dir, via: "hub-cache" };
      looked.push(found.problem);
    }
  }
  throw new DatasetNotFoundError(ref, looked, `Dataset folder "${ref}"`);
}

async function datasetsCacheFiles(cacheRoot: string, ref: string, split: string, config: string | undefined): Promise<{ dir: string; files: string[]; config: string } | { problem: string }> {
  const names = [...new Set([ref.split("/").join("___"), ref.split("/").join("___").toLowerCase()])];
  const builderDir = (await Promise.all(names.map(async (n) => ((await isDir(join(cacheRoot, n))) ? join(cacheRoot, n) : undefined)))).find((d) => d !== undefined);
  if (builderDir === undefined) return { problem: `${join(cacheRoot, names[0]!)}: missing` };
  const configs = await subdirs(builderDir);
  const chosen = config ?? (configs.includes("default") ? "default" : configs.length === 1 ? configs[0] : undefined);
  if (chosen === undefined || !configs.includes(chosen)) {
    return { problem: `${builderDir}: ${config === undefined ? "several" : "no"} config folders${config === undefined ? "" : ` named "${config}"`} (${configs.join(", ") || "none"}); pass a config` };
  }
  const fileName = new RegExp(`^.+-${escapeRegExp(split)}(-\\d{5}-of-\\d{5})?\\.arrow$`);
  let best: { dir: string; files: string[]; mtime: number } | undefined;
  for (const version of await subdirs(join(builderDir, chosen))) {
    for (const hash of await subdirs(join(builderDir, chosen, version))) {
      const dir = join(builderDir, chosen, version, hash);
      const files = (await readdir(dir)).filter((f) => fileName.test(f)).map((f) => join(dir, f));
      if (files.length === 0) continue;
      const mtime = (await stat(dir)).mtimeMs;
      if (best === undefined || mtime > best.mtime) best = { dir, files: files.sort(), mtime };
    }
  }
  if (best === undefined) return { problem: `${join(builderDir, chosen)}: no <name>-${split}*.arrow files` };
  return { dir: best.dir, files: best.files, config: chosen };
}

/**
 * Find the files of one split of a dataset: `ref` is a file, a local folder in Hugging Face layout,
 * or an `org/name` in the local Hub cache or `datasets` cache. The error lists every place it looked.
 */
export async function resolveHfDataset(ref: string, options: ResolveOptions = {}): Promise<ResolvedDataset> {
  const split = options.split ?? "train";
  const config = options.config;
  const looked: string[] = [];
  const local = resolve(ref);
  const localInfo = await stat(local).catch(() => undefined);
  if (localInfo?.isFile()) {
    const format = formatOfFile(local);
    if (format === undefined) throw new Error(`${local}: unknown data file type (expected .parquet, .jsonl or .arrow)`);
    return { ref, via: "path", root: resolve(local, ".."), format, files: [local], split, config };
  }
  const tryFolder = async (root: string, via: ResolvedDataset["via"]): Promise<ResolvedDataset | undefined> => {
    const found = await findSplitFiles(root, split, config);
    if ("files" in found) return { ref, via, root, format: found.format, files: found.files, split, config };
    looked.push(`${root}: ${found.problem}`);
    return undefined;
  };
  if (localInfo?.isDirectory()) {
    const hit = await tryFolder(local, "path");
    if (hit) return hit;
  } else {
    looked.push(`${local}: does not exist`);
  }
  if (looksLikeRepoId(ref)) {
    const caches = hfCacheLocations(options.env);
    for (const hub of caches.hub) {
      const snapshot = await hubSnapshot(hub, ref, options.revision ?? "main");
      if ("problem" in snapshot) looked.push(snapshot.problem);
      else {
        const hit = await tryFolder(snapshot.dir, "hub-cache");
        if (hit) return hit;
      }
    }
    for (const cacheRoot of caches.datasets) {
      const found = await datasetsCacheFiles(cacheRoot, ref, split, config);
      if ("problem" in found) looked.push(found.problem);
      else return { ref, via: "datasets-cache", root: found.dir, format: "arrow", files: found.files, split, config: found.config };
    }
  }
  const what = `Dataset "${ref}" (split "${split}"${config === undefined ? "" : `, config "${config}"`})`;
  throw new DatasetNotFoundError(ref, looked, what);
}

/** The shard-independent name of a data file: "train-00000-of-00002.parquet" → "train". */
export function dataFileStem(path: string): string {
  return basename(path, extname(path)).replace(/-\d{5}-of-\d{5}$/, "");
}
