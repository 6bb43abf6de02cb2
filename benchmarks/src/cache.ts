import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { pidAlive, tempOwnerPid } from "@dembed/files";
import { join } from "node:path";
import { decodeRow, encodeRows, storedVector, type EncodedRows, type VectorStorage } from "@dembed/retrieval";
import { Bool, Field, FixedSizeList, Float16, Float32, Int8, makeData, makeVector, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray, type Data, type DataType } from "apache-arrow";
import { writeFileAtomic } from "./output/files.js";
import type { Role } from "./encoder.js";

export interface CacheOptions {
  /** Rows per shard file (default 1024). */
  shardSize?: number;
  /** Told about a damaged shard that was moved aside (default: a line on stderr). */
  onWarning?: (message: string) => void;
}

/** Everything an embedding depends on besides the text. */
export interface CacheKey {
  encoder: Record<string, string | number>;
  role: Role;
  instruction: string;
  /** How the vectors are stored, when not as fp32: a key of its own, so stored widths never mix in one folder. */
  storage?: Exclude<VectorStorage, "f32">;
}

/** SHA-256 of the text, hex: the cache's row id. */
export function textHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

interface Location {
  shard: string;
  row: number;
}

const SHARD_SUFFIX = ".arrow";
const OPEN = new Map<string, EmbeddingCache>();

/** One cached row: the text's hash, its vector and whether the encoder cut it (null: not recorded). */
export interface CacheRow {
  id: string;
  vector: Float32Array;
  truncated: boolean | null;
}

/** The folder that holds `key`'s shards under `root`, created with its key.json if new. */
export function cacheKeyFolder(root: string, key: CacheKey): string {
  const keyText = canonical(key);
  const dir = join(root, createHash("sha256").update(keyText).digest("hex").slice(0, 24));
  mkdirSync(dir, { recursive: true });
  const metaFile = join(dir, "key.json");
  if (existsSync(metaFile)) {
    const stored = canonical((JSON.parse(readFileSync(metaFile, "utf8")) as { key: unknown }).key);
    if (stored !== keyText) throw new Error(`embedding cache: ${metaFile} holds a different key (hash collision?); remove the folder`);
  } else {
    writeFileAtomic(metaFile, `${JSON.stringify({ format: "dembed-embedding-cache/1", key }, null, 2)}\n`);
  }
  return dir;
}

/** The canonical JSON of a value (object keys sorted): equal settings give equal text. */
export function canonicalJson(value: unknown): string {
  return canonical(value);
}

/**
 * Writes rows as one shard file `shard-<name>.arrow` in a key folder (temp file + rename). Writers that name shards
 * by content (the job queue does) make a repeated write of the same rows a harmless overwrite.
 */
export function writeCacheShard(dir: string, name: string, rows: readonly CacheRow[], storage: VectorStorage = "f32"): string {
  if (rows.length === 0) throw new Error("embedding cache: a shard needs at least one row");
  const encoded = encodeRows(rows.map((r) => r.vector), storage, rows.map((r) => r.id));
  const dim = rows[0]!.vector.length;
  const element = ELEMENT_TYPES[storage]();
  // The element type follows `storage`, and encodeRows gave that storage's typed array.
  const child = makeData({ type: element as Float32, length: encoded.values.length, data: encoded.values as Float32Array });
  const listType = new FixedSizeList(dim, new Field("item", element, false));
  const embedding = makeVector(makeData({ type: listType, length: rows.length, nullCount: 0, child }));
  const table = new Table({
    id: vectorFromArray(rows.map((r) => r.id), new Utf8()),
    embedding,
    ...(encoded.storage === "int8" ? { scale: makeVector(encoded.scales) } : {}),
    truncated: vectorFromArray(rows.map((r) => r.truncated), new Bool()),
  });
  const file = `shard-${name}${SHARD_SUFFIX}`;
  writeFileAtomic(join(dir, file), tableToIPC(table, "file"));
  return file;
}

const ELEMENT_TYPES: Record<VectorStorage, () => DataType> = { f32: () => new Float32(), f16: () => new Float16(), int8: () => new Int8() };

/**
 * Reads row vectors of a shard as fp32, whatever width they are stored at; a column that is not what `storage` writes
 * is named as the problem. Rows are read from the Arrow buffers in place (record batch by batch), then widened.
 */
function rowReader(table: Table, storage: VectorStorage): ((row: number) => Float32Array) | string {
  const embedding = table.getChild("embedding");
  if (!table.getChild("id") || !(embedding?.type instanceof FixedSizeList)) return 'it lacks an "id" column or a fixed-size-list "embedding" column';
  const dim = (embedding.type as FixedSizeList).listSize;
  const element = (embedding.type as FixedSizeList).valueType;
  if (element.toString() !== ELEMENT_TYPES[storage]().toString()) return `its embeddings are ${element} where this cache stores ${ELEMENT_TYPES[storage]()} (--corpus-storage ${storage})`;
  const scale = table.getChild("scale");
  if (storage === "int8" && String(scale?.type) !== "Float32") return 'its int8 embeddings have no float32 "scale" column';
  const chunks: Array<{ first: number; data: Data }> = [];
  let first = 0;
  for (const data of embedding.data) {
    const child = data.children[0];
    const held = (child?.values?.length ?? 0) - (child?.offset ?? 0);
    if (held < (data.offset + data.length) * dim) return `its embedding buffer holds ${held} values for ${data.length} rows of ${dim}`;
    chunks.push({ first, data });
    first += data.length;
  }
  if (storage === "int8" && scale!.length !== table.numRows) return `it has ${scale!.length} scales for ${table.numRows} rows`;
  return (row) => {
    const chunk = chunks.findLast((c) => c.first <= row)!;
    const child = chunk.data.children[0]!;
    const start = (chunk.data.offset + row - chunk.first) * dim + child.offset;
    const values = (child.values as Float32Array | Uint16Array | Int8Array).subarray(start, start + dim);
    const encoded = { storage, values, scales: Float32Array.of(storage === "int8" ? (scale!.get(row) as number) : 0) } as EncodedRows;
    return decodeRow(encoded, 0, new Float32Array(dim));
  };
}

/** Ids of a shard file, or undefined when it is missing or unreadable (a reader then treats the shard as not done). */
export function readShardIds(path: string): string[] | undefined {
  try {
    const table = tableFromIPC(readFileSync(path));
    const ids = table.getChild("id");
    if (!ids || !(table.getChild("embedding")?.type instanceof FixedSizeList)) return undefined;
    return Array.from({ length: table.numRows }, (_, row) => ids.get(row) as string);
  } catch {
    return undefined;
  }
}

/**
 * An on-disk embedding cache: one folder per key (encoder settings, role, instruction), holding Arrow IPC files
 * ("Feather v2") with columns `id` (utf8, SHA-256 of the text), `embedding` (FixedSizeList<float32>[dim]) and
 * `truncated` (bool, null when the encoder did not say). pandas (`read_feather`), polars (`read_ipc`) and DuckDB read
 * them directly. A key with `storage` "f16" stores FixedSizeList<float16>; "int8" stores FixedSizeList<int8> and a
 * float32 `scale` column (value = code × scale), a quarter of the bytes.
 *
 * Each shard is written to a temp file and renamed, so a crash leaves whole shards only; reopening after an interrupt
 * finds them and only the missing texts are embedded again. Shards are never rewritten: two processes sharing a key
 * folder only ever add files under unique names, so concurrent writers are safe by design (no lock): the worst case
 * is a text embedded twice, and the index keeps the first copy. A shard that cannot be read (truncated by a full
 * disk, damaged by hand) is reported, moved aside as `<name>.damaged`, and its texts are embedded again.
 */
export class EmbeddingCache {
  private readonly index = new Map<string, Location>();
  private readonly scanned = new Set<string>();
  private pending: Array<{ id: string; vector: Float32Array; truncated: boolean | null }> = [];
  private loaded: { shard: string; read: (row: number) => Float32Array; truncated: (row: number) => boolean | null } | undefined;
  private dimension: number | undefined;

  private constructor(
    readonly dir: string,
    readonly key: CacheKey,
    readonly shardSize: number,
  ) {}

  /** The width vectors are stored at (the key's `storage`, fp32 when absent). */
  get storage(): VectorStorage {
    return this.key.storage ?? "f32";
  }

  /**
   * One instance per folder for this process: opening indexes every shard, so callers that embed a corpus chunk by
   * chunk share one index instead of rescanning the folder for each chunk.
   */
  static shared(root: string, key: CacheKey, options: CacheOptions = {}): EmbeddingCache {
    const id = `${root}\u0000${canonical(key)}`;
    let cache = OPEN.get(id);
    if (!cache) OPEN.set(id, (cache = EmbeddingCache.open(root, key, options)));
    return cache;
  }

  /** Opens (creating if needed) the folder for `key` under `root` and indexes the shards already there. */
  static open(root: string, key: CacheKey, options: CacheOptions = {}): EmbeddingCache {
    const cache = new EmbeddingCache(cacheKeyFolder(root, key), key, options.shardSize ?? 1024);
    cache.warn = options.onWarning ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    cache.refresh();
    return cache;
  }

  private warn: (message: string) => void = () => {};

  /** Indexes shards that other processes added to the folder since this cache last looked (only new files are read). */
  refresh(): void {
    this.scan(this.warn);
  }

  get size(): number {
    return this.index.size + this.pending.length;
  }

  get dim(): number | undefined {
    return this.dimension;
  }

  has(id: string): boolean {
    return this.index.has(id) || this.pending.some((p) => p.id === id);
  }

  /** Vectors (and truncation flags) for the ids found; ids not cached are absent from the result. */
  getMany(ids: readonly string[]): Map<string, { vector: Float32Array; truncated: boolean | null }> {
    const out = new Map<string, { vector: Float32Array; truncated: boolean | null }>();
    const byShard = new Map<string, Array<{ id: string; row: number }>>();
    for (const id of ids) {
      const loc = this.index.get(id);
      if (loc) (byShard.get(loc.shard) ?? byShard.set(loc.shard, []).get(loc.shard)!).push({ id, row: loc.row });
    }
    for (const [shard, rows] of byShard) {
      const { read, truncated } = this.shard(shard);
      for (const { id, row } of rows) out.set(id, { vector: read(row), truncated: truncated(row) });
    }
    if (this.pending.length > 0) {
      const wanted = new Set(ids);
      for (const p of this.pending) if (wanted.has(p.id) && !out.has(p.id)) out.set(p.id, { vector: storedVector(p.vector, this.storage), truncated: p.truncated });
    }
    return out;
  }

  /** Queues vectors; a full shard's worth is written at once, the rest on {@link flush}. */
  put(ids: readonly string[], vectors: readonly Float32Array[], truncated?: readonly boolean[]): void {
    ids.forEach((id, i) => {
      const vector = vectors[i] as Float32Array;
      this.dimension ??= vector.length;
      if (vector.length !== this.dimension) {
        throw new Error(`embedding cache: vector for ${id} has ${vector.length} dims, the cache holds ${this.dimension}`);
      }
      if (!this.index.has(id)) this.pending.push({ id, vector, truncated: truncated?.[i] ?? null });
    });
    while (this.pending.length >= this.shardSize) this.writeShard(this.pending.splice(0, this.shardSize));
  }

  /** Writes whatever is queued as one shard. */
  flush(): void {
    if (this.pending.length > 0) this.writeShard(this.pending.splice(0));
  }

  private writeShard(rows: Array<{ id: string; vector: Float32Array; truncated: boolean | null }>): void {
    const name = writeCacheShard(this.dir, `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString("hex")}`, rows, this.storage);
    this.scanned.add(name);
    rows.forEach((r, row) => this.index.set(r.id, { shard: name, row }));
  }

  private scan(warn: (message: string) => void): void {
    for (const file of readdirSync(this.dir).sort()) {
      if (this.scanned.has(file)) continue;
      const path = join(this.dir, file);
      const writer = tempOwnerPid(file);
      if (writer !== undefined) {
        // A temp file of a writer that died; a live writer's is its shard in the making.
        if (writer !== process.pid && !pidAlive(writer)) rmSync(path, { force: true });
        continue;
      }
      if (!file.endsWith(SHARD_SUFFIX)) continue;
      this.scanned.add(file);
      let table: Table | undefined;
      let problem: string | undefined;
      try {
        table = tableFromIPC(readFileSync(path));
        const reader = rowReader(table, this.storage);
        if (typeof reader === "string") problem = reader;
        else if (table.numRows === 0 && statSync(path).size > 0) problem = "it has no readable rows";
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem !== undefined || table === undefined) {
        const aside = `${path}.damaged`;
        renameSync(path, aside);
        warn(`embedding cache: shard ${path} is damaged (${problem}); moved to ${aside}, its texts will be embedded again`);
        continue;
      }
      const ids = table.getChild("id")!;
      const embedding = table.getChild("embedding")! as unknown as { type: FixedSizeList };
      const dim = embedding.type.listSize;
      this.dimension ??= dim;
      if (dim !== this.dimension) throw new Error(`embedding cache: shard ${path} has ${dim}-dim vectors, others have ${this.dimension}`);
      for (let row = 0; row < table.numRows; row++) {
        const id = ids.get(row) as string;
        if (!this.index.has(id)) this.index.set(id, { shard: file, row });
      }
    }
  }

  /** The last shard read stays parsed, since lookups arrive in corpus order and mostly hit one shard in a row. */
  private shard(shard: string): NonNullable<EmbeddingCache["loaded"]> {
    if (this.loaded?.shard !== shard) {
      const path = join(this.dir, shard);
      const table = tableFromIPC(readFileSync(path));
      const read = rowReader(table, this.storage);
      // Checked when the shard was indexed; a file changed since then is a problem to name, not to read around.
      if (typeof read === "string") throw new Error(`embedding cache: shard ${path} changed since it was indexed: ${read}`);
      const flags = table.getChild("truncated");
      this.loaded = { shard, read, truncated: (row) => (flags?.get(row) as boolean | null | undefined) ?? null };
    }
    return this.loaded;
  }
}

