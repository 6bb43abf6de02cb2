import { storedVector, type VectorStorage } from "@dembed/retrieval";
import { EmbeddingCache, textHash, type CacheKey } from "./cache.js";
import type { Role, TextEncoder } from "./encoder.js";

/** The texts of one embedTexts call that a {@link ShardRunner} must get into the cache. */
export interface ShardRequest {
  /** Cache root folder (absolute: workers elsewhere write into it). */
  cacheDir: string;
  key: CacheKey;
  /** Every distinct text of the call, in first-seen order, with its hash; some may be cached already. */
  entries: ReadonlyArray<{ id: string; text: string }>;
  batchSize: number;
  /** Whether an id is in the cache now (re-read as shards arrive). */
  isCached: (id: string) => boolean;
  /** Picks up shards other processes wrote since the last look. */
  refresh: () => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Embeds the missing texts somewhere else (worker processes, other machines) and returns once every one of them is
 * in the cache. The job queue implements it; embedTexts then reads the vectors back from the cache.
 */
export interface ShardRunner {
  run(request: ShardRequest): Promise<void>;
}

const FLUSH_INTERVAL_MS = 30_000;

export interface EmbedOptions {
  role: Role;
  instruction?: string;
  /** Texts per encoder call (default 8). */
  batchSize?: number;
  /** Cache root folder; no caching when absent. */
  cacheDir?: string;
  /** Called with (texts done, texts total) as batches finish, cache hits included. */
  onProgress?: (done: number, total: number) => void;
  /** Hands the missing texts to workers instead of this process's encoder (needs cacheDir). */
  sharded?: ShardRunner;
  /**
   * The width vectors are kept at (default f32). Narrower storage rounds every vector, fresh or cached, the same way,
   * so a run that resumes from the cache returns exactly what an uncached run does.
   */
  storage?: VectorStorage;
}

export interface EmbedStats {
  /** Distinct texts taken from the cache. */
  cached: number;
  /** Distinct texts run through the encoder. */
  encoded: number;
  /** Texts cut at max length: counted for new ones, read back for cached ones that recorded it. */
  truncated: number;
  /** Cached texts whose truncation was never recorded. */
  truncationUnknown: number;
}

export interface EmbedResult extends EmbedStats {
  vectors: Float32Array[];
}

/**
 * Embeds texts through the cache: identical texts are embedded once, cached ones not at all, and new vectors are
 * written shard by shard as they come, so an interrupted run resumes where it stopped.
 */
export async function embedTexts(encoder: TextEncoder, texts: readonly string[], options: EmbedOptions): Promise<EmbedResult> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const instruction = options.instruction ?? "";
  const storage = options.storage ?? "f32";
  const key: CacheKey = { encoder: encoder.cacheKey, role: options.role, instruction, ...(storage === "f32" ? {} : { storage }) };
  const cache = options.cacheDir ? EmbeddingCache.shared(options.cacheDir, key, { shardSize: Math.max(batchSize, 256) }) : undefined;

  const hashes = texts.map(textHash);
  const unique = new Map<string, string>(); // hash → text
  hashes.forEach((h, i) => unique.has(h) || unique.set(h, texts[i] as string));
  const found = cache ? cache.getMany([...unique.keys()]) : new Map<string, { vector: Float32Array; truncated: boolean | null }>();
  const vectors = new Map<string, Float32Array>();
  const stats: EmbedStats = { cached: found.size, encoded: 0, truncated: 0, truncationUnknown: 0 };
  for (const [h, hit] of found) {
    vectors.set(h, hit.vector);
    if (hit.truncated === null) stats.truncationUnknown++;
    else if (hit.truncated) stats.truncated++;
  }

  const missing = [...unique.keys()].filter((h) => !found.has(h));
  if (options.sharded && missing.length > 0) {
    if (!cache || !options.cacheDir) throw new Error("sharded embedding writes through the embedding cache: give a cache folder (not --no-cache)");
    await options.sharded.run({
      cacheDir: options.cacheDir,
      key: cache.key,
      entries: [...unique].map(([id, text]) => ({ id, text })),
      batchSize,
      isCached: (id) => cache.has(id),
      refresh: () => cache.refresh(),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    cache.refresh();
    const fetched = cache.getMany(missing);
    for (const h of missing) {
      const hit = fetched.get(h);
      if (!hit) throw new Error(`sharded embedding finished but text ${h.slice(0, 12)}… is not in the cache ${cache.dir}`);
      vectors.set(h, hit.vector);
      if (hit.truncated === null) stats.truncationUnknown++;
      else if (hit.truncated) stats.truncated++;
    }
    stats.encoded = missing.length;
    return { ...stats, vectors: hashes.map((h) => vectors.get(h) as Float32Array) };
  }
  const total = unique.size;
  let done = found.size;
  options.onProgress?.(done, total);
  let lastFlush = Date.now();
  try {
    for (let start = 0; start < missing.length; start += batchSize) {
      const batch = missing.slice(start, start + batchSize);
      const result = await encoder.encode(
        batch.map((h) => unique.get(h) as string),
        { role: options.role, instruction, onProgress: (n) => options.onProgress?.(done + n, total) },
      );
      if (result.embeddings.length !== batch.length) {
        throw new Error(`encoder returned ${result.embeddings.length} embeddings for ${batch.length} texts`);
      }
      batch.forEach((h, i) => vectors.set(h, storedVector(result.embeddings[i] as Float32Array, storage, `of text ${snippet(unique.get(h) as string)}`)));
      cache?.put(batch, result.embeddings, result.truncatedFlags);
      // Slow models: a partial shard is written every half minute, so an interrupt loses at most that much work.
      if (cache && Date.now() - lastFlush > FLUSH_INTERVAL_MS) {
        cache.flush();
        lastFlush = Date.now();
      }
      stats.encoded += batch.length;
      stats.truncated += result.truncated;
      done += batch.length;
      options.onProgress?.(done, total);
    }
  } finally {
    // Whatever was embedded before a failure is kept for the next run.
    cache?.flush();
  }
  return { ...stats, vectors: hashes.map((h) => vectors.get(h) as Float32Array) };
}

const snippet = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

export function addStats(into: EmbedStats, more: EmbedStats): EmbedStats {
  into.cached += more.cached;
  into.encoded += more.encoded;
  into.truncated += more.truncated;
  into.truncationUnknown += more.truncationUnknown;
  return into;
}

export const emptyStats = (): EmbedStats => ({ cached: 0, encoded: 0, truncated: 0, truncationUnknown: 0 });
