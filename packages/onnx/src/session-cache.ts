// The session cache: ORT's own saved copy of a graph it optimized, with the weights it pre-packed written into the
// data file beside it (session.save_external_prepacked_constant_initializers), so a later session maps them instead of
// optimizing and packing again. README "Session cache" has the measurements and the costs.
//
// An entry is a folder <dir>/<slot>-<build>: model.onnx, model.onnx.data and manifest.json, written in a temp folder
// and renamed, so a folder without a manifest is never an entry. The slot hashes what the session is (the graph's
// bytes, the real paths of its external files, the options ORT optimized with, platform and CPU: packed layouts are
// per instruction set); the build hashes what may change under it (ORT's version, each external file's size, mtime
// and inode). An entry whose build differs is stale and is replaced, so a slot holds one entry.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, statfs, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, cpus, platform } from "node:os";
import { join } from "node:path";
import { removeDeadTemps } from "@dembed/files";
import { allNodes, type Graph } from "./graph.js";
import { externalFiles } from "./external.js";

export interface SessionCacheOptions {
  /** Folder of entries, one per (graph, external files, options, CPU); dembed's commands use $DEMBED_CACHE/sessions. */
  readonly dir: string;
}

export const CACHE_FILES = { model: "model.onnx", data: "model.onnx.data", manifest: "manifest.json" } as const;

/** What ORT is told when it writes an entry: everything ≥ 1 KiB, pre-packed blobs included, into the data file. */
export const CACHE_WRITE_CONFIG: Readonly<Record<string, string>> = {
  "session.optimized_model_external_initializers_file_name": CACHE_FILES.data,
  "session.optimized_model_external_initializers_min_size_in_bytes": "1024",
  "session.save_external_prepacked_constant_initializers": "1",
};

const FORMAT = 1;
/** Files up to this size are hashed whole; larger ones at SAMPLES evenly spaced windows (see sampleDigest). */
const WHOLE_FILE_BYTES = 4 << 20;
const SAMPLES = 32;
const WINDOW = 64 << 10;

interface FileRecord {
  readonly name: string;
  readonly bytes: number;
  readonly digest: string;
}

interface Manifest {
  readonly format: number;
  readonly slot: string;
  readonly build: string;
  readonly graph: string;
  readonly ortVersion: string;
  readonly cpu: string;
  readonly sources: readonly string[];
  readonly files: readonly FileRecord[];
  readonly createdAt: string;
}

/** The options that shape what ORT optimizes and saves (threads, arena and logging do not). */
export interface CacheRelevantOptions {
  readonly graphOptimizationLevel: string;
  readonly freeDimensions?: Readonly<Record<string, number>>;
  readonly config?: Readonly<Record<string, string>>;
}

export interface CacheEntry {
  readonly dir: string;
  readonly modelPath: string;
  readonly slot: string;
  readonly build: string;
  readonly manifestBase: Omit<Manifest, "files" | "createdAt">;
}

let ortVersionMemo: string | undefined;
export function ortVersion(): string {
  return (ortVersionMemo ??= (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version);
}

let cpuMemo: string | undefined;
/** The CPU's model and feature flags: MLAS packs weights for the kernels this CPU runs. */
export function cpuIdentity(): string {
  if (cpuMemo !== undefined) return cpuMemo;
  let text = "";
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // not Linux: the model name alone
  }
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const flags = field("flags") || field("Features");
  return (cpuMemo = `${field("model name") || cpus()[0]?.model || "unknown"}; flags ${createHash("sha256").update(flags).digest("hex").slice(0, 12)}`);
}

const hash = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** Where the entry for this graph lives, and what its manifest must say. */
export function locateEntry(
  cache: SessionCacheOptions,
  graph: Graph,
  modelBytes: Uint8Array,
  options: CacheRelevantOptions,
  identity: { readonly ortVersion: string; readonly cpu: string } = { ortVersion: ortVersion(), cpu: cpuIdentity() },
): CacheEntry {
  const sources = [...new Set(externalFiles(graph).values())].sort();
  const { cpu } = identity;
  const slot = hash({
    format: FORMAT,
    model: createHash("sha256").update(modelBytes).digest("hex"),
    sources,
    platform: platform(),
    arch: arch(),
    cpu,
    level: options.graphOptimizationLevel,
    // Sorted, so the same options given in another order find the same entry.
    freeDimensions: Object.entries(options.freeDimensions ?? {}).sort(),
    config: Object.entries(options.config ?? {}).sort(),
  }).slice(0, 16);
  const build = hash({
    ort: identity.ortVersion,
    sources: sources.map((path) => {
      const s = statSync(path);
      return [path, s.size, s.mtimeMs, s.ino];
    }),
  }).slice(0, 16);
  const dir = join(cache.dir, `${slot}-${build}`);
  return {
    dir,
    modelPath: join(dir, CACHE_FILES.model),
    slot,
    build,
    manifestBase: { format: FORMAT, slot, build, graph: graph.name, ortVersion: identity.ortVersion, cpu, sources },
  };
}

/**
 * A digest of a file's size and contents: whole for small files, else SAMPLES windows of 64 KiB spread from its first
 * to its last byte. It catches a truncated, half-written or replaced file; a byte changed between windows of a large
 * file goes unnoticed (reading 3 GiB to check it would cost what the cache saves).
 */
export async function sampleDigest(path: string): Promise<FileRecord> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const digest = createHash("sha256").update(String(size));
    if (size <= WHOLE_FILE_BYTES) {
      digest.update(await file.readFile());
    } else {
      const buffer = Buffer.alloc(WINDOW);
      for (let i = 0; i < SAMPLES; i++) {
        const position = Math.floor(((size - WINDOW) * i) / (SAMPLES - 1));
        const { bytesRead } = await file.read(buffer, 0, WINDOW, position);
        digest.update(buffer.subarray(0, bytesRead));
      }
    }
    return { name: path.slice(path.lastIndexOf("/") + 1), bytes: size, digest: digest.digest("hex") };
  } finally {
    await file.close();
  }
}

/** Why the entry cannot be used (missing, unfinished, stale or damaged), or undefined when it checks out. */
export async function entryProblem(entry: CacheEntry): Promise<string | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(entry.dir, CACHE_FILES.manifest), "utf8")) as Manifest;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `its manifest does not parse (${(e as Error).message})`;
  }
  for (const field of ["format", "slot", "build", "ortVersion", "cpu"] as const) {
    if (manifest[field] !== entry.manifestBase[field]) return `its manifest has ${field} ${JSON.stringify(manifest[field])}, expected ${JSON.stringify(entry.manifestBase[field])}`;
  }
  if (!Array.isArray(manifest.files) || manifest.files.length !== 2) return "its manifest does not list model.onnx and model.onnx.data";
  for (const recorded of manifest.files) {
    let actual: FileRecord;
    try {
      actual = await sampleDigest(join(entry.dir, recorded.name));
    } catch (e) {
      return `${recorded.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
    if (actual.bytes !== recorded.bytes) return `${recorded.name} has ${actual.bytes} bytes, the manifest says ${recorded.bytes}`;
    if (actual.digest !== recorded.digest) return `${recorded.name}'s contents differ from what was written`;
  }
  return undefined;
}

/** A fresh temp folder for ORT to write an entry into (named so removeDeadTemps clears it if this process dies). */
export async function entryTempDir(entry: CacheEntry): Promise<string> {
  const parent = join(entry.dir, "..");
  await mkdir(parent, { recursive: true });
  await removeDeadTemps(parent);
  const tmp = `${entry.dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(tmp);
  return tmp;
}

/**
 * Checks what ORT wrote into `tmp`, adds the manifest and renames the folder into place, then removes the slot's stale
 * entries. Another process that committed the same entry first wins; this copy is dropped. Returns the entry's bytes.
 */
export async function commitEntry(entry: CacheEntry, tmp: string): Promise<number> {
  try {
    const files = [await sampleDigest(join(tmp, CACHE_FILES.model)), await sampleDigest(join(tmp, CACHE_FILES.data))];
    const manifest: Manifest = { ...entry.manifestBase, files, createdAt: new Date().toISOString() };
    await writeFile(join(tmp, CACHE_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await rename(tmp, entry.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
      await rm(tmp, { recursive: true, force: true }); // committed by another process meanwhile
    }
    await removeStale(entry);
    return files.reduce((sum, f) => sum + f.bytes, 0);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function removeStale(entry: CacheEntry): Promise<void> {
  const parent = join(entry.dir, "..");
  const names = await readdir(parent).catch(() => [] as string[]);
  const own = `${entry.slot}-${entry.build}`;
  for (const name of names) {
    if (name.startsWith(`${entry.slot}-`) && name !== own && !name.includes(".tmp-")) await rm(join(parent, name), { recursive: true, force: true });
  }
}

/**
 * Why ORT's saved pre-packed weights cannot be trusted for this graph, or undefined. Probed with onnxruntime-node 1.30
 * (session-cache.test.ts pins it): of two or more MatMulNBits nodes with accuracy_level 4 (int8 compute), every one but
 * the first computes NaN when opened from the saved model, 4- and 8-bit alike; accuracy levels 0–2 come back exact.
 */
export function cacheRefusal(graph: Graph): string | undefined {
  let int8Compute = 0;
  for (const node of allNodes(graph)) if (node.opType === "MatMulNBits" && node.attrs.accuracy_level === 4) int8Compute++;
  return int8Compute > 1
    ? `ONNX Runtime ${ortVersion()} restores the pre-packed weights of MatMulNBits with accuracy_level 4 wrongly (NaN from the second node on), and this graph has ${int8Compute}`
    : undefined;
}

/** Free bytes on the cache's file system (undefined where statfs cannot tell). */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** The bytes an entry for this graph needs at most: ORT writes every weight, then a packed copy of most of them. */
export function entryBytesEstimate(graph: Graph, modelBytes: Uint8Array): number {
  let weights = 0;
  for (const init of graph.initializers.values()) weights += init.external?.length ?? 0;
  return modelBytes.byteLength + 2 * weights;
}
