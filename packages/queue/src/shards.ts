import { createHash } from "node:crypto";
import { z } from "zod";

/** The queue's one name: jobs describe themselves, so every coordinator and worker can share it. */
export const QUEUE_NAME = "dembed-embed";
export const JOB_FORMAT = "dembed-shard/1";

/** What a shard job carries: everything a worker on another machine needs, and nothing secret. */
export const ShardJobData = z.object({
  format: z.literal(JOB_FORMAT),
  /** Content name: the cache key folder and the text hashes, so the same texts always make the same shard. */
  shard: z.string().regex(/^q-[0-9a-f]{32}$/),
  /** Absolute cache root, on a filesystem every worker mounts at the same path. */
  cacheDir: z.string().min(1),
  key: z.object({
    encoder: z.record(z.string(), z.union([z.string(), z.number()])),
    role: z.enum(["query", "document"]),
    instruction: z.string(),
    storage: z.enum(["f16", "int8"]).optional(),
  }),
  /** How to build the encoder (the CLI's model settings); workers keep one built encoder per distinct spec. */
  encoder: z.record(z.string(), z.unknown()),
  batchSize: z.number().int().positive(),
  ids: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1),
  texts: z.array(z.string()),
}).refine((d) => d.ids.length === d.texts.length, { message: "ids and texts differ in length" });
export type ShardJobData = z.infer<typeof ShardJobData>;

/** What a worker returns for a shard: the coordinator's per-worker rates come from these. */
export interface ShardJobResult {
  worker: string;
  texts: number;
  tokens: number | null;
  ms: number;
  /** The shard file was already there (a retry after a worker died between rename and ack). */
  reused: boolean;
}

export interface ShardPlan {
  name: string;
  /** Positions in the request's entries. */
  start: number;
  end: number;
}

export interface ShardSizing {
  batchSize: number;
  /** Texts per shard at most (default 256); rounded to whole batches. */
  maxTexts?: number;
  /** Aim for at least this many shards per call, so workers share even a small call (default 16). */
  minShards?: number;
  /** UTF-16 code units of text per shard at most (default 8 Mi), bounding a job's size in Redis. */
  maxChars?: number;
}

/**
 * Cuts entries (in the order given) into shards of whole batches. Boundaries depend only on the entries, so a
 * restarted coordinator finds the same shards (and their files) again.
 */
export function planShards(keyFolder: string, entries: ReadonlyArray<{ id: string; text: string }>, sizing: ShardSizing): ShardPlan[] {
  const { batchSize } = sizing;
  const maxTexts = Math.max(batchSize, Math.floor((sizing.maxTexts ?? 256) / batchSize) * batchSize);
  const even = Math.ceil(entries.length / (sizing.minShards ?? 16) / batchSize) * batchSize;
  const perShard = Math.min(maxTexts, Math.max(batchSize, even));
  const maxChars = sizing.maxChars ?? 8 * 1024 * 1024;
  const shards: ShardPlan[] = [];
  let start = 0;
  while (start < entries.length) {
    let end = start;
    let chars = 0;
    // Whole batches while within both limits; a single batch over maxChars still makes a shard.
    while (end < entries.length && end - start < perShard) {
      const batchEnd = Math.min(end + batchSize, entries.length);
      let batchChars = 0;
      for (let i = end; i < batchEnd; i++) batchChars += entries[i]!.text.length;
      if (end > start && chars + batchChars > maxChars) break;
      chars += batchChars;
      end = batchEnd;
    }
    shards.push({ name: shardName(keyFolder, entries.slice(start, end).map((e) => e.id)), start, end });
    start = end;
  }
  return shards;
}

export function shardName(keyFolder: string, ids: readonly string[]): string {
  const hash = createHash("sha256").update(keyFolder).update("\n");
  for (const id of ids) hash.update(id).update("\n");
  return `q-${hash.digest("hex").slice(0, 32)}`;
}
