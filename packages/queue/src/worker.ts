import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { cacheKeyFolder, canonicalJson, readShardIds, writeCacheShard, type CacheRow, type TextEncoder } from "@dembed/benchmarks";
import { Worker, type Job } from "bullmq";
import { redactUrl, redisOptions, type QueueAddress } from "./connection.js";
import { QUEUE_NAME, ShardJobData, type ShardJobResult } from "./shards.js";

export interface EmbedWorkerOptions {
  address: QueueAddress;
  /** Builds the encoder a job's spec describes; the worker keeps the last one while jobs share its spec. */
  makeEncoder: (spec: Record<string, unknown>) => Promise<TextEncoder>;
  /** Shards processed at once (default 1). */
  concurrency?: number;
  /**
   * How long a job stays locked without a renewal (default 30 s): a worker killed mid-shard gives its shard back after
   * this long. Renewals come from the event loop, which ORT in a worker thread leaves free.
   */
  lockMs?: number;
  /** An encoder spec to load now, so the first shard of a run that uses it does not wait for the model. */
  preload?: Record<string, unknown>;
  /** How often this worker looks for other workers' stalled jobs (default lockMs). */
  stalledCheckMs?: number;
  log?: (line: string) => void;
}

export interface EmbedWorker {
  readonly name: string;
  /** Finishes the shard in hand, then stops. */
  close(): Promise<void>;
}

/** One shard: embed its texts batch by batch (the batches a single process would run), write the shard, then ack. */
type EncoderLease = <T>(spec: Record<string, unknown>, use: (encoder: TextEncoder) => Promise<T>) => Promise<T>;

async function processShard(job: Job, encoderFor: EncoderLease, name: string): Promise<ShardJobResult> {
  const started = performance.now();
  const parsed = ShardJobData.safeParse(job.data);
  if (!parsed.success) throw new Error(`job ${job.id}: not a dembed shard job (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message})`);
  const data = parsed.data;
  const dir = cacheKeyFolder(data.cacheDir, data.key);
  const file = join(dir, `shard-${data.shard}.arrow`);
  // Written by a worker that died before its ack: the rows are there, so the retry only acks.
  if (existsSync(file) && readShardIds(file)?.length === data.ids.length) {
    return { worker: name, texts: data.ids.length, tokens: null, ms: performance.now() - started, reused: true };
  }
  const { rows, tokens } = await encoderFor(data.encoder, async (encoder) => {
    if (canonicalJson(encoder.cacheKey) !== canonicalJson(data.key.encoder)) {
      throw new Error(`shard ${data.shard}: this worker's encoder differs from the coordinator's (${keyDifference(encoder.cacheKey, data.key.encoder)}); workers must see the same model files at the same paths`);
    }
    const rows: CacheRow[] = [];
    let tokens: number | null = 0;
    // As embedTexts does in one process: the encoder tokenizes the next batch while the model runs this one.
    encoder.plan?.(data.texts, encodeOptions(data));
    for (let start = 0; start < data.texts.length; start += data.batchSize) {
      const texts = data.texts.slice(start, start + data.batchSize);
      const result = await encodeNamingCulprit(encoder, texts, data, start);
      result.embeddings.forEach((vector, i) => rows.push({ id: data.ids[start + i]!, vector, truncated: result.truncatedFlags?.[i] ?? null }));
      tokens = tokens === null || result.tokens === undefined ? null : tokens + result.tokens;
      await job.updateProgress(Math.min(start + data.batchSize, data.texts.length));
    }
    return { rows, tokens };
  });
  writeCacheShard(dir, data.shard, rows, data.key.storage ?? "f32");
  return { worker: name, texts: rows.length, tokens, ms: performance.now() - started, reused: false };
}

const encodeOptions = (data: ShardJobData) => ({ role: data.key.role, ...(data.key.instruction ? { instruction: data.key.instruction } : {}) });

/** A batch that throws is retried text by text, so the failure names the input that causes it. */
async function encodeNamingCulprit(encoder: TextEncoder, texts: string[], data: ShardJobData, offset: number) {
  const options = encodeOptions(data);
  try {
    return await encoder.encode(texts, options);
  } catch (batchError) {
    for (let i = 0; i < texts.length; i++) {
      try {
        await encoder.encode([texts[i]!], options);
      } catch (err) {
        const text = texts[i]!;
        const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
        throw new Error(`input ${JSON.stringify(preview)} (${text.length} chars, sha256 ${data.ids[offset + i]!.slice(0, 16)}…, text ${offset + i + 1} of shard ${data.shard}) fails: ${(err as Error).message}`);
      }
    }
    throw batchError;
  }
}

function keyDifference(mine: Record<string, unknown>, theirs: Record<string, unknown>): string {
  const fields = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].filter((k) => canonicalJson(mine[k]) !== canonicalJson(theirs[k]));
  return fields.map((k) => `${k}: ${JSON.stringify(theirs[k])} there, ${JSON.stringify(mine[k])} here`).join("; ");
}

/** Starts pulling shard jobs. Redis outages are logged once each and ridden out: BullMQ reconnects. */
export function startEmbedWorker(options: EmbedWorkerOptions): EmbedWorker {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const name = `${hostname()}:${process.pid}`;
  const lockDuration = options.lockMs ?? 30_000;
  // One encoder per spec, kept while jobs share it; a spec no job uses any more is disposed when another comes.
  const encoders = new Map<string, { encoder: Promise<TextEncoder>; users: number }>();
  const acquire = (spec: Record<string, unknown>): { encoder: Promise<TextEncoder>; users: number } => {
    const key = canonicalJson(spec);
    let entry = encoders.get(key);
    if (!entry) {
      for (const [other, idle] of encoders) {
        if (idle.users === 0) {
          encoders.delete(other);
          void idle.encoder.then((e) => e.dispose?.()).catch(() => undefined);
        }
      }
      log(`worker ${name}: loading ${String(spec.model ?? "encoder")}`);
      entry = { encoder: options.makeEncoder(spec), users: 0 };
      encoders.set(key, entry);
      // A spec that fails to load must not stay cached as a rejected promise for every later job.
      const failed = entry;
      entry.encoder.catch(() => encoders.get(key) === failed && encoders.delete(key));
    }
    entry.users++;
    return entry;
  };
  const encoderFor = async <T>(spec: Record<string, unknown>, use: (encoder: TextEncoder) => Promise<T>): Promise<T> => {
    const entry = acquire(spec);
    try {
      return await use(await entry.encoder);
    } finally {
      entry.users--;
    }
  };
  if (options.preload) void encoderFor(options.preload, async () => undefined).catch((err: Error) => log(`worker ${name}: preloading failed: ${err.message}`));
  const worker = new Worker(QUEUE_NAME, (job) => processShard(job, encoderFor, name), {
    connection: redisOptions(options.address),
    concurrency: options.concurrency ?? 1,
    lockDuration,
    stalledInterval: options.stalledCheckMs ?? lockDuration,
    maxStalledCount: 2,
    name,
  });
  let down = false;
  worker.on("error", (err) => {
    if (!down) log(`worker ${name}: Redis at ${options.address.display}: ${redactUrl(err.message)}; reconnecting`);
    down = true;
  });
  worker.on("ready", () => {
    if (down) log(`worker ${name}: reconnected to ${options.address.display}`);
    down = false;
  });
  worker.on("completed", (job, result: ShardJobResult) => {
    const rate = result.texts / Math.max(result.ms / 1000, 1e-9);
    log(`worker ${name}: ${job.data.shard} ${result.reused ? "was already written" : `${result.texts} texts in ${(result.ms / 1000).toFixed(1)} s (${rate.toFixed(1)} texts/s)`}`);
  });
  worker.on("failed", (job, err) => log(`worker ${name}: ${job?.data?.shard ?? job?.id} failed (try ${job?.attemptsMade ?? "?"}): ${err.message}`));
  log(`worker ${name}: waiting for shards on ${options.address.display}`);
  return {
    name,
    async close() {
      await worker.close();
      for (const { encoder } of encoders.values()) await encoder.then((e) => e.dispose?.()).catch(() => undefined);
    },
  };
}
