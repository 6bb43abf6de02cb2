import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { cacheKeyFolder, type ShardRequest, type ShardRunner } from "@dembed/benchmarks";
import { Queue, QueueEvents } from "bullmq";
import { checkReachable, redactUrl, redisOptions, type QueueAddress } from "./connection.js";
import { JOB_FORMAT, planShards, QUEUE_NAME, type ShardJobData, type ShardJobResult, type ShardPlan } from "./shards.js";

export interface CoordinatorOptions {
  address: QueueAddress;
  /** How workers build the encoder (the CLI's model settings). Must give the encoder whose cacheKey the request has. */
  encoderSpec: Record<string, unknown>;
  /** Tries per shard before it counts as failed (default 3). */
  attempts?: number;
  /** Texts per shard at most (default 256). */
  shardTexts?: number;
  /** How long Redis may stay unreachable before the run gives up (default 10 min). */
  outageLimitMs?: number;
  /** How often the cache folder is looked at (default 250 ms). */
  pollMs?: number;
  log?: (line: string) => void;
  /** Polled while waiting: a message ends the run (e.g. every local worker has exited). */
  problem?: () => string | undefined;
}

export class ShardsFailedError extends Error {}

interface WorkerTally {
  texts: number;
  tokens: number;
  ms: number;
  shards: number;
}

const STATUS_EVERY_MS = 30_000;
const RECONCILE_EVERY_MS = 5_000;

/**
 * Hands an embedTexts call's missing texts to workers as content-named shards and waits until the cache folder holds
 * them all. The folder is the truth: a shard is done when its texts are in the cache, whoever wrote them, so a
 * restarted coordinator re-enqueues only what is missing, and a queue lost with a restarted Redis is re-filled.
 */
export class QueueCoordinator implements ShardRunner {
  private readonly log: (line: string) => void;
  private readonly attempts: number;
  private readonly tallies = new Map<string, WorkerTally>();
  private outageSince: number | undefined;
  private closed = false;
  /** Ends the current wait early: a shard was acked, so its file is in the folder. */
  private wake: (() => void) | undefined;

  private constructor(
    private readonly options: CoordinatorOptions,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.attempts = options.attempts ?? 3;
    const onError = (err: Error) => {
      if (this.outageSince === undefined) this.log(`queue: Redis at ${options.address.display}: ${redactUrl(err.message)}; reconnecting`);
      this.outageSince ??= Date.now();
    };
    queue.on("error", onError);
    events.on("error", onError);
    events.on("completed", ({ returnvalue }) => {
      this.tally(returnvalue);
      this.wake?.();
    });
  }

  /** Checks the address within a few seconds, then opens the queue. */
  static async connect(options: CoordinatorOptions): Promise<QueueCoordinator> {
    await checkReachable(options.address);
    const connection = redisOptions(options.address);
    const queue = new Queue(QUEUE_NAME, { connection });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new QueueCoordinator(options, queue, events);
  }

  async run(request: ShardRequest): Promise<void> {
    const folder = cacheKeyFolder(request.cacheDir, request.key);
    // Longest first (by characters, a proxy for tokens; ties in call order): texts of similar length share shards and
    // batches, so little is padding, as in a single process's sorted batches. Deterministic, so a restarted
    // coordinator cuts the same shards.
    const entries = request.entries.map((e, i) => ({ ...e, i })).sort((a, b) => b.text.length - a.text.length || a.i - b.i);
    const plan = planShards(basename(folder), entries, { batchSize: request.batchSize, ...(this.options.shardTexts ? { maxTexts: this.options.shardTexts } : {}) });
    const isDone = (s: ShardPlan) => entries.slice(s.start, s.end).every((e) => request.isCached(e.id));
    const pending = new Map(plan.filter((s) => !isDone(s)).map((s) => [s.name, s]));
    if (pending.size === 0) return;
    const total = request.entries.length;
    const job = (s: ShardPlan): ShardJobData => ({
      format: JOB_FORMAT,
      shard: s.name,
      cacheDir: request.cacheDir,
      key: request.key,
      encoder: this.options.encoderSpec,
      batchSize: request.batchSize,
      ids: entries.slice(s.start, s.end).map((e) => e.id),
      texts: entries.slice(s.start, s.end).map((e) => e.text),
    });
    const failed = new Map<string, string>();
    const started = Date.now();
    let lastStatus = started;
    let lastReconcile = 0;
    let firstLook = true;
    let doneShards = plan.length - pending.size;
    this.log(`queue: ${pending.size} of ${plan.length} shards to embed (${total} texts, ${request.key.role}) on ${this.options.address.display}`);

    while (pending.size > failed.size) {
      if (this.closed) throw new Error("queue: the coordinator was closed during a run");
      const problem = this.options.problem?.();
      if (problem) throw new Error(`queue: ${problem} (the shards done so far are kept in the cache)`);
      if (Date.now() - lastReconcile >= RECONCILE_EVERY_MS) {
        // Enqueues what is missing (a first run, a restarted coordinator, a Redis that lost its data) and notices
        // shards that used up their tries; both are idempotent, so doing it often costs only round trips.
        if (await this.reconcile(folder, [...pending.values()].filter((s) => !failed.has(s.name)), job, failed, firstLook)) {
          lastReconcile = Date.now();
          firstLook = false;
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs ?? 250);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      request.refresh();
      for (const [name, shard] of pending) {
        if (isDone(shard)) {
          pending.delete(name);
          failed.delete(name);
          doneShards++;
        }
      }
      const doneTexts = request.entries.reduce((n, e) => n + (request.isCached(e.id) ? 1 : 0), 0);
      request.onProgress?.(doneTexts, total);
      if (Date.now() - lastStatus >= STATUS_EVERY_MS) {
        lastStatus = Date.now();
        this.log(`queue: ${doneShards}/${plan.length} shards, ${doneTexts}/${total} texts; ${this.workerLine()}`);
      }
      if (this.outageSince !== undefined && Date.now() - this.outageSince > (this.options.outageLimitMs ?? 600_000)) {
        throw new Error(`queue: Redis at ${this.options.address.display} unreachable for ${((Date.now() - this.outageSince) / 1000).toFixed(0)} s; giving up (the shards done so far are kept in the cache)`);
      }
    }
    if (failed.size > 0) {
      const lines = [...failed].map(([name, why]) => {
        const s = pending.get(name)!;
        return `  shard ${name} (${s.end - s.start} of the ${total} texts): ${why}`;
      });
      throw new ShardsFailedError(`queue: ${failed.size} shard(s) failed after ${this.attempts} tries (the other ${doneShards} are in the cache):\n${lines.join("\n")}`);
    }
    this.log(`queue: ${plan.length} shards done in ${((Date.now() - started) / 1000).toFixed(1)} s; ${this.workerLine()}`);
  }

  /** Per-worker rates from the shards finished so far. */
  workerLine(): string {
    if (this.tallies.size === 0) return "no shard reported by a worker yet";
    return [...this.tallies]
      .map(([name, t]) => `${name} ${t.shards} shards, ${(t.texts / Math.max(t.ms / 1000, 1e-9)).toFixed(1)} texts/s${t.tokens > 0 ? `, ${(t.tokens / Math.max(t.ms / 1000, 1e-9)).toFixed(0)} tokens/s` : ""}`)
      .join("; ");
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }

  private async reconcile(folder: string, shards: ShardPlan[], job: (s: ShardPlan) => ShardJobData, failed: Map<string, string>, firstLook: boolean): Promise<boolean> {
    try {
      await withDeadline(this.enqueueMissing(folder, shards, job, failed, firstLook), 10_000);
      if (this.outageSince !== undefined) this.log(`queue: reconnected to ${this.options.address.display}`);
      this.outageSince = undefined;
      return true;
    } catch (err) {
      if (this.outageSince === undefined) this.log(`queue: Redis at ${this.options.address.display}: ${redactUrl((err as Error).message)}; reconnecting`);
      this.outageSince ??= Date.now();
      return false;
    }
  }

  private async enqueueMissing(folder: string, shards: ShardPlan[], job: (s: ShardPlan) => ShardJobData, failed: Map<string, string>, firstLook: boolean): Promise<void> {
    const states = await Promise.all(shards.map((s) => this.queue.getJobState(s.name)));
    const toAdd: ShardPlan[] = [];
    for (const [i, s] of shards.entries()) {
      const state = states[i];
      if (state === "unknown") toAdd.push(s);
      else if (state === "completed" && !existsSync(join(folder, `shard-${s.name}.arrow`))) {
        // Completed, yet its file is gone (the cache folder was cleared): run it again.
        await (await this.queue.getJob(s.name))?.remove();
        toAdd.push(s);
      } else if (state === "failed") {
        const j = await this.queue.getJob(s.name);
        if (j && firstLook) {
          // Failed in an earlier run: this run gives it its tries again.
          await j.retry("failed", { resetAttemptsMade: true });
        } else if (j) {
          if (!failed.has(s.name)) this.log(`queue: shard ${s.name} failed after ${j.attemptsMade} tries: ${j.failedReason}`);
          failed.set(s.name, j.failedReason);
        }
      }
    }
    if (toAdd.length > 0) {
      await this.queue.addBulk(
        toAdd.map((s) => ({
          name: "embed",
          data: job(s),
          opts: { jobId: s.name, attempts: this.attempts, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
        })),
      );
    }
  }

  private tally(returnvalue: unknown): void {
    let result: ShardJobResult;
    try {
      result = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as ShardJobResult;
    } catch {
      return;
    }
    if (!result || typeof result.worker !== "string" || result.reused) return;
    const t = this.tallies.get(result.worker) ?? { texts: 0, tokens: 0, ms: 0, shards: 0 };
    t.texts += result.texts;
    t.tokens += result.tokens ?? 0;
    t.ms += result.ms;
    t.shards++;
    this.tallies.set(result.worker, t);
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

