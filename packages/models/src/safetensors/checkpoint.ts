/**
 * A checkpoint folder as one view over its weights: model.safetensors, or shards listed by
 * model.safetensors.index.json. Names are reported exactly as stored; callers decide whether a checkpoint is
 * "bare" (no "model." prefix) by asking has()/names().
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import { isFile, openSafetensors, SafetensorsError, type LoadedTensor, type SafetensorsFile, type TensorEntry } from "./read.js";

export const SINGLE_FILE_NAME = "model.safetensors";
export const INDEX_FILE_NAME = "model.safetensors.index.json";

export interface Checkpoint {
  /** The folder (or, when opened from a file, that file's path). */
  readonly location: string;
  /** The index file when the checkpoint is sharded. */
  readonly indexPath?: string;
  readonly files: readonly SafetensorsFile[];
  /** Every tensor, sorted by name; entry.path names its shard. */
  readonly entries: readonly TensorEntry[];
  names(): string[];
  has(name: string): boolean;
  entry(name: string): TensorEntry;
  readTensor(name: string): Promise<LoadedTensor>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fromFiles(location: string, files: SafetensorsFile[], nameToFile: Map<string, SafetensorsFile>, indexPath?: string): Checkpoint {
  const entries = [...nameToFile].map(([name, file]) => file.entry(name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const where = indexPath ?? location;
  const fileOf = (name: string): SafetensorsFile => {
    const file = nameToFile.get(name);
    if (file === undefined) throw new SafetensorsError(`${where}: tensor "${name}" is not in this checkpoint`);
    return file;
  };
  return {
    location,
    ...(indexPath === undefined ? {} : { indexPath }),
    files,
    entries,
    names: () => entries.map((e) => e.name),
    has: (name) => nameToFile.has(name),
    entry: (name) => fileOf(name).entry(name),
    readTensor: async (name) => fileOf(name).readTensor(name),
  };
}

async function openSharded(dir: string, indexPath: string): Promise<Checkpoint> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (error) {
    throw new SafetensorsError(`${indexPath}: cannot read the shard index (${(error as Error).message})`);
  }
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new SafetensorsError(`${indexPath}: expected an object with a "weight_map" object of tensor name → file name`);
  }
  const weightMap = index.weight_map;
  const shardNames = new Set<string>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    // A mapped file must stay inside the folder: an index is data, not a licence to read elsewhere.
    if (typeof file !== "string" || file.length === 0 || isAbsolute(file) || normalize(file).split(sep).includes("..")) {
      throw new SafetensorsError(`${indexPath}: weight_map["${tensor}"] must be a file name inside ${dir}, got ${JSON.stringify(file)}`);
    }
    shardNames.add(file);
  }
  if (shardNames.size === 0) throw new SafetensorsError(`${indexPath}: weight_map is empty`);
  const shards = new Map<string, SafetensorsFile>();
  await Promise.all(
    [...shardNames].map(async (file) => {
      const path = join(dir, file);
      if (!(await isFile(path))) throw new SafetensorsError(`${indexPath}: shard "${file}" is listed but ${path} does not exist`);
      shards.set(file, await openSafetensors(path));
    }),
  );
  const nameToFile = new Map<string, SafetensorsFile>();
  for (const [tensor, file] of Object.entries(weightMap) as [string, string][]) {
    const shard = shards.get(file)!;
    if (!shard.has(tensor)) throw new SafetensorsError(`${indexPath}: tensor "${tensor}" is mapped to ${shard.path}, which does not hold it`);
    nameToFile.set(tensor, shard);
  }
  return fromFiles(dir, [...shards.values()], nameToFile, indexPath);
}

/** Opens the weights of a Hugging Face model folder (or one .safetensors file), reading headers only. */
export async function openCheckpoint(location: string): Promise<Checkpoint> {
  let info;
  try {
    info = await stat(location);
  } catch {
    throw new SafetensorsError(`${location}: no such folder or file`);
  }
  if (info.isFile()) {
    const file = await openSafetensors(location);
    return fromFiles(location, [file], new Map(file.names().map((n) => [n, file])));
  }
  // Same preference as transformers: the single file first, then the index.
  const single = join(location, SINGLE_FILE_NAME);
  if (await isFile(single)) {
    const file = await openSafetensors(single);
    return fromFiles(location, [file], new Map(file.names().map((n) => [n, file])));
  }
  const indexPath = join(location, INDEX_FILE_NAME);
  if (await isFile(indexPath)) return openSharded(location, indexPath);

  const present = await readdir(location).catch(() => [] as string[]);
  const others = present.filter((f) => f.endsWith(".safetensors"));
  const pickles = present.filter((f) => /\.(bin|pt|pth|ckpt)$/.test(f));
  let hint = "";
  if (others.length > 0) hint += ` Other .safetensors files here: ${others.join(", ")} (open one by its path).`;
  if (pickles.length > 0) hint += ` Found ${pickles.join(", ")}: dembed never loads pickled weights; convert them to safetensors first.`;
  throw new SafetensorsError(`${location}: no weights found (looked for ${SINGLE_FILE_NAME} and ${INDEX_FILE_NAME}).${hint}`);
}
